import { sql } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * A notice batch's progress counts (documents by channel, status and latest delivery's status)
 * are kept as counters by the writes themselves (migrations 017 and 020). Here they are compared, after
 * a batch whose deliveries partly failed and after a resend that then went through (a second
 * delivery, which becomes the document's latest), with the batch's documents counted directly.
 */
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t.stop());

type Count = { channel: string; documentStatus: string; deliveryStatus: string | null; count: number };

const PROGRESS = `query ($id: ID!) { case(id: $id) { noticeBatch { id status generated delivered deliveryFailed
  counts { channel documentStatus deliveryStatus count } openExceptions { id kind } } } }`;

test('the counts of a batch follow its documents and their latest deliveries, resends included', async () => {
  const legal = await t.token('lena.compliance', 'compliance');
  const auditor = await t.token('audrey.auditor', 'auditor');
  const ops = await t.token('olga.ops', 'operations');
  const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'MANDATORY_NOTICE',
        title: 'Savings rate change, counted',
        templateId: 'tpl_rate_change_notice',
        data: {
          segments: ['savings', 'premium'],
          channels: ['EMAIL', 'MOBILE'],
          ...SEED_TEMPLATES.find((x) => x.id === 'tpl_rate_change_notice')!.sampleData,
        },
      },
    },
    legal,
  );
  expect(started.errors).toBeUndefined();
  const caseId = started.data!.startCase.id;
  const deciders = [
    await t.token('rob.reviewer', 'reviewer'),
    await t.token('ann.approver', 'approver'),
    await t.token('carl.compliance', 'compliance'),
  ];
  for (const [i, a] of started.data!.startCase.approvals.entries()) {
    await t.gql(
      `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
      { input: { approvalId: a.id, decision: 'APPROVED' } },
      deciders[i],
    );
  }
  await t.settle();

  // The same counts, from the documents and their latest deliveries as they are.
  const counted = async (batchId: string): Promise<Count[]> => {
    const { rows } = await sql<{
      channel: string;
      document_status: string;
      delivery_status: string | null;
      count: string;
    }>`
      select d.channel, d.status as document_status, l.status as delivery_status, count(*)::text as count
      from communications.documents d
      left join lateral (
        select status from communications.deliveries x where x.document_id = d.id
        order by x.created_at desc, x.id desc limit 1
      ) l on true
      where d.batch_id = ${batchId}
      group by 1, 2, 3 order by 1, 2, 3`.execute(t.gateway.store!.db);
    return rows.map((r) => ({
      channel: r.channel,
      documentStatus: r.document_status,
      deliveryStatus: r.delivery_status,
      count: Number(r.count),
    }));
  };
  type Batch = {
    id: string;
    status: string;
    generated: number;
    delivered: number;
    deliveryFailed: number;
    counts: Count[];
    openExceptions: { id: string; kind: string }[];
  };
  const report = async () =>
    (await t.gql<{ case: { noticeBatch: Batch } }>(PROGRESS, { id: caseId }, auditor)).data!.case.noticeBatch;

  let batch = await report();
  // savings (12) ∪ premium (10) share 3 customers: 19 customers × 2 channels; 8 have no mobile number.
  expect(batch.counts).toEqual([
    { channel: 'EMAIL', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 19 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 11 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'FAILED', count: 8 },
  ]);
  expect(batch.counts).toEqual(await counted(batch.id));

  // One of those customers gives a number; the failed SMS is resent to it and goes through.
  const failed = batch.openExceptions.find((e) => e.kind === 'DELIVERY_FAILURE')!;
  const { rows: owner } = await sql<{ customer_id: string }>`
    select d.customer_id from communications.exceptions e join communications.documents d on d.id = e.document_id
    where e.id = ${failed.id}`.execute(t.gateway.store!.db);
  await sql`update customers.customers set phone = '+353870000001' where id = ${owner[0]!.customer_id}`.execute(
    t.gateway.store!.db,
  );
  const resolved = await t.gql<{ resolveException: { status: string } }>(
    `mutation ($input: ResolveExceptionInput!) { resolveException(input: $input) { status } }`,
    { input: { exceptionId: failed.id, resolution: 'Mobile number collected; resent', regenerate: true } },
    ops,
  );
  expect(resolved.errors).toBeUndefined();
  await t.settle();

  batch = await report();
  expect(batch.counts).toEqual([
    { channel: 'EMAIL', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 19 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 12 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'FAILED', count: 7 },
  ]);
  expect(batch.counts).toEqual(await counted(batch.id));
  expect({ delivered: batch.delivered, deliveryFailed: batch.deliveryFailed }).toEqual({
    delivered: 31,
    deliveryFailed: 7,
  });

  // A document counts by its latest delivery only. Written to the store directly (the delivery
  // worker never moves a delivery that has ended): first a late report on the superseded delivery
  // (the SMS that failed before the resend), which moves nothing; then one statement moving both
  // (migration 020 sums a statement's moves), where only the latest one's move counts.
  const db = t.gateway.store!.db;
  const { rows: both } = await sql<{ id: string }>`
    select x.id from communications.deliveries x join communications.exceptions e on e.document_id = x.document_id
    where e.id = ${failed.id} order by x.created_at, x.id`.execute(db);
  expect(both).toHaveLength(2);
  const [superseded, latest] = [both[0]!.id, both[1]!.id];
  await sql`update communications.deliveries set status = 'DELIVERED' where id = ${superseded}`.execute(db);
  batch = await report();
  expect(batch.counts).toEqual([
    { channel: 'EMAIL', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 19 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 12 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'FAILED', count: 7 },
  ]);
  await sql`update communications.deliveries set status = case when id = ${superseded} then 'SENT' else 'FAILED' end
    where id in (${superseded}, ${latest})`.execute(db);
  batch = await report();
  expect(batch.counts).toEqual([
    { channel: 'EMAIL', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 19 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 11 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'FAILED', count: 8 },
  ]);
  expect(batch.counts).toEqual(await counted(batch.id));
}, 120_000);
