import fs from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * Templates cannot run code or reach prototypes: hostile content is refused when it is written.
 * Customer data cannot become markup: a hostile name and hostile data end up escaped in the
 * HTML of an email and a web page, in one header line of the email, inert in the PDF, and
 * plain text in the text parts. Everything is rendered and downloaded through the real API.
 */
let t: TestGateway;
let admin: string;
let approver: string;
let compliance: string;
let ops: string;

beforeAll(async () => {
  t = await startTestGateway();
  admin = await t.token('tina.admin', 'admin');
  approver = await t.token('ann.approver', 'approver');
  compliance = await t.token('carl.compliance', 'compliance');
  ops = await t.token('olga.ops', 'operations');
});
afterAll(() => t.stop());

const CREATE = `mutation ($input: CreateTemplateInput!) { createTemplate(input: $input) { id } }`;
const EDIT = `mutation ($input: EditTemplateInput!) { editTemplate(input: $input) { id } }`;

async function templateRows(): Promise<string> {
  const db = t.gateway.store!.db as Kysely<unknown>;
  const r = await sql<{ n: string }>`
    select (select count(*) from communications.templates)::text || '/' ||
           (select count(*) from communications.template_versions)::text || '/' ||
           (select md5(string_agg(content::text, '' order by id)) from communications.template_versions) as n`.execute(
    db,
  );
  return r.rows[0]!.n;
}

