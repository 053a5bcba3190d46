import { sql } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, waitUntil, type TestGateway } from '../support/harness.js';

/**
 * The event loop never stalls for a batch (issue 9, point 8). On the
 * embedded store every statement runs on the gateway's own thread, and a
 * notice batch's records ran back to back without ever giving the loop a
 * turn: reads, /healthz and timers waited until the batch was generated.
 * What a user sees instead: a read sent while the batch runs is answered
 * while it still runs, showing the batch part-way. No timing is asserted;
 * only which came first, the answer or the batch's end.
 */
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t.stop());

test('a long transaction on the embedded store lets other work run before it commits', async () => {
  expect(t.gateway.store!.kind).toBe('pglite');
  let turns = 0;
  let ticking = true;
  const tick = () => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const { atStart, atEnd } = await t.gateway.store!.db.transaction().execute(async (tx) => {
    const atStart = turns;
    for (let i = 0; i < 1000; i++) await sql`select ${i}::int as i`.execute(tx);
    return { atStart, atEnd: turns };
  });
  ticking = false;
  expect(atEnd).toBeGreaterThan(atStart);
});

test('a read sent while a notice batch runs is answered before the batch is generated', async () => {
  const legal = await t.token('lena.compliance', 'compliance');
  const auditor = await t.token('audrey.auditor', 'auditor');
  // The demo's 60 customers in these segments, each a one-page PDF letter.
  const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'MANDATORY_NOTICE',
        title: 'Privacy notice by post',
        templateId: 'tpl_privacy_disclosure',
        data: {
          segments: ['uk-resident', 'eu-resident'],
          channels: ['PRINT'],
          ...SEED_TEMPLATES.find((x) => x.id === 'tpl_privacy_disclosure')!.sampleData,
        },
      },
    },
    legal,
  );
  expect(started.errors).toBeUndefined();
  const caseId = started.data!.startCase.id;
  const deciders = [
    await t.token('r', 'reviewer'),
    await t.token('a', 'approver'),
    await t.token('c', 'compliance'),
  ];
  for (const [i, a] of started.data!.startCase.approvals.entries()) {
    const decided = await t.gql(
      `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
      { input: { approvalId: a.id, decision: 'APPROVED' } },
      deciders[i],
    );
    expect(decided.errors).toBeUndefined();
  }

  // Plain reads over HTTP, one after another, until one shows the batch part-way or the
  // batch is generated. Before the fix every answer said "none yet" or "all of them".
  type Batch = { total: number; generated: number; failed: number } | null;
  const answers: Batch[] = [];
  const partWay = (b: Batch) => b !== null && b.generated + b.failed > 0 && b.generated + b.failed < b.total;
  const generated = (b: Batch) => b !== null && b.total > 0 && b.generated + b.failed === b.total;
  await waitUntil(async () => {
    const res = await t.gql<{ case: { noticeBatch: Batch } }>(
      `query ($id: ID!) { case(id: $id) { noticeBatch { total generated failed } } }`,
      { id: caseId },
      auditor,
    );
    expect(res.errors).toBeUndefined();
    const batch = res.data!.case.noticeBatch;
    answers.push(batch);
    return partWay(batch) || generated(batch);
  }, Date.now() + 300_000);
  expect(answers.at(-1)?.total).toBe(60);
  expect(answers.some(partWay)).toBe(true);

  // And the batch still ends with every letter, once.
  await t.settle();
  const { rows } = await sql<{ n: string; pairs: string }>`
    select count(*)::text as n, count(distinct d.customer_id)::text as pairs
    from communications.documents d join communications.notice_batches b on b.id = d.batch_id
    where b.case_id = ${caseId}`.execute(t.gateway.store!.db);
  expect(rows[0]).toEqual({ n: '60', pairs: '60' });
}, 400_000);
