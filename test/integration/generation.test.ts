import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * generateDocument and the exception path: a failure to generate or deliver
 * is not an error of the mutation; it comes back FAILED, opens a
 * GENERATION_EXCEPTION case for operations, and is announced to subscribers.
 */
let t: TestGateway;
let svc: string;
let ops: string;
let requester: string;

beforeAll(async () => {
  t = await startTestGateway();
  svc = await t.token('batch-service', 'service');
  ops = await t.token('olga.ops', 'operations');
  requester = await t.token('rita.requester', 'requester');
});
afterAll(() => t.stop());

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;
const GENERATE = /* GraphQL */ `
  mutation G($input: GenerateDocumentInput!) {
    generateDocument(input: $input) {
      id
      status
      channel
      contentHash
      customer {
        name
      }
      templateVersion {
        version
        status
      }
      exceptions {
        id
        kind
        status
        message
      }
    }
  }
`;
type Doc = {
  id: string;
  status: string;
  channel: string;
  contentHash: string | null;
  exceptions: { id: string; kind: string; status: string; message: string }[];
};

async function generate(input: Record<string, unknown>, token = svc) {
  return t.gql<{ generateDocument: Doc }>(GENERATE, { input }, token);
}

test('the same idempotency key returns the same document instead of generating twice', async () => {
  const input = {
    customerId: 'cus_001',
    templateId: 'tpl_account_statement',
    data: sample('tpl_account_statement'),
    idempotencyKey: 'stmt-2026-11-cus_001',
  };
  const first = await generate(input);
  const second = await generate(input);
  expect(first.errors).toBeUndefined();
  expect(first.data!.generateDocument.status).toBe('GENERATED');
  expect(second.data!.generateDocument.id).toBe(first.data!.generateDocument.id);
  const docs = await t.gql<{
    customer: { documents: { totalCount: number; edges: { node: { id: string } }[] } };
  }>(
    `query { customer(id: "cus_001") { documents(first: 50) { totalCount edges { node { id } } } } }`,
    {},
    svc,
  );
  expect(
    docs.data!.customer.documents.edges.filter((e) => e.node.id === first.data!.generateDocument.id),
  ).toHaveLength(1);
});

test('the channel defaults to the customer preference and renders Unicode names', async () => {
  const r = await generate({
    customerId: 'cus_001',
    templateId: 'tpl_account_statement',
    data: sample('tpl_account_statement'),
  });
  expect(r.errors).toBeUndefined();
  expect(r.data!.generateDocument).toMatchObject({ status: 'GENERATED', customer: { name: 'Łukasz Żółć' } });
});

