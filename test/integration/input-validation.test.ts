import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type GqlResult, type TestGateway } from '../support/harness.js';

/**
 * Every input is validated before anything runs: over-long text, control characters, bad ids,
 * oversized, over-deep or prototype-polluting JSON, wrong types. Each refusal is BAD_USER_INPUT
 * with `extensions.field` the path of the offending value, and leaves every table as it was.
 */
let t: TestGateway;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestGateway();
  for (const role of ['service-agent', 'operations', 'approver', 'admin', 'requester'] as const) {
    tokens[role] = await t.token(`iv.${role}`, role);
  }
  await t.settle();
});
afterAll(() => t.stop());

/** A fingerprint of every row of every table of the three subgraphs (trails and outboxes included). */
async function fingerprint(): Promise<Record<string, string>> {
  const db = t.gateway.store!.db as Kysely<unknown>;
  const tables = await sql<{ name: string }>`
    select table_schema || '.' || table_name as name from information_schema.tables
    where table_schema in ('workflow', 'customers', 'communications') and table_type = 'BASE TABLE'
    order by 1`.execute(db);
  const out: Record<string, string> = {};
  for (const { name } of tables.rows) {
    const [schema, table] = name.split('.');
    const r = await sql<{ fp: string | null; n: string }>`
      select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as fp, count(*)::text as n
      from ${sql.table(`${schema}.${table}`)} x`.execute(db);
    out[name] = `${r.rows[0]!.n}:${r.rows[0]!.fp}`;
  }
  return out;
}

let before: Record<string, string>;
/** Every test but the control one refuses calls, so nothing may change. */
let changes = false;
beforeEach(async () => {
  before = await fingerprint();
  changes = false;
});
afterEach(async () => {
  // Nothing a refused call touched may have changed: no case, trail entry, document, event.
  if (!changes) expect(await fingerprint()).toEqual(before);
});

test('control: an accepted call does change the fingerprint', async () => {
  changes = true;
  const r = await t.gql(
    op('updateCustomerContact', 'UpdateCustomerContactInput'),
    { input: { customerId: 'cus_012', phone: '+44 7700 900999' } },
    tokens['service-agent'],
  );
  expect(r.errors).toBeUndefined();
  const after = await fingerprint();
  expect(after['customers.customers']).not.toBe(before['customers.customers']);
  expect(after['customers.events']).not.toBe(before['customers.events']);
});

const op = (name: string, type: string) =>
  `mutation ($input: ${type}!) { ${name}(input: $input) { __typename } }`;

