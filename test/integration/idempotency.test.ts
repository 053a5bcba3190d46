import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type GqlResult, type TestGateway } from '../support/harness.js';

/**
 * Idempotency keys of generateDocument (issue 9, point 3): a key belongs to the
 * caller that sent it (the token subject, person or service client), it is bound
 * to the request it was first used with, and the gateway's own keys (`case:<id>`,
 * `milestone:...`) live apart from every caller's.
 */
let t: TestGateway;
let a: string;
let b: string;

beforeAll(async () => {
  t = await startTestGateway();
  a = await t.token('billing-system', 'service');
  b = await t.token('claims-system', 'service');
});
afterAll(() => t.stop());

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;
const GENERATE = `mutation ($input: GenerateDocumentInput!) {
  generateDocument(input: $input) { id status channel customerId requestedBy templateVersion { id } } }`;
type Doc = {
  id: string;
  status: string;
  channel: string;
  customerId: string;
  requestedBy: string;
  templateVersion: { id: string };
};
const generate = (input: Record<string, unknown>, token: string) =>
  t.gql<{ generateDocument: Doc }>(GENERATE, { input }, token);
const reasonOf = (r: GqlResult<unknown>) => r.errors?.[0]?.extensions;

async function documentCount(customerId: string): Promise<number> {
  const r = await t.gql<{ customer: { documents: { totalCount: number } } }>(
    `query ($id: ID!) { customer(id: $id) { documents { totalCount } } }`,
    { id: customerId },
    a,
  );
  return r.data!.customer.documents.totalCount;
}

const statementFor = (customerId: string, key: string) => ({
  customerId,
  templateId: 'tpl_account_statement',
  channel: 'PRINT',
  data: sample('tpl_account_statement'),
  idempotencyKey: key,
});

test("another caller's key is not mine: the same key from B makes B's own document", async () => {
  const fromA = await generate(statementFor('cus_001', 'nightly-run-1'), a);
  expect(fromA.errors).toBeUndefined();
  const before = await documentCount('cus_004');
  const fromB = await generate(
    {
      customerId: 'cus_004',
      templateId: 'tpl_billing_notice',
      channel: 'EMAIL',
      data: sample('tpl_billing_notice'),
      idempotencyKey: 'nightly-run-1',
    },
    b,
  );
  expect(fromB.errors).toBeUndefined();
  expect(fromB.data!.generateDocument).toMatchObject({
    status: 'GENERATED',
    customerId: 'cus_004',
    channel: 'EMAIL',
    requestedBy: 'claims-system',
  });
  expect(fromB.data!.generateDocument.id).not.toBe(fromA.data!.generateDocument.id);
  expect(await documentCount('cus_004')).toBe(before + 1);
  // Each caller's key still finds its own document.
  expect((await generate(statementFor('cus_001', 'nightly-run-1'), a)).data!.generateDocument.id).toBe(
    fromA.data!.generateDocument.id,
  );
});

test('the same key with another request is refused with CONFLICT IDEMPOTENCY_KEY_REUSED, and nothing is made', async () => {
  const first = await generate(statementFor('cus_001', 'stmt-reuse'), a);
  expect(first.errors).toBeUndefined();
  const before = { cus_001: await documentCount('cus_001'), cus_002: await documentCount('cus_002') };

  for (const other of [
    statementFor('cus_002', 'stmt-reuse'),
    { ...statementFor('cus_001', 'stmt-reuse'), channel: 'EMAIL' },
    {
      ...statementFor('cus_001', 'stmt-reuse'),
      data: { ...sample('tpl_account_statement'), closingBalance: 1 },
    },
    { ...statementFor('cus_001', 'stmt-reuse'), templateId: 'tpl_billing_notice' },
  ]) {
    const r = await generate(other, a);
    expect(r.data).toBeNull();
    expect(reasonOf(r)).toEqual({ code: 'CONFLICT', reason: 'IDEMPOTENCY_KEY_REUSED' });
  }
  expect(await documentCount('cus_001')).toBe(before.cus_001);
  expect(await documentCount('cus_002')).toBe(before.cus_002);
});

test('the same key with the same request returns the same document, whatever the order of its data', async () => {
  const data = sample('tpl_account_statement');
  const reordered = Object.fromEntries(Object.entries(data).reverse());
  const first = await generate({ ...statementFor('cus_001', 'stmt-same'), data }, a);
  const again = await generate({ ...statementFor('cus_001', 'stmt-same'), data: reordered }, a);
  expect(first.errors).toBeUndefined();
  expect(again.errors).toBeUndefined();
  expect(again.data!.generateDocument.id).toBe(first.data!.generateDocument.id);
});

test('the same key sent at once with different requests: one document, every other answer CONFLICT', async () => {
  const customers = ['cus_001', 'cus_002', 'cus_004', 'cus_005', 'cus_006'];
  const results = await Promise.all(customers.map((c) => generate(statementFor(c, 'stmt-burst'), a)));
  const made = results.filter((r) => !r.errors);
  expect(made).toHaveLength(1);
  for (const r of results.filter((r) => r.errors)) expect(reasonOf(r)!.reason).toBe('IDEMPOTENCY_KEY_REUSED');
});

test("a caller cannot reach the system's keys: a case's own document is made for the case", async () => {
  const requester = await t.token('rita.requester', 'requester');
  const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: 'Billing notice',
        customerId: 'cus_004',
        templateId: 'tpl_billing_notice',
        channel: 'PRINT',
        data: sample('tpl_billing_notice'),
      },
    },
    requester,
  );
  expect(started.errors).toBeUndefined();
  const caseId = started.data!.startCase.id;
  // A caller who guesses the key the case's sign-off will use.
  const squatter = await generate(statementFor('cus_001', `case:${caseId}`), a);
  expect(squatter.errors).toBeUndefined();

  const deciders = [
    await t.token('rob.reviewer', 'reviewer'),
    await t.token('ann.approver', 'approver'),
    await t.token('carl.compliance', 'compliance'),
  ];
  for (const [i, approval] of started.data!.startCase.approvals.entries()) {
    const r = await t.gql(
      `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
      { input: { approvalId: approval.id, decision: 'APPROVED' } },
      deciders[i],
    );
    expect(r.errors).toBeUndefined();
  }
  await t.settle();
  const c = await t.gql<{ case: { status: string; documents: Doc[] } }>(
    `query ($id: ID!) { case(id: $id) { status documents { id status channel customerId requestedBy templateVersion { id } } } }`,
    { id: caseId },
    a,
  );
  expect(c.data!.case.status).toBe('RESOLVED');
  expect(c.data!.case.documents).toHaveLength(1);
  expect(c.data!.case.documents[0]).toMatchObject({
    status: 'GENERATED',
    customerId: 'cus_004',
    channel: 'PRINT',
    requestedBy: 'rita.requester',
  });
  expect(c.data!.case.documents[0]!.id).not.toBe(squatter.data!.generateDocument.id);
});
