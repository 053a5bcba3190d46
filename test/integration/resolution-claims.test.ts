import { sql } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * resolveException claims the exception before it makes the retry (issue 9,
 * point 2). A claim must never strand an exception: a refused retry gives the
 * exception back OPEN as it was, and a claim whose request died is finished by
 * the command enqueued with it, with the data that request sent.
 */
let t: TestGateway;
let svc: string;
let ops: string;

beforeAll(async () => {
  t = await startTestGateway();
  svc = await t.token('claims-system', 'service');
  ops = await t.token('olga.ops', 'operations');
});
afterAll(() => t.stop());

const statement = SEED_TEMPLATES.find((x) => x.id === 'tpl_account_statement')!.sampleData as Record<
  string,
  unknown
>;
const RESOLVE = `mutation ($input: ResolveExceptionInput!) { resolveException(input: $input) {
  status resolvedBy retryDocument { status requestedBy } } }`;
const EXCEPTION = `query ($id: ID!) { document(id: $id) { exceptions { id status resolution resolvedBy retryDocument { id status } } } }`;
type Exceptions = {
  document: {
    exceptions: {
      id: string;
      status: string;
      resolution: string | null;
      resolvedBy: string | null;
      retryDocument: { id: string; status: string } | null;
    }[];
  };
};

/** A FAILED statement (its period is missing) with its exception case open. */
async function failedStatement(): Promise<{ documentId: string; exceptionId: string }> {
  const r = await t.gql<{ generateDocument: { id: string; exceptions: { id: string }[] } }>(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id exceptions { id } } }`,
    {
      input: {
        customerId: 'cus_002',
        templateId: 'tpl_account_statement',
        channel: 'EMAIL',
        data: { accountNumber: statement.accountNumber },
      },
    },
    svc,
  );
  expect(r.errors).toBeUndefined();
  await t.settle();
  return { documentId: r.data!.generateDocument.id, exceptionId: r.data!.generateDocument.exceptions[0]!.id };
}

test('a retry refused with a coded error leaves the exception OPEN and unclaimed', async () => {
  const { documentId, exceptionId } = await failedStatement();
  const db = t.gateway.store!.db;
  const { rows } = await sql<{ content: unknown }>`select content from communications.template_versions
    where id = 'tpl_account_statement_v1'`.execute(db);
  const approved = JSON.stringify(rows[0]!.content);
  // The approved content is changed behind its approval: the retry must be refused.
  await sql`update communications.template_versions set content = jsonb_set(content, '{print,title}', '"Tampered"')
    where id = 'tpl_account_statement_v1'`.execute(db);
  try {
    const refused = await t.gql(
      RESOLVE,
      { input: { exceptionId, resolution: 'period supplied', regenerate: true, data: statement } },
      ops,
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('APPROVAL_REQUIRED');
    const after = await t.gql<Exceptions>(EXCEPTION, { id: documentId }, ops);
    expect(after.data!.document.exceptions).toEqual([
      { id: exceptionId, status: 'OPEN', resolution: null, resolvedBy: null, retryDocument: null },
    ]);
  } finally {
    await sql`update communications.template_versions set content = ${approved}::jsonb
      where id = 'tpl_account_statement_v1'`.execute(db);
  }
  // Not stranded: the next operator resolves it.
  const ok = await t.gql<{ resolveException: { status: string; retryDocument: { status: string } } }>(
    RESOLVE,
    { input: { exceptionId, resolution: 'period supplied', regenerate: true, data: statement } },
    ops,
  );
  expect(ok.errors).toBeUndefined();
  expect(ok.data!.resolveException).toMatchObject({
    status: 'RESOLVED',
    retryDocument: { status: 'GENERATED' },
  });
});

test("a claim whose request died is finished by its command, with that request's data", async () => {
  const { documentId, exceptionId } = await failedStatement();
  const db = t.gateway.store!.db;
  // What a request that committed its claim and then died leaves behind: the claim on the
  // row and the command enqueued with it (here due at once rather than in a minute).
  const claim = {
    token: 'crashed-claim',
    actor: 'otto.ops',
    resolution: 'fixed before the crash',
    regenerate: true,
    data: { ...statement, accountNumber: 'CRASH 0001' },
  };
  await sql`update communications.exceptions set claim = ${JSON.stringify(claim)}::jsonb where id = ${exceptionId}`.execute(
    db,
  );
  await sql`insert into communications.commands (kind, payload)
    values ('finishResolution', ${JSON.stringify({ exceptionId, token: claim.token })}::jsonb)`.execute(db);

  // Meanwhile nobody else can take it.
  const other = await t.gql(RESOLVE, { input: { exceptionId, resolution: 'mine', regenerate: true } }, ops);
  expect(other.errors?.[0]?.extensions?.code).toBe('CONFLICT');

  await t.settle();
  const after = await t.gql<Exceptions>(EXCEPTION, { id: documentId }, ops);
  const [exc] = after.data!.document.exceptions;
  expect(exc).toMatchObject({
    status: 'RESOLVED',
    resolution: 'fixed before the crash',
    resolvedBy: 'otto.ops',
    retryDocument: { status: 'GENERATED' },
  });
  const text = await fetch(new URL(`/documents/${exc!.retryDocument!.id}/content?part=body.txt`, t.url), {
    headers: { authorization: `Bearer ${ops}` },
  }).then((res) => res.text());
  expect(text).toContain('CRASH 0001');
});