test('roles, unknown ids and unapproved cases are refused with coded errors', async () => {
  const base = {
    customerId: 'cus_001',
    templateId: 'tpl_account_statement',
    data: sample('tpl_account_statement'),
  };
  expect((await generate(base, requester)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect((await t.gql(GENERATE, { input: base })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect((await generate({ ...base, customerId: 'cus_missing' })).errors?.[0]?.extensions?.code).toBe(
    'NOT_FOUND',
  );
  expect((await generate({ ...base, templateId: 'tpl_missing' })).errors?.[0]?.extensions?.code).toBe(
    'NOT_FOUND',
  );
  expect((await generate({ ...base, channel: 'MOBILE' })).errors?.[0]?.extensions?.code).toBe(
    'BAD_USER_INPUT',
  );
  expect((await generate({ ...base, data: [1, 2] })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

  const started = await t.gql<{ startCase: { id: string } }>(
    `mutation S($input: StartCaseInput!) { startCase(input: $input) { id } }`,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: 'Statement',
        customerId: 'cus_001',
        templateId: 'tpl_account_statement',
        data: sample('tpl_account_statement'),
      },
    },
    requester,
  );
  const r = await generate({ ...base, caseId: started.data!.startCase.id });
  expect(r.errors?.[0]?.extensions?.code).toBe('APPROVAL_REQUIRED');
  const c = await t.gql<{ case: { documents: unknown[] } }>(
    `query ($id: ID!) { case(id: $id) { documents { id } } }`,
    { id: started.data!.startCase.id },
    svc,
  );
  expect(c.data!.case.documents).toEqual([]);
});

test('missing data gives a FAILED document and an exception case; resolving with corrected data generates again', async () => {
  const raised = await subscribe<{
    generationExceptionRaised: {
      id: string;
      kind: string;
      case: { id: string; assignedTeam: string; kind: string };
    };
  }>(
    t.url,
    svc,
    `subscription ($after: ID) { generationExceptionRaised(kind: MISSING_DATA, after: $after) { id kind case { id assignedTeam kind } } }`,
    { after: await t.cursor('generationExceptionRaised') },
  );
  const { accountNumber } = sample('tpl_account_statement') as { accountNumber: string };
  const r = await generate({
    customerId: 'cus_002',
    templateId: 'tpl_account_statement',
    channel: 'PRINT',
    data: { accountNumber },
  });
  expect(r.errors).toBeUndefined();
  const doc = r.data!.generateDocument;
  expect(doc.status).toBe('FAILED');
  expect(doc.contentHash).toBeNull();
  expect(doc.exceptions).toHaveLength(1);
  expect(doc.exceptions[0]!.kind).toBe('MISSING_DATA');

  const [event] = await raised.waitFor((r) => r.length > 0);
  await raised.close();
  const exc = event!.generationExceptionRaised;
  expect(exc.id).toBe(doc.exceptions[0]!.id);
  expect(exc.case).toMatchObject({ assignedTeam: 'data-quality', kind: 'GENERATION_EXCEPTION' });

  const RESOLVE = `mutation R($input: ResolveExceptionInput!) { resolveException(input: $input) { id status resolution retryDocument { id status contentHash } } }`;
  // Not operations: refused, nothing changes.
  const denied = await t.gql(
    RESOLVE,
    { input: { exceptionId: exc.id, resolution: 'x', regenerate: true } },
    svc,
  );
  expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

  const fixed = sample('tpl_account_statement');
  const resolved = await t.gql<{
    resolveException: { status: string; retryDocument: { status: string; contentHash: string } };
  }>(
    RESOLVE,
    {
      input: {
        exceptionId: exc.id,
        resolution: 'Statement period supplied by finance',
        regenerate: true,
        data: fixed,
      },
    },
    ops,
  );
  expect(resolved.errors).toBeUndefined();
  expect(resolved.data!.resolveException.status).toBe('RESOLVED');
  expect(resolved.data!.resolveException.retryDocument).toMatchObject({ status: 'GENERATED' });

  const twice = await t.gql(RESOLVE, { input: { exceptionId: exc.id, resolution: 'again' } }, ops);
  expect(twice.errors?.[0]?.extensions?.code).toBe('CONFLICT');

  await t.settle();
  const c = await t.gql<{
    case: {
      status: string;
      resolution: string;
      history: { actor: string; action: string }[];
      exceptions: { id: string; status: string }[];
    };
  }>(
    `query ($id: ID!) { case(id: $id) { status resolution history { actor action } exceptions { id status } } }`,
    { id: exc.case.id },
    ops,
  );
  expect(c.data!.case).toMatchObject({
    status: 'RESOLVED',
    resolution: 'Statement period supplied by finance',
  });
  expect(c.data!.case.history.map((h) => [h.actor, h.action])).toEqual(
    expect.arrayContaining([
      ['system', 'EXCEPTION_CASE_OPENED'],
      ['olga.ops', 'STATUS_RESOLVED'],
    ]),
  );
  expect(c.data!.case.exceptions).toEqual([{ id: exc.id, status: 'RESOLVED' }]);
});

test('an email to a customer without an address fails delivery and raises DELIVERY_FAILURE', async () => {
  const raised = await subscribe<{
    generationExceptionRaised: {
      kind: string;
      document: { id: string };
      case: { id: string; assignedTeam: string };
    };
  }>(
    t.url,
    svc,
    `subscription ($after: ID) { generationExceptionRaised(kind: DELIVERY_FAILURE, after: $after) { kind document { id } case { id assignedTeam } } }`,
    { after: await t.cursor('generationExceptionRaised') },
  );
  const deliveries = await subscribe<{
    deliveryStatusChanged: { delivery: { status: string; lastError: string | null } };
  }>(
    t.url,
    svc,
    `subscription ($after: ID) { deliveryStatusChanged(customerId: "cus_003", after: $after) { delivery { status lastError } } }`,
    { after: await t.cursor('deliveryStatusChanged') },
  );
  const r = await generate({
    customerId: 'cus_003',
    templateId: 'tpl_account_confirmation',
    channel: 'EMAIL',
    data: sample('tpl_account_confirmation'),
  });
  expect(r.data!.generateDocument.status).toBe('GENERATED');
  const steps = await deliveries.waitFor((x) =>
    x.some((e) => e.deliveryStatusChanged.delivery.status === 'FAILED'),
  );
  expect(steps.map((e) => e.deliveryStatusChanged.delivery.status)).toEqual(['PENDING', 'FAILED']);
  expect(steps[1]!.deliveryStatusChanged.delivery.lastError).toMatch(/no email address/);
  const [ev] = await raised.waitFor((x) => x.length > 0);
  expect(ev!.generationExceptionRaised).toMatchObject({
    kind: 'DELIVERY_FAILURE',
    document: { id: r.data!.generateDocument.id },
    case: { assignedTeam: 'operations-email' },
  });
  await raised.close();
  await deliveries.close();
});

test('documents are downloadable by a caller whose role may read their content, and only so', async () => {
  const r = await generate({
    customerId: 'cus_004',
    templateId: 'tpl_billing_notice',
    channel: 'PRINT',
    data: sample('tpl_billing_notice'),
  });
  const id = r.data!.generateDocument.id;
  const base = t.url.replace('/graphql', '');
  const anon = await fetch(`${base}/documents/${id}/content`);
  expect(anon.status).toBe(401);
  const ok = await fetch(`${base}/documents/${id}/content`, { headers: { authorization: `Bearer ${ops}` } });
  expect(ok.status).toBe(200);
  expect(ok.headers.get('content-type')).toBe('application/pdf');
  const bytes = Buffer.from(await ok.arrayBuffer());
  expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
  const { createHash } = await import('node:crypto');
  expect(createHash('sha256').update(bytes).digest('hex')).toHaveLength(64);
  expect(
    (await fetch(`${base}/documents/..%2F..%2Fetc/content`, { headers: { authorization: `Bearer ${ops}` } }))
      .status,
  ).toBe(404);
  expect(
    (await fetch(`${base}/documents/doc_nope/content`, { headers: { authorization: `Bearer ${ops}` } }))
      .status,
  ).toBe(404);
});
