import { sql } from 'kysely';
import { SEED_TEMPLATES } from '../../../src/datasources/communications/seed/templates.js';
import { waitUntil, type TestGateway } from '../../support/harness.js';
import { approveStages, GENERATE_PATH, startConnected, type Connected } from './connected.js';
import { batchDocumentCounts, noticeResolved, signOffNotice } from './notices.js';

/**
 * Exstream outages in connected mode (contract, "Failures become exception cases"): a record
 * an outage stops stays REQUESTED and is retried with backoff, durably; nothing is lost and
 * nothing made twice; a record still failing after the retry budget becomes an
 * UPSTREAM_UNAVAILABLE exception on a case, which `regenerate` tries again.
 *
 * Time is scaled down by SCALE: the 30 s outage, the retry backoff (2 s doubling to 60 s, the
 * defaults) and the circuit's half-open wait (30 s) all run SCALE times faster, so the scenario
 * keeps its proportions without taking real minutes. The test waits on conditions only.
 */
const SCALE = 100;
let c: Connected;
let t: TestGateway;

beforeAll(async () => {
  c = await startConnected({
    EXSTREAM_RETRY_ATTEMPTS: '8',
    EXSTREAM_RETRY_BACKOFF_MS: String(2000 / SCALE),
    EXSTREAM_RETRY_BACKOFF_MAX_MS: String(60_000 / SCALE),
    OPENTEXT_BREAKER_HALF_OPEN_MS: String(30_000 / SCALE),
    OPENTEXT_BACKOFF_MS: '1',
    OPENTEXT_BACKOFF_MAX_MS: '5',
  });
  t = c.t;
});
afterAll(() => c.stop());
// An outage a failed test left running would fail the next ones too.
afterEach(() => c.fake.faults.clear());