describe('hostile template content is refused when written', () => {
  const create = (content: Record<string, unknown>) =>
    t.gql(
      CREATE,
      {
        input: {
          name: 'Probe',
          documentType: 'probe_letter',
          channels: ['MOBILE'],
          content: { sms: 'Hello', ...content },
          dataSchema: { type: 'object' },
        },
      },
      admin,
    );

  it.each([
    [
      'reaching Function through constructor',
      { sms: '{{constructor.constructor "return process"}}' },
      'input.content.sms',
    ],
    ['a block over __proto__', { sms: '{{#with __proto__}}{{polluted}}{{/with}}' }, 'input.content.sms'],
    ['lookup of a computed name', { sms: '{{lookup this "constructor"}}' }, 'input.content.sms'],
    ['a prototype method', { sms: '{{customer.name.__defineGetter__}}' }, 'input.content.sms'],
    ['a partial we do not provide', { sms: '{{> header}}' }, 'input.content.sms'],
    ['an inline partial', { sms: '{{#*inline "x"}}y{{/inline}}{{> x}}' }, 'input.content.sms'],
    ['a helper we do not provide', { sms: '{{helperMissing "x"}}' }, 'input.content.sms'],
    ['the log helper', { text: '{{log customer}}' }, 'input.content.text'],
    [
      'triple-stash customer data in MJML',
      {
        mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>{{{data.note}}}</mj-text></mj-column></mj-section></mj-body></mjml>',
      },
      'input.content.mjml',
    ],
    [
      'a script in HTML',
      { html: '<p>Hi</p><script>fetch("https://evil.example")</script>' },
      'input.content.html',
    ],
    ['data as a link', { html: '<a href="{{data.url}}">Pay</a>' }, 'input.content.html'],
    ['data in CSS', { html: '<p style="background:{{data.colour}}">x</p>' }, 'input.content.html'],
    [
      'an event handler',
      { html: '<img src="https://cdn.example/a.png" onerror="alert(1)">' },
      'input.content.html',
    ],
    [
      'a helper in a print block',
      { print: { title: 'T', blocks: [{ kind: 'paragraph', text: '{{log "x"}}' }] } },
      'input.content.print.blocks[0].text',
    ],
  ])('createTemplate refuses %s', async (_what, content, field) => {
    const before = await templateRows();
    const r = await create(content);
    expect(r.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    expect(r.data).toBeNull();
    expect(await templateRows()).toBe(before);
  });

  it('editTemplate refuses it too, and the draft stays as it was', async () => {
    const before = await templateRows();
    const r = await t.gql(
      EDIT,
      {
        input: { templateId: 'tpl_claim_letter', content: { html: '<p>{{#with __proto__}}x{{/with}}</p>' } },
      },
      admin,
    );
    expect(r.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.content.html' });
    expect(r.errors?.[0]?.message).toMatch(/__proto__/);
    expect(await templateRows()).toBe(before);
  });
});

describe('customer data cannot inject markup', () => {
  /** Markup, MJML, a header break and Handlebars in the data: all of it must stay text. */
  const NOTE =
    '</mj-text><mj-raw><script>alert(1)</script></mj-raw>{{constructor.constructor}} ' +
    '<img src=x onerror=alert(2)> "\'><svg onload=alert(3)> Żółć\r\nBcc: data@evil.example';
  /** Customer names come from the CRM (the API cannot set them), so this one is put in the store. */
  const NAME =
    'Eve <script>alert(4)</script></mj-text><mj-raw><b>bold</b></mj-raw> "Q"\r\nBcc: name@evil.example';

  let docs: Record<string, string>;

  beforeAll(async () => {
    await sql`
      insert into customers.customers (id, name, email, phone, address, preferred_channel, segments, locale, brand)
      values ('cus_hostile', ${NAME}, 'eve@example.com', '+44 7700 900555',
        ${JSON.stringify({ line1: '1 <b>Main</b> St', city: 'London', postcode: 'N1 1AA', country: 'GB' })}::jsonb,
        'EMAIL', ${sql.val(['retail'])}::text[], 'en-GB', 'contoso')`.execute(
      t.gateway.store!.db as Kysely<unknown>,
    );

    // A template that puts the data everywhere it is allowed to go: text, attributes, URLs, titles.
    const created = await t.gql<{ createTemplate: { id: string } }>(
      CREATE,
      {
        input: {
          name: 'Note letter',
          documentType: 'note_letter',
          channels: ['EMAIL', 'WEB', 'PRINT', 'MOBILE'],
          content: {
            subject: 'About your note: {{data.note}}',
            text: 'Dear {{customer.name}},\n\n{{data.note}}\n',
            sms: '{{data.short}}',
            html:
              '<h1 style="color:{{brand.primaryColour}}">{{data.note}}</h1><p title="{{data.note}}">Dear {{customer.name}},</p>' +
              '<a href="https://portal.example/notes?ref={{data.note}}">Open</a>',
            mjml:
              '<mjml><mj-head><mj-title>{{data.note}}</mj-title></mj-head><mj-body><mj-section><mj-column>' +
              '<mj-text>Dear {{customer.name}},</mj-text><mj-text>{{data.note}}</mj-text>' +
              '<mj-button href="https://portal.example/notes?ref={{data.note}}" background-color="{{brand.primaryColour}}">Open</mj-button>' +
              '</mj-column></mj-section></mj-body></mjml>',
            print: {
              title: 'Note {{data.note}}',
              blocks: [
                { kind: 'paragraph', text: 'Dear {{customer.name}}, {{data.note}}' },
                { kind: 'table', rows: [['Note', '{{data.note}}']] },
              ],
            },
          },
          dataSchema: {
            type: 'object',
            required: ['note', 'short'],
            properties: { note: { type: 'string' }, short: { type: 'string', maxLength: 60 } },
          },
        },
      },
      admin,
    );
    expect(created.errors).toBeUndefined();
    const submitted = await t.gql<{ submitTemplateVersion: { approvals: { id: string; stage: string }[] } }>(
      `mutation ($input: TemplateVersionActionInput!) { submitTemplateVersion(input: $input) { approvals { id stage } } }`,
      { input: { versionId: `${created.data!.createTemplate.id}_v1` } },
      admin,
    );
    expect(submitted.errors).toBeUndefined();
    for (const a of submitted.data!.submitTemplateVersion.approvals) {
      const decided = await t.gql(
        `mutation ($input: DecideTemplateApprovalInput!) { decideTemplateApproval(input: $input) { decision } }`,
        { input: { approvalId: a.id, decision: 'APPROVED' } },
        a.stage === 'APPROVAL' ? approver : compliance,
      );
      expect(decided.errors).toBeUndefined();
    }

    docs = {};
    for (const channel of ['EMAIL', 'WEB', 'PRINT', 'MOBILE']) {
      const r = await t.gql<{ generateDocument: { id: string; status: string } }>(
        `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id status } }`,
        {
          input: {
            customerId: 'cus_hostile',
            templateId: 'tpl_note_letter',
            channel,
            data: { note: NOTE, short: '<b>hi</b> & {{bye}}' },
          },
        },
        ops,
      );
      expect(r.errors).toBeUndefined();
      expect(r.data!.generateDocument.status).toBe('GENERATED');
      docs[channel] = r.data!.generateDocument.id;
    }
    await t.settle();
  });

  const download = async (channel: string, part: string) => {
    const res = await fetch(t.url.replace('/graphql', `/documents/${docs[channel]}/content?part=${part}`), {
      headers: { authorization: `Bearer ${ops}` },
    });
    expect(res.status).toBe(200);
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };

  /** No element, attribute or handler from the data or the name survived as markup. */
  function expectInert(html: string): void {
    for (const raw of [
      '<script',
      '<mj-raw',
      '</mj-text>',
      '<img src=x',
      '<svg',
      'onerror=',
      'onload=',
      '<b>bold',
      '"\'>',
    ]) {
      expect(html).not.toContain(raw);
    }
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;/mj-text&gt;&lt;mj-raw&gt;');
    expect(html).toContain('Eve &lt;script&gt;alert(4)&lt;/script&gt;');
    // Handlebars in the data is text, not a template.
    expect(html).toContain('{{constructor.constructor}}');
  }

  it('the email HTML has the data and the name escaped, in text, attributes, the URL and the title', async () => {
    const { res, body } = await download('EMAIL', 'body.html');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox;.*default-src 'none'/);
    const html = body.toString('utf8');
    expectInert(html);
    expect(html).toMatch(/<title>&lt;\/mj-text&gt;/);
    expect(html).toContain('href="https://portal.example/notes?ref=&lt;/mj-text&gt;');
  });

  it('the email headers stay headers: subject and recipient on their own lines, no Bcc smuggled in', async () => {
    const subject = (await download('EMAIL', 'subject.txt')).body.toString('utf8');
    expect(subject).not.toMatch(/[\r\n]/);
    expect(subject).toContain('Bcc: data@evil.example');

    const dir = path.join(t.dataDir, 'outbox', 'email');
    const eml = fs
      .readdirSync(dir)
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .find((m) => m.includes(`X-CommsGraph-Document: ${docs.EMAIL}`));
    expect(eml).toBeDefined();
    const headers = eml!.split('\r\n\r\n')[0]!.split('\r\n');
    expect(headers.filter((h) => /^bcc:/i.test(h))).toEqual([]);
    // Every header line is a header or a folded continuation, nothing else.
    for (const h of headers) expect(h).toMatch(/^([A-Za-z-]+: |[ \t])/);
    expect(headers.find((h) => h.startsWith('To: '))).toMatch(/<eve@example\.com>$/);
  });

  it('the text parts are plain text, served as such', async () => {
    const { res, body } = await download('EMAIL', 'body.txt');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(body.toString('utf8')).toContain('<script>alert(1)</script>');
    const sms = await download('MOBILE', 'sms.txt');
    expect(sms.body.toString('utf8')).toBe('<b>hi</b> & {{bye}}');
  });

  it('the web page has them escaped too, under a policy that runs no script', async () => {
    const { res, body } = await download('WEB', 'index.html');
    expect(res.headers.get('content-security-policy')).toContain('sandbox');
    const html = body.toString('utf8');
    expectInert(html);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'`);
  });

  it('the PDF is text drawn on a page: no actions, scripts or links come from the data', async () => {
    const { res, body } = await download('PRINT', 'document.pdf');
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(body.subarray(0, 5).toString()).toBe('%PDF-');
    const pdf = body.toString('latin1');
    for (const key of [
      '/JavaScript',
      '/JS',
      '/OpenAction',
      '/AA',
      '/Launch',
      '/URI',
      '/SubmitForm',
      '/EmbeddedFile',
    ]) {
      expect(pdf).not.toContain(key);
    }
    expect(pdf).not.toContain('<script');
    expect(pdf.match(/%%EOF/g)).toHaveLength(1);
  });
});
