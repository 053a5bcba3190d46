import { sql } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * Flow 6, reissue of the exact prior version: a REISSUE case, an
 * authorisation check recorded by a second person, then the original
 * template version and archived data regenerated (same content hash), even
 * after the customer's data and the template changed.
 */
let t: TestGateway;
let svc: string;
/** Reads trails: their detail is personal data the service role does not see. */
let auditor: string;
let agentA: string;
let agentB: string;

beforeAll(async () => {
  t = await startTestGateway();
  svc = await t.token('svc', 'service');
  auditor = await t.token('audrey.auditor', 'auditor');
  agentA = await t.token('amy.agent', 'service-agent');
  agentB = await t.token('ben.agent', 'service-agent');
});
afterAll(() => t.stop());

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;
const REISSUE = `mutation ($input: ReissueDocumentInput!) { reissueDocument(input: $input) { id kind status channel tasks { kind role status } } }`;
const AUTHORISE = `mutation ($input: AuthoriseReissueInput!) { authoriseReissue(input: $input) { id status } }`;
const CASE = `query ($id: ID!) { case(id: $id) { status documents { id status contentHash reissueOf { id } deliveries { status } } history { actor action detail } } }`;

async function original(): Promise<{ id: string; contentHash: string }> {
  const r = await t.gql<{ generateDocument: { id: string; status: string; contentHash: string } }>(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id status contentHash } }`,
    {
      input: {
        customerId: 'cus_004',
        templateId: 'tpl_account_statement',
        channel: 'PRINT',
        data: sample('tpl_account_statement'),
      },
    },
    svc,
  );
  expect(r.data!.generateDocument.status).toBe('GENERATED');
  return r.data!.generateDocument;
}

test('an authorised reissue regenerates the exact prior document, even after data and template changed', async () => {
  const doc = await original();
  const db = t.gateway.store!.db;
  // Since then the customer was renamed and a new version of the template was approved.
  await sql`update customers.customers set name = 'Zoë Renamed' where id = 'cus_004'`.execute(db);
  await sql`insert into communications.template_versions (id, template_id, version, status, content, data_schema, content_hash, approved_by, approved_at, created_by)
    select 'tpl_account_statement_v2', template_id, 2, 'APPROVED', jsonb_set(content, '{print,title}', '"Changed title"'), data_schema, 'x', 'someone', now(), 'author'
    from communications.template_versions where id = 'tpl_account_statement_v1'`.execute(db);
  try {
    const opened = await t.gql<{
      reissueDocument: { id: string; kind: string; status: string; tasks: { kind: string; role: string }[] };
    }>(REISSUE, { input: { documentId: doc.id, reason: 'Customer lost the original statement' } }, agentA);
    expect(opened.errors).toBeUndefined();
    const c = opened.data!.reissueDocument;
    expect(c).toMatchObject({ kind: 'REISSUE', status: 'OPEN', channel: 'PRINT' });
    expect(c.tasks).toEqual([{ kind: 'AUTHORISE_REISSUE', role: 'service-agent', status: 'OPEN' }]);

    // The agent who opened it cannot authorise it.
    const self = await t.gql(
      AUTHORISE,
      {
        input: {
          caseId: c.id,
          requestedBy: 'the customer',
          identityVerification: 'KNOWLEDGE_BASED',
          entitled: true,
        },
      },
      agentA,
    );
    expect(self.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const deliveries = await subscribe<{
      deliveryStatusChanged: { delivery: { status: string }; document: { id: string } };
    }>(
      t.url,
      svc,
      `subscription ($caseId: ID, $after: ID) { deliveryStatusChanged(caseId: $caseId, after: $after) { delivery { status } document { id } } }`,
      { caseId: c.id, after: await t.cursor('deliveryStatusChanged') },
    );
    const ok = await t.gql<{ authoriseReissue: { status: string } }>(
      AUTHORISE,
      {
        input: {
          caseId: c.id,
          requestedBy: 'Zoë Ångström (account holder)',
          identityVerification: 'ONE_TIME_PASSCODE',
          entitled: true,
        },
      },
      agentB,
    );
    // The answer waits for the reissue (FOLLOW_UP_WAIT_MS): the case is RESOLVED already.
    expect(ok.data!.authoriseReissue.status).toBe('RESOLVED');
    await deliveries.waitFor((r) => r.some((e) => e.deliveryStatusChanged.delivery.status === 'DELIVERED'));
    await deliveries.close();
    await t.settle();

    const after = await t.gql<{
      case: {
        status: string;
        documents: { id: string; contentHash: string; reissueOf: { id: string } }[];
        history: { actor: string; action: string }[];
      };
    }>(CASE, { id: c.id }, auditor);
    expect(after.data!.case.status).toBe('RESOLVED');
    const [reissued] = after.data!.case.documents;
    expect(reissued!.id).not.toBe(doc.id);
    expect(reissued!.reissueOf.id).toBe(doc.id);
    expect(reissued!.contentHash).toBe(doc.contentHash);
    expect(after.data!.case.history.map((h) => [h.actor, h.action])).toEqual(
      expect.arrayContaining([
        ['amy.agent', 'REISSUE_REQUESTED'],
        ['ben.agent', 'REISSUE_AUTHORISED'],
        ['system', 'DOCUMENT_REISSUED'],
      ]),
    );
    // A second authorisation is refused: the case is no longer open.
    const again = await t.gql(
      AUTHORISE,
      { input: { caseId: c.id, requestedBy: 'x', identityVerification: 'IN_PERSON', entitled: true } },
      agentB,
    );
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  } finally {
    await sql`update customers.customers set name = 'Zoë Ångström' where id = 'cus_004'`.execute(db);
    await sql`delete from communications.template_versions where id = 'tpl_account_statement_v2'`.execute(db);
  }
});

test('content changed behind an approval no longer counts: generation and reissue are refused', async () => {
  const doc = await original();
  const db = t.gateway.store!.db;
  await sql`update communications.template_versions set content = jsonb_set(content, '{print,title}', '"Tampered"')
    where id = 'tpl_account_statement_v1'`.execute(db);
  try {
    const r = await t.gql(
      `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }`,
      {
        input: {
          customerId: 'cus_004',
          templateId: 'tpl_account_statement',
          channel: 'PRINT',
          data: sample('tpl_account_statement'),
        },
      },
      svc,
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('APPROVAL_REQUIRED');
    const opened = await t.gql<{ reissueDocument: { id: string } }>(
      REISSUE,
      { input: { documentId: doc.id, reason: 'copy' } },
      agentA,
    );
    await t.gql(
      AUTHORISE,
      {
        input: {
          caseId: opened.data!.reissueDocument.id,
          requestedBy: 'holder',
          identityVerification: 'IN_PERSON',
          entitled: true,
        },
      },
      agentB,
    );
    await t.settle();
    const after = await t.gql<{ case: { status: string; documents: unknown[] } }>(
      CASE,
      { id: opened.data!.reissueDocument.id },
      auditor,
    );
    // The reissue waits (its command retries) rather than sending other bytes.
    expect(after.data!.case).toMatchObject({ status: 'APPROVED', documents: [] });
  } finally {
    await sql`update communications.template_versions set content = jsonb_set(content, '{print,title}', to_jsonb(${String(
      (SEED_TEMPLATES.find((x) => x.id === 'tpl_account_statement')!.content.print as { title: string })
        .title,
    )}::text)) where id = 'tpl_account_statement_v1'`.execute(db);
  }
});

test('an unauthorised request is refused and recorded; nothing is generated', async () => {
  const doc = await original();
  const opened = await t.gql<{ reissueDocument: { id: string } }>(
    REISSUE,
    { input: { documentId: doc.id, reason: 'Caller asks for a copy' } },
    agentA,
  );
  const caseId = opened.data!.reissueDocument.id;
  const refused = await t.gql<{ authoriseReissue: { status: string } }>(
    AUTHORISE,
    {
      input: {
        caseId,
        requestedBy: 'unknown caller',
        identityVerification: 'NOT_VERIFIED',
        entitled: false,
        comment: 'Could not verify',
      },
    },
    agentB,
  );
  expect(refused.data!.authoriseReissue.status).toBe('REJECTED');
  await t.settle();
  const after = await t.gql<{
    case: {
      status: string;
      documents: unknown[];
      history: { actor: string; action: string; detail: Record<string, unknown> }[];
    };
  }>(CASE, { id: caseId }, auditor);
  expect(after.data!.case.documents).toEqual([]);
  const entry = after.data!.case.history.find((h) => h.action === 'REISSUE_REFUSED');
  expect(entry).toMatchObject({
    actor: 'ben.agent',
    detail: { requestedBy: 'unknown caller', identityVerification: 'NOT_VERIFIED', entitled: false },
  });
});

test('reissue input is checked: unknown documents, roles, and cases that are not reissues', async () => {
  expect(
    (await t.gql(REISSUE, { input: { documentId: 'doc_nope', reason: 'x' } }, agentA)).errors?.[0]?.extensions
      ?.code,
  ).toBe('NOT_FOUND');
  expect(
    (await t.gql(REISSUE, { input: { documentId: 'doc_nope', reason: ' ' } }, agentA)).errors?.[0]?.extensions
      ?.code,
  ).toBe('BAD_USER_INPUT');
  const doc = await original();
  expect(
    (await t.gql(REISSUE, { input: { documentId: doc.id, reason: 'x' } }, svc)).errors?.[0]?.extensions?.code,
  ).toBe('FORBIDDEN');
  const cases = await t.gql<{ cases: { edges: { node: { id: string } }[] } }>(
    `{ cases(kind: REGULATED_DOCUMENT, first: 1) { edges { node { id } } } }`,
    {},
    svc,
  );
  const wrong = await t.gql(
    AUTHORISE,
    {
      input: {
        caseId: cases.data!.cases.edges[0]!.node.id,
        requestedBy: 'x',
        identityVerification: 'IN_PERSON',
        entitled: true,
      },
    },
    agentB,
  );
  expect(wrong.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});