async function requestedEvents(): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select count(*)::text as n from communications.events
    where topic = 'DOCUMENT_STATUS' and payload->>'status' = 'REQUESTED'`.execute(t.gateway.store!.db);
  return Number(rows[0]!.n);
}

test('a 30 s Exstream outage during a notice batch: every record ends with exactly one document, none lost', async () => {
  const requestedBefore = await requestedEvents();
  const servedBefore = c.fake.served(GENERATE_PATH, 'POST');
  const refusedBefore = c.fake.count(GENERATE_PATH, 'POST') - servedBefore;
  // Exstream answers 503 to every generation for 30 s (scaled) from the batch's first call.
  c.fake.faults.add({
    path: GENERATE_PATH,
    method: 'POST',
    kind: 'status',
    status: 503,
    body: { status: 503, error: 'Service Unavailable', message: 'upstream down' },
    durationMs: 30_000 / SCALE,
  });
  const caseId = await signOffNotice(t, 'Savings rate change, outage', ['savings', 'premium'], ['EMAIL']);
  const report = await noticeResolved(t, caseId);

  // The outage did stop records: they waited REQUESTED and were refused by Exstream.
  expect(await requestedEvents()).toBeGreaterThan(requestedBefore);
  const refused = c.fake.count(GENERATE_PATH, 'POST') - c.fake.served(GENERATE_PATH, 'POST') - refusedBefore;
  expect(refused).toBeGreaterThan(0);

  // Nothing lost: all 19 customers got their notice; no record failed or is still waiting.
  expect(report.noticeBatch).toMatchObject({
    status: 'COMPLETED',
    total: 19,
    generated: 19,
    failed: 0,
    delivered: 19,
    deliveryFailed: 0,
  });
  expect(report.noticeBatch!.counts).toEqual([
    { channel: 'EMAIL', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 19 },
  ]);
  expect(report.noticeBatch!.openExceptions).toEqual([]);
  // Nothing duplicated: one document and one delivery per record, and one generation per
  // record reached Exstream (the refused calls never ran there).
  expect(await batchDocumentCounts(t, report.noticeBatch!.id)).toEqual({
    docs: '19',
    pairs: '19',
    deliveries: '19',
  });
  expect(c.fake.served(GENERATE_PATH, 'POST') - servedBefore).toBe(19);
}, 240_000);

test('a generation still failing after the retry budget opens an UPSTREAM_UNAVAILABLE case; regenerate tries again', async () => {
  const stop = c.fake.faults.add({ path: GENERATE_PATH, method: 'POST', kind: 'status', status: 503 });
  const svc = await t.token('svc', 'service');
  const auditor = await t.token('audrey.auditor', 'auditor');
  const generated = await t.gql<{
    generateDocument: { id: string; status: string; contentHash: string | null };
  }>(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id status contentHash } }`,
    {
      input: {
        customerId: 'cus_004',
        templateId: 'tpl_account_statement',
        channel: 'PRINT',
        data: SEED_TEMPLATES.find((x) => x.id === 'tpl_account_statement')!.sampleData,
      },
    },
    svc,
  );
  expect(generated.errors).toBeUndefined();
  // Not an error of the request: the document waits for Exstream.
  expect(generated.data!.generateDocument).toMatchObject({ status: 'REQUESTED', contentHash: null });
  const id = generated.data!.generateDocument.id;

  type View = {
    document: {
      status: string;
      exceptions: { id: string; kind: string; message: string; case: { id: string; kind: string } | null }[];
    };
  };
  const view = async () =>
    (
      await t.gql<View>(
        `query ($id: ID!) { document(id: $id) { status exceptions { id kind message case { id kind } } } }`,
        { id },
        auditor,
      )
    ).data!.document;
  await waitUntil(async () => (await view()).exceptions.some((e) => e.case !== null), Date.now() + 120_000);
  const failed = await view();
  expect(failed.status).toBe('FAILED');
  expect(failed.exceptions).toHaveLength(1);
  const [exception] = failed.exceptions;
  expect(exception).toMatchObject({ kind: 'UPSTREAM_UNAVAILABLE', case: { kind: 'GENERATION_EXCEPTION' } });
  expect(exception!.message).toMatch(/after 8 retries/);

  // Exstream is back; operations regenerate.
  stop();
  const ops = await t.token('olga.ops', 'operations');
  const resolved = await t.gql<{
    resolveException: { status: string; retryDocument: { id: string; status: string } };
  }>(
    `mutation ($input: ResolveExceptionInput!) { resolveException(input: $input) { status retryDocument { id status } } }`,
    { input: { exceptionId: exception!.id, resolution: 'Exstream is back', regenerate: true } },
    ops,
  );
  expect(resolved.errors).toBeUndefined();
  expect(resolved.data!.resolveException.status).toBe('RESOLVED');
  // The circuit the outage opened may still refuse calls for its half-open wait: then the
  // retry waits REQUESTED for its own retry. Either way it ends GENERATED with Exstream's bytes.
  const retry = resolved.data!.resolveException.retryDocument;
  expect(['GENERATED', 'REQUESTED']).toContain(retry.status);
  const retryView = async () =>
    (
      await t.gql<{ document: { status: string; contentHash: string | null } }>(
        `query ($id: ID!) { document(id: $id) { status contentHash } }`,
        { id: retry.id },
        auditor,
      )
    ).data!.document;
  await waitUntil(async () => (await retryView()).status !== 'REQUESTED', Date.now() + 120_000);
  const ended = await retryView();
  expect(ended.status).toBe('GENERATED');
  expect(ended.contentHash).toMatch(/^[0-9a-f]{64}$/);
}, 240_000);