function expectRefused(r: GqlResult<unknown>, field: string): void {
  expect(r.errors).toHaveLength(1);
  expect(r.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
  expect(r.errors![0]!.message.startsWith(`${field}: `)).toBe(true);
}

let deep: unknown = 'bottom';
for (let i = 0; i < 20; i++) deep = { next: deep };
/** Where `{ data: { deep } }` crosses the 12 levels data may have. */
const DEEP_PATH = `input.data.deep${'.next'.repeat(11)}`;
const big = { text: 'x'.repeat(70 * 1024) };
const withKey = (key: string) => JSON.parse(`{"ok": 1, "nested": {"${key}": {"polluted": "yes"}}}`) as object;

const letter = {
  kind: 'CORRESPONDENCE',
  title: 'Claim letter',
  customerId: 'cus_001',
  templateId: 'tpl_claim_letter',
  data: SEED_TEMPLATES.find((x) => x.id === 'tpl_claim_letter')!.sampleData,
};

describe('startCase', () => {
  const start = (input: Record<string, unknown>) =>
    t.gql(op('startCase', 'StartCaseInput'), { input: { ...letter, ...input } }, tokens['service-agent']);

  it.each([
    ['an over-long title', { title: 'x'.repeat(201) }, 'input.title'],
    ['a blank title', { title: ' \t ' }, 'input.title'],
    ['a title with a NUL', { title: 'Claim\u0000letter' }, 'input.title'],
    ['a title on two lines', { title: 'Claim\nBcc: someone' }, 'input.title'],
    ['a title with an escape sequence', { title: 'Claim \u001b[31mred' }, 'input.title'],
    ['a title with broken Unicode', { title: 'Claim \ud800' }, 'input.title'],
    ['a garbage customer id', { customerId: "cus_001' or '1'='1" }, 'input.customerId'],
    ['a path as template id', { templateId: '../../etc/passwd' }, 'input.templateId'],
    [
      'an over-long reason',
      { channel: 'PRINT', channelOverrideReason: 'r'.repeat(501) },
      'input.channelOverrideReason',
    ],
    ['over-deep data', { data: { deep } }, DEEP_PATH],
    ['oversized data', { data: big }, 'input.data'],
    ['data that is not an object', { data: ['a', 'b'] }, 'input.data'],
    ['data with __proto__', { data: withKey('__proto__') }, 'input.data.nested.__proto__'],
    ['data with constructor', { data: withKey('constructor') }, 'input.data.nested.constructor'],
    ['data with prototype', { data: withKey('prototype') }, 'input.data.nested.prototype'],
    ['data with a NUL in a value', { data: { note: 'a\u0000b' } }, 'input.data.note'],
    ['data with a NUL in a key', { data: { 'a\u0000': 1 } }, 'input.data["a\\u0000"]'],
  ])('%s is refused', async (_what, input, field) => {
    expectRefused(await start(input), field);
  });

  it('is refused for wrong types and unknown enum values by GraphQL itself, with a code', async () => {
    for (const input of [
      { title: 123 },
      { kind: 'NOT_A_KIND' },
      { data: undefined, customerId: { id: 1 } },
    ]) {
      const r = await start(input);
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(r.data).toBeUndefined();
    }
  });

  it('a JSON literal deeper than any field allows is refused by the JSON scalar, with a code', async () => {
    const r = await t.gql(
      `mutation { startCase(input: { kind: CORRESPONDENCE, title: "x", customerId: "cus_001", templateId: "tpl_claim_letter", data: { d: ${'['.repeat(70)}1${']'.repeat(70)} } }) { id } }`,
      {},
      tokens['service-agent'],
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/nested deeper than 64 levels/);
    expect(r.data?.startCase ?? null).toBeNull();
  });

  it('checks the role before the input: a caller who may not start the case is told so', async () => {
    const r = await t.gql(
      op('startCase', 'StartCaseInput'),
      { input: { ...letter, title: 'x'.repeat(500) } },
      tokens.operations,
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a huge payload within the body limit is refused at its field, not half-processed', async () => {
    const r = await start({ data: { rows: Array.from({ length: 20_000 }, (_, i) => ({ i, v: 'value' })) } });
    expectRefused(r, 'input.data');
  });
});

/** The input type of each mutation, for the tables below. */
const INPUT: Record<string, string> = {
  decideApproval: 'DecideApprovalInput',
  reissueDocument: 'ReissueDocumentInput',
  authoriseReissue: 'AuthoriseReissueInput',
  assignCase: 'AssignCaseInput',
  addCaseNote: 'AddCaseNoteInput',
  reportMilestone: 'ReportMilestoneInput',
  sendDisputeLetter: 'SendDisputeLetterInput',
  editTemplate: 'EditTemplateInput',
  submitTemplateVersion: 'TemplateVersionActionInput',
  retireTemplateVersion: 'TemplateVersionActionInput',
  decideTemplateApproval: 'DecideTemplateApprovalInput',
};
const call = (name: string, role: string, input: unknown) =>
  t.gql(op(name, INPUT[name]!), { input }, tokens[role]);

describe('case work', () => {
  const apr = { approvalId: 'apr_1', decision: 'APPROVED' };
  const reissue = { documentId: 'doc_1', reason: 'lost' };
  const authorise = {
    caseId: 'case_1',
    requestedBy: 'Ann',
    identityVerification: 'IN_PERSON',
    entitled: true,
  };
  it.each([
    [
      'decideApproval',
      'an over-long comment',
      'approver',
      { ...apr, comment: 'c'.repeat(2001) },
      'input.comment',
    ],
    [
      'decideApproval',
      'an approval id with a space',
      'approver',
      { ...apr, approvalId: 'apr 1' },
      'input.approvalId',
    ],
    [
      'reissueDocument',
      'a reason with a bell',
      'service-agent',
      { ...reissue, reason: 'lost\u0007' },
      'input.reason',
    ],
    ['reissueDocument', 'an empty reason', 'service-agent', { ...reissue, reason: '' }, 'input.reason'],
    [
      'reissueDocument',
      'a document id with a slash',
      'service-agent',
      { ...reissue, documentId: 'doc/1' },
      'input.documentId',
    ],
    [
      'authoriseReissue',
      'a requester on two lines',
      'service-agent',
      { ...authorise, requestedBy: 'Ann\nBcc: x' },
      'input.requestedBy',
    ],
    [
      'assignCase',
      'an over-long assignee',
      'operations',
      { caseId: 'case_1', assignee: 'a'.repeat(201) },
      'input.assignee',
    ],
    [
      'assignCase',
      'an over-long team',
      'operations',
      { caseId: 'case_1', assignee: 'ann', team: 't'.repeat(101) },
      'input.team',
    ],
    [
      'addCaseNote',
      'an over-long note',
      'operations',
      { caseId: 'case_1', note: 'n'.repeat(4001) },
      'input.note',
    ],
    ['addCaseNote', 'a note with a NUL', 'operations', { caseId: 'case_1', note: 'a\u0000b' }, 'input.note'],
    [
      'reportMilestone',
      'over-deep data',
      'service-agent',
      { caseId: 'case_1', milestone: 'CLAIM_INTAKE', data: { deep } },
      DEEP_PATH,
    ],
    [
      'sendDisputeLetter',
      'polluting data',
      'service-agent',
      { caseId: 'case_1', letter: 'ACKNOWLEDGEMENT', data: withKey('__proto__') },
      'input.data.nested.__proto__',
    ],
  ])('%s refuses %s', async (name, _what, role, input, field) => {
    expectRefused(await call(name, role, input), field);
  });

  it('keeps newlines and tabs in free text', async () => {
    // A note of several lines on a case that does not exist: past validation, so NOT_FOUND.
    const r = await t.gql(
      op('addCaseNote', 'AddCaseNoteInput'),
      { input: { caseId: 'case_none', note: 'Called the customer.\n\tNo answer.' } },
      tokens.operations,
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('customers', () => {
  const update = (input: Record<string, unknown>) =>
    t.gql(op('updateCustomerContact', 'UpdateCustomerContactInput'), { input }, tokens['service-agent']);

  it.each([
    ['a header injection', { email: 'eve@example.com\r\nBcc: all@example.com' }, 'input.email'],
    ['a display name', { email: '"Eve" <eve@example.com>' }, 'input.email'],
    ['no address at all', { email: 'not-an-email' }, 'input.email'],
    ['an over-long address', { email: `${'a'.repeat(250)}@example.com` }, 'input.email'],
    ['a national phone number', { phone: '07700 900123' }, 'input.phone'],
    ['a phone with letters', { phone: '+44 7700 CALLME' }, 'input.phone'],
    ['a bad customer id', { customerId: 'cus_011;', email: 'a@example.com' }, 'input.customerId'],
  ])('%s is refused', async (_what, input, field) => {
    expectRefused(await update({ customerId: 'cus_011', ...input }), field);
  });

  it('bad query arguments are refused too, with the argument as the path', async () => {
    const agent = tokens['service-agent'];
    expectRefused(
      await t.gql(`query ($id: ID!) { customer(id: $id) { id } }`, { id: 'cus\u0000' }, agent),
      'id',
    );
    expectRefused(
      await t.gql(
        `query ($s: String) { customers(segment: $s) { totalCount } }`,
        { s: 's'.repeat(1001) },
        agent,
      ),
      'segment',
    );
    expectRefused(
      await t.gql(`query ($id: ID!) { case(id: $id) { id } }`, { id: 'x'.repeat(101) }, agent),
      'id',
    );
  });
});

describe('communications', () => {
  const generate = (input: Record<string, unknown>) =>
    t.gql(
      op('generateDocument', 'GenerateDocumentInput'),
      { input: { customerId: 'cus_001', templateId: 'tpl_billing_notice', channel: 'PRINT', ...input } },
      tokens.operations,
    );

  it.each([
    ['an over-long idempotency key', { idempotencyKey: 'k'.repeat(201) }, 'input.idempotencyKey'],
    ['a blank idempotency key', { idempotencyKey: '   ' }, 'input.idempotencyKey'],
    ['oversized data', { data: big }, 'input.data'],
    ['polluting data', { data: withKey('constructor') }, 'input.data.nested.constructor'],
    ['a bad case id', { caseId: 'case_1 OR 1=1' }, 'input.caseId'],
  ])('generateDocument with %s is refused', async (_what, input, field) => {
    expectRefused(await generate(input), field);
  });

  it.each([
    ['an over-long resolution', { exceptionId: 'exc_1', resolution: 'r'.repeat(2001) }, 'input.resolution'],
    ['over-deep data', { exceptionId: 'exc_1', resolution: 'fixed', data: { deep } }, DEEP_PATH],
  ])('resolveException refuses %s', async (_what, input, field) => {
    expectRefused(
      await t.gql(op('resolveException', 'ResolveExceptionInput'), { input }, tokens.operations),
      field,
    );
  });

  const template = {
    name: 'Safety letter',
    documentType: 'safety_letter',
    channels: ['MOBILE'],
    content: { sms: 'Hello {{customer.name}}' },
    dataSchema: { type: 'object' },
  };

  it.each([
    ['an over-long name', { name: 'n'.repeat(201) }, 'input.name'],
    ['a document type that is no snake_case', { documentType: '../Evil Type' }, 'input.documentType'],
    ['no channels', { channels: [] }, 'input.channels'],
    ['oversized content', { content: { sms: 'x'.repeat(300 * 1024) } }, 'input.content'],
    ['a polluting content key', { content: withKey('__proto__') }, 'input.content.nested.__proto__'],
    [
      'over-deep content',
      { content: { sms: 'x', extra: deep } },
      'input.content.extra.next.next.next.next.next.next.next',
    ],
    [
      'an oversized data schema',
      { dataSchema: { type: 'object', description: 'd'.repeat(70 * 1024) } },
      'input.dataSchema',
    ],
  ])('createTemplate with %s is refused', async (_what, input, field) => {
    expectRefused(
      await t.gql(
        op('createTemplate', 'CreateTemplateInput'),
        { input: { ...template, ...input } },
        tokens.admin,
      ),
      field,
    );
  });

  it.each([
    [
      'editTemplate',
      'a comment with a NUL',
      'admin',
      { templateId: 'tpl_claim_letter', comment: 'c\u0000' },
      'input.comment',
    ],
    [
      'editTemplate',
      'a template id with a space',
      'admin',
      { templateId: 'tpl claim', comment: 'c' },
      'input.templateId',
    ],
    [
      'submitTemplateVersion',
      'an over-long comment',
      'admin',
      { versionId: 'tpl_claim_letter_v1', comment: 'c'.repeat(2001) },
      'input.comment',
    ],
    [
      'retireTemplateVersion',
      'a version id with a newline',
      'admin',
      { versionId: 'tpl_claim_letter_v1\n' },
      'input.versionId',
    ],
    [
      'decideTemplateApproval',
      'a comment with a C1 control',
      'approver',
      { approvalId: 'tap_1', decision: 'APPROVED', comment: '\u0085' },
      'input.comment',
    ],
  ])('%s refuses %s', async (name, _what, role, input, field) => {
    expectRefused(await call(name, role, input), field);
  });
});
