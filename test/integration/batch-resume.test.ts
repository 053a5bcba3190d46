import fs from 'node:fs';
import { sql } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { freshDataDir, startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * High-volume generation: a batch stopped half-way resumes on the next start
 * from its queued jobs and generates no document twice. The first process
 * runs no queue workers; a third of the records are generated as a worker
 * that died before marking its jobs done would have left them. After a
 * restart with workers, every queued job runs (those included) and the end
 * result is exactly one document per customer and channel.
 */
let dataDir: string;
let t: TestGateway | null = null;

afterAll(async () => {
  await t?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a batch interrupted by a shutdown resumes after a restart without generating anything twice', async () => {
  dataDir = await freshDataDir();
  t = await startTestGateway({ DATA_DIR: dataDir, RUN_WORKERS: 'false' });
  const legal = await t.token('lena.compliance', 'compliance');
  const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'MANDATORY_NOTICE',
        title: 'Privacy notice to everyone',
        templateId: 'tpl_privacy_disclosure',
        data: {
          segments: ['uk-resident', 'eu-resident'],
          channels: ['PRINT', 'EMAIL'],
          ...SEED_TEMPLATES.find((x) => x.id === 'tpl_privacy_disclosure')!.sampleData,
        },
      },
    },
    legal,
  );
  const caseId = started.data!.startCase.id;
  const deciders = [
    await t.token('r', 'reviewer'),
    await t.token('a', 'approver'),
    await t.token('c', 'compliance'),
  ];
  for (const [i, a] of started.data!.startCase.approvals.entries()) {
    await t.gql(
      `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
      { input: { approvalId: a.id, decision: 'APPROVED' } },
      deciders[i],
    );
  }
  const count = async (gw: TestGateway) => {
    const { rows } = await sql<{ n: string; pairs: string }>`
      select count(*)::text as n, count(distinct (d.customer_id, d.channel))::text as pairs
      from communications.documents d join communications.notice_batches b on b.id = d.batch_id
      where b.case_id = ${caseId}`.execute(gw.gateway.store!.db);
    return { n: Number(rows[0]!.n), pairs: Number(rows[0]!.pairs) };
  };
  // The launch queued 60 customers × 2 channels; generate 40 of them outside the queue.
  await t.settle();
  const { rows: batches } = await sql<{
    id: string;
  }>`select id from communications.notice_batches where case_id = ${caseId}`.execute(t.gateway.store!.db);
  const batchId = batches[0]!.id;
  const { rows: queued } = await sql<{ data: { customerId: string; channel: string } }>`
    select data from pgboss.job where name = 'notice-record' and data->>'batchId' = ${batchId} order by data->>'customerId', data->>'channel'`.execute(
    t.gateway.store!.db,
  );
  expect(queued).toHaveLength(120);
  for (const { data } of queued.slice(0, 40)) {
    await t.gateway.subgraphs!.communications.batches.processRecord({
      batchId,
      customerId: data.customerId,
      channel: data.channel,
    });
  }
  expect((await count(t)).n).toBe(40);
  await t.stop();
  t = null;

  const reopened = await startTestGateway({ DATA_DIR: dataDir, WORKER_CONCURRENCY: '2' });
  t = reopened;
  // The reopened gateway's workers take the 80 records left on the queue; settle waits for them.
  await reopened.settle();
  expect(await count(reopened)).toEqual({ n: 120, pairs: 120 });
  const report = await reopened.gql<{
    case: { status: string; noticeBatch: { status: string; generated: number; total: number } };
  }>(
    `query ($id: ID!) { case(id: $id) { status noticeBatch { status generated total } } }`,
    { id: caseId },
    await reopened.token('aud', 'auditor'),
  );
  expect(report.data!.case.noticeBatch).toEqual({ status: 'COMPLETED', generated: 120, total: 120 });
  // Two starts and 120 records generated and delivered: more than the default minute on a busy machine.
}, 180_000);