test('an exception resolved with regenerate while Exstream is still down: the source case resolves when the retry is generated', async () => {
  const stop = c.fake.faults.add({ path: GENERATE_PATH, method: 'POST', kind: 'status', status: 503 });
  const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: 'Billing notice through a long outage',
        customerId: 'cus_004',
        templateId: 'tpl_billing_notice',
        channel: 'PRINT',
        data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
      },
    },
    await t.token('rita.requester', 'requester'),
  );
  expect(started.errors).toBeUndefined();
  const caseId = started.data!.startCase.id;
  await approveStages(t, started.data!.startCase.approvals);
  const auditor = await t.token('audrey.auditor', 'auditor');
  type CaseView = {
    case: {
      status: string;
      documents: {
        id: string;
        status: string;
        deliveries: { status: string }[];
        exceptions: { id: string; kind: string; case: { id: string } | null }[];
      }[];
      history: { action: string }[];
    };
  };
  const view = async () =>
    (
      await t.gql<CaseView>(
        `query ($id: ID!) { case(id: $id) { status documents { id status deliveries { status } exceptions { id kind case { id } } } history { action } } }`,
        { id: caseId },
        auditor,
      )
    ).data!.case;
  // The retry budget runs out: the document FAILED with an UPSTREAM_UNAVAILABLE exception case.
  await waitUntil(
    async () => (await view()).documents.some((d) => d.exceptions.some((e) => e.case !== null)),
    Date.now() + 120_000,
  );
  const failed = await view();
  const exception = failed.documents.flatMap((d) => d.exceptions)[0]!;
  expect(exception.kind).toBe('UPSTREAM_UNAVAILABLE');

  // Resolved with regenerate while Exstream is still down: the retry waits REQUESTED.
  const resolved = await t.gql<{
    resolveException: { status: string; retryDocument: { id: string; status: string } };
  }>(
    `mutation ($input: ResolveExceptionInput!) { resolveException(input: $input) { status retryDocument { id status } } }`,
    { input: { exceptionId: exception.id, resolution: 'Try again', regenerate: true } },
    await t.token('olga.ops', 'operations'),
  );
  expect(resolved.errors).toBeUndefined();
  expect(resolved.data!.resolveException).toMatchObject({
    status: 'RESOLVED',
    retryDocument: { status: 'REQUESTED' },
  });
  const retryId = resolved.data!.resolveException.retryDocument.id;
  // Still waiting for its document (APPROVED, or IN_PROGRESS once its failure is recorded).
  expect(['APPROVED', 'IN_PROGRESS']).toContain((await view()).status);

  // Exstream is back: the retry is generated and delivered, and the source case resolves.
  stop();
  await waitUntil(async () => (await view()).status === 'RESOLVED', Date.now() + 120_000);
  await t.settle();
  const after = await view();
  expect(after.documents.find((d) => d.id === retryId)).toMatchObject({
    status: 'GENERATED',
    deliveries: [{ status: 'DELIVERED' }],
  });
  expect(after.history.map((h) => h.action)).toContain('DOCUMENT_REGENERATED');
}, 240_000);

test('a case signed off during an outage gets its one document once Exstream is back; the trail records it once', async () => {
  const requestedBefore = await requestedEvents();
  c.fake.faults.add({
    path: GENERATE_PATH,
    method: 'POST',
    kind: 'status',
    status: 503,
    durationMs: 30_000 / SCALE,
  });
  const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: 'Billing notice during an outage',
        customerId: 'cus_004',
        templateId: 'tpl_billing_notice',
        channel: 'PRINT',
        data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
      },
    },
    await t.token('rita.requester', 'requester'),
  );
  expect(started.errors).toBeUndefined();
  const caseId = started.data!.startCase.id;
  await approveStages(t, started.data!.startCase.approvals);
  const auditor = await t.token('audrey.auditor', 'auditor');
  type CaseView = {
    case: {
      status: string;
      documents: { status: string; deliveries: { status: string }[] }[];
      history: { action: string }[];
    };
  };
  const view = async () =>
    (
      await t.gql<CaseView>(
        `query ($id: ID!) { case(id: $id) { status documents { status deliveries { status } } history { action } } }`,
        { id: caseId },
        auditor,
      )
    ).data!.case;
  await waitUntil(async () => (await view()).status === 'RESOLVED', Date.now() + 120_000);
  await t.settle();
  const after = await view();
  // It waited for Exstream (REQUESTED), then was generated: one document, delivered.
  expect(await requestedEvents()).toBeGreaterThan(requestedBefore);
  expect(after.documents).toEqual([{ status: 'GENERATED', deliveries: [{ status: 'DELIVERED' }] }]);
  const actions = after.history.map((h) => h.action);
  expect(actions.filter((a) => a === 'DOCUMENT_GENERATED')).toHaveLength(1);
  expect(actions).not.toContain('GENERATION_FAILED');
}, 240_000);
