import type {
  RenderableVersion,
  RenderSnapshot,
} from '../../../src/datasources/communications/engine/index.js';

type Customer = RenderSnapshot['customer'];

export const LUKASZ: Customer = {
  id: 'cus_001',
  name: 'Łukasz Żółć',
  email: 'lukasz.zolc@example.com',
  phone: '+44 7700 900101',
  address: { line1: '112 Oxford Lane', city: 'Manchester', postcode: 'M1 6EU', country: 'GB' },
  locale: 'pl-PL',
  brand: 'northwind',
  segments: ['retail', 'uk-resident'],
};

export const STEFAN: Customer = {
  id: 'cus_002',
  name: 'Ștefan Ionescu',
  email: 'stefan.ionescu@example.org',
  phone: null,
  address: {
    line1: 'Strada Lalelelor 14',
    line2: 'Ap. 6',
    city: 'București',
    postcode: '030167',
    country: 'RO',
  },
  locale: 'ro-RO',
  brand: 'contoso',
  segments: ['savings', 'eu-resident'],
};

export const MARGARET: Customer = {
  id: 'cus_003',
  name: 'Margaret Thornton',
  email: null,
  phone: '+44 7700 900103',
  address: { line1: '2 Minster Yard Cottages', city: 'York', postcode: 'YO1 7HH', country: 'GB' },
  locale: 'en-GB',
  brand: 'northwind',
  segments: ['retail', 'vulnerable', 'uk-resident'],
};

/** A name as long as any we expect, to push SMS and layout limits. */
export const LONG_NAME: Customer = {
  ...LUKASZ,
  id: 'cus_long',
  name: 'Maria-Magdalena Alexandrina Wolfeschlegelsteinhausen-Bergerdorff von Hohenzollern-Sigmaringen',
};

export function snapshot(
  customer: Customer,
  data: Record<string, unknown>,
  extra: Partial<RenderSnapshot> = {},
): RenderSnapshot {
  return { customer, data, case: null, issuedAt: '2025-03-01T09:30:00.000Z', ...extra };
}

/** A small version exercising every channel, for engine tests that are not about the seed library. */
export function demoVersion(
  id = 'ver_demo_1',
  overrides: Partial<RenderableVersion['content']> = {},
): RenderableVersion {
  return {
    id,
    dataSchema: {
      type: 'object',
      required: ['amount', 'currency'],
      properties: { amount: { type: 'number' }, currency: { type: 'string' }, note: { type: 'string' } },
    },
    content: {
      subject: 'Hello {{customer.name}}',
      mjml:
        '<mjml><mj-body><mj-section background-color="{{brand.primaryColour}}"><mj-column>' +
        '<mj-text>Dear {{customer.name}}, you owe {{money data.amount data.currency}}. {{data.note}}</mj-text>' +
        '</mj-column></mj-section></mj-body></mjml>',
      text: 'Dear {{customer.name}}, you owe {{money data.amount data.currency}}.',
      html: '<p>Dear {{customer.name}}, you owe {{money data.amount data.currency}}. {{data.note}}</p>',
      print: {
        title: 'Statement for {{customer.name}}',
        blocks: [
          { kind: 'heading', text: 'Summary' },
          { kind: 'paragraph', text: 'Dear {{customer.name}}, you owe {{money data.amount data.currency}}.' },
          { kind: 'table', rows: [['Amount', '{{money data.amount data.currency}}']] },
          { kind: 'signature', text: '{{brand.senderName}}' },
        ],
      },
      sms: '{{brand.name}}: you owe {{money data.amount data.currency}}.',
      ...overrides,
    },
  };
}

export function partText(parts: Array<{ name: string; body: Buffer }>, name: string): string {
  const part = parts.find((p) => p.name === name);
  if (!part) throw new Error(`no part ${name}; have ${parts.map((p) => p.name).join(', ')}`);
  return part.body.toString('utf8');
}
