import {
  contentHashOf,
  createRenderer,
  MissingDataError,
  supportedChannels,
  type Channel,
} from '../../../src/datasources/communications/engine/index.js';
import { SEED_TEMPLATES, type SeedTemplate } from '../../../src/datasources/communications/seed/templates.js';
import { LONG_NAME, LUKASZ, MARGARET, partText, snapshot, STEFAN } from './fixtures.js';

const EXPECTED_CHANNELS: Record<string, Channel[]> = {
  policy_pack: ['PRINT', 'EMAIL', 'WEB'],
  account_statement: ['PRINT', 'EMAIL', 'WEB'],
  billing_notice: ['PRINT', 'EMAIL', 'MOBILE'],
  claim_letter: ['PRINT', 'EMAIL'],
  account_confirmation: ['EMAIL', 'WEB', 'MOBILE', 'PRINT'],
  regulatory_notice: ['PRINT', 'EMAIL'],
  dispute_acknowledgement: ['PRINT', 'EMAIL'],
  dispute_interim_update: ['PRINT', 'EMAIL'],
  dispute_final_response: ['PRINT', 'EMAIL'],
  rate_change_notice: ['PRINT', 'EMAIL', 'MOBILE'],
  privacy_disclosure: ['PRINT', 'EMAIL', 'WEB'],
  duplicate_statement: ['PRINT', 'EMAIL'],
  claim_intake: ['PRINT', 'EMAIL', 'MOBILE', 'WEB'],
  claim_intake_premium: ['PRINT', 'EMAIL', 'MOBILE', 'WEB'],
  underwriting_review: ['PRINT', 'EMAIL', 'WEB'],
  service_escalation: ['PRINT', 'EMAIL', 'MOBILE'],
  payment_confirmation: ['PRINT', 'EMAIL', 'MOBILE', 'WEB'],
};

const sorted = (channels: Channel[]) => [...channels].sort();
const versionOf = (t: SeedTemplate) => ({ id: `${t.id}_v1`, content: t.content, dataSchema: t.dataSchema });
const cases = SEED_TEMPLATES.flatMap((t) => t.channels.map((channel) => [t.id, channel, t] as const));

describe('seed template library', () => {
  it('has one template per document type, with the expected channels', () => {
    expect(SEED_TEMPLATES.map((t) => t.documentType).sort()).toEqual(Object.keys(EXPECTED_CHANNELS).sort());
    for (const t of SEED_TEMPLATES) {
      expect(t.id).toBe(`tpl_${t.documentType}`);
      expect(sorted(t.channels)).toEqual(sorted(EXPECTED_CHANNELS[t.documentType]));
      // Content for exactly the listed channels.
      expect(sorted(supportedChannels(t.content))).toEqual(sorted(t.channels));
      expect(t.dataSchema).toMatchObject({ type: 'object', required: expect.any(Array) });
      expect(Object.keys(t.dataSchema.properties as object)).toEqual(
        expect.arrayContaining(t.dataSchema.required as string[]),
      );
    }
  });

  it('uses Handlebars in MJML component attributes only for the brand colour', () => {
    // mjml validates component attributes; the engine only tolerates expressions standing in for a value.
    for (const t of SEED_TEMPLATES) {
      const tags = t.content.mjml?.match(/<mj-[^>]*>/g) ?? [];
      const attributes = tags.flatMap((tag) => tag.match(/[\w-]+="[^"]*\{\{[^"]*"/g) ?? []);
      expect(attributes.filter((a) => !/^[\w-]*color="\{\{brand\.primaryColour\}\}"$/.test(a))).toEqual([]);
      expect(attributes.length).toBeGreaterThan(0);
    }
  });
});

describe.each(cases)('%s on %s', (_id, channel, template) => {
  const renderer = createRenderer();

  it.each([
    ['Łukasz Żółć (northwind, pl-PL)', LUKASZ],
    ['Ștefan Ionescu (contoso, ro-RO)', STEFAN],
    ['Margaret Thornton (northwind, en-GB)', MARGARET],
  ])('renders for %s', async (_who, customer) => {
    const caseInfo = template.documentType.startsWith('dispute')
      ? { id: 'case_42', title: 'Disputed card payment' }
      : null;
    const result = await renderer.render(
      versionOf(template),
      channel,
      snapshot(customer, template.sampleData, { case: caseInfo }),
    );
    expect(result.contentHash).toBe(contentHashOf(result.parts));
    const brandName = customer.brand === 'contoso' ? 'Contoso Bank' : 'Northwind Assurance';
    switch (channel) {
      case 'PRINT':
        expect(result.parts[0].body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
        break;
      case 'EMAIL': {
        expect(partText(result.parts, 'subject.txt')).not.toMatch(/\n|\{\{|^\s*$/);
        const html = partText(result.parts, 'body.html');
        const text = partText(result.parts, 'body.txt');
        for (const body of [html, text]) {
          expect(body).toContain(customer.name);
          expect(body).toContain(brandName);
          expect(body).not.toContain('{{');
        }
        break;
      }
      case 'WEB': {
        const html = partText(result.parts, 'index.html');
        expect(html).toContain(customer.name);
        expect(html).toContain(brandName.toUpperCase());
        expect(html).not.toContain('{{');
        break;
      }
      case 'MOBILE': {
        const sms = partText(result.parts, 'sms.txt');
        expect(sms.startsWith(`${brandName}:`)).toBe(true);
        expect([...sms].length).toBeLessThanOrEqual(160);
        break;
      }
    }
  });

  it('refuses data without its first required field', async () => {
    const [field] = template.dataSchema.required as string[];
    const data = { ...template.sampleData };
    delete data[field];
    const err = await renderer
      .render(versionOf(template), channel, snapshot(LUKASZ, data))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingDataError);
    expect((err as MissingDataError).missing).toContain(`/${field}`);
  });
});

/** The longest values the schema allows for bounded strings and numbers, to stress SMS length. */
function longestData(t: SeedTemplate): Record<string, unknown> {
  const data: Record<string, unknown> = { ...t.sampleData };
  const properties = t.dataSchema.properties as Record<string, Record<string, unknown>>;
  for (const [name, prop] of Object.entries(properties)) {
    if (prop.type === 'string' && typeof prop.maxLength === 'number' && !prop.format && !prop.enum) {
      const candidate = 'W'.repeat(prop.maxLength);
      if (!prop.pattern || new RegExp(prop.pattern as string).test(candidate)) data[name] = candidate;
    } else if (prop.type === 'number' && typeof prop.maximum === 'number') {
      data[name] = prop.maximum === 100 ? 99.875 : prop.maximum - 0.01;
    }
  }
  return data;
}

describe('SMS length with the longest allowed data', () => {
  const renderer = createRenderer();
  const mobile = SEED_TEMPLATES.filter((t) => t.channels.includes('MOBILE'));

  it.each(mobile.map((t) => [t.id, t] as const))('%s stays within 160 characters', async (_id, template) => {
    for (const locale of ['en-GB', 'pl-PL', 'de-DE', 'fr-FR']) {
      const customer = { ...LONG_NAME, locale };
      const result = await renderer.render(
        versionOf(template),
        'MOBILE',
        snapshot(customer, longestData(template)),
      );
      expect([...partText(result.parts, 'sms.txt')].length).toBeLessThanOrEqual(160);
    }
  });
});
