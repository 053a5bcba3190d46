import { sql } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * Flow 5, mandatory notices to segments: compliance launches a notice, it is
 * reviewed and signed off, a batch job on pg-boss generates and delivers it
 * to every customer in the segments on each required channel (failures
 * isolated), progress is queryable and subscribable, and the regulatory
 * report answers in one query and as CSV.
 */
let t: TestGateway;
let svc: string;
let auditor: string;

beforeAll(async () => {
  t = await startTestGateway();
  svc = await t.token('svc', 'service');
  auditor = await t.token('audrey.auditor', 'auditor');
});
afterAll(() => t.stop());

const REPORT = `query ($id: ID!) { case(id: $id) {
  id kind status title
  approvals { stage decision decidedBy decidedAt }
  history { actor action at detail }
  noticeBatch {
    id status segments channels total generated failed delivered deliveryFailed startedAt finishedAt
    counts { channel documentStatus deliveryStatus count }
    openExceptions { kind message }
  }
} }`;
type Report = {
  case: {
    status: string;
    approvals: { stage: string; decision: string; decidedBy: string; decidedAt: string }[];
    history: { actor: string; action: string; detail: Record<string, unknown> }[];
    noticeBatch: {
      id: string;
      status: string;
      segments: string[];
      channels: string[];
      total: number;
      generated: number;
      failed: number;
      delivered: number;
      deliveryFailed: number;
      finishedAt: string | null;
      counts: { channel: string; documentStatus: string; deliveryStatus: string | null; count: number }[];
      openExceptions: { kind: string }[];
    } | null;
  };
};

test('a rate change notice reaches every customer in its segments on each channel, and the report accounts for all', async () => {
  const legal = await t.token('lena.compliance', 'compliance');
  const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'MANDATORY_NOTICE',
        title: 'Savings rate change, May',
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
  const id = started.data!.startCase.id;
  // Nothing goes out before sign-off.
  expect((await t.gql<Report>(REPORT, { id }, auditor)).data!.case.noticeBatch).toBeNull();

  type Progress = {
    status: string;
    total: number;
    generated: number;
    failed: number;
    delivered: number;
    deliveryFailed: number;
    counts: { channel: string; documentStatus: string; deliveryStatus: string | null; count: number }[];
  };
  const PROGRESS = `status total generated failed delivered deliveryFailed counts { channel documentStatus deliveryStatus count }`;
  const after = await t.cursor('noticeBatchProgress');
  const progress = await subscribe<{ noticeBatchProgress: Progress }>(
    t.url,
    svc,
    `subscription ($caseId: ID, $after: ID) { noticeBatchProgress(caseId: $caseId, after: $after) { ${PROGRESS} } }`,
    { caseId: id, after },
  );
  const deciders = [
    await t.token('rob.reviewer', 'reviewer'),
    await t.token('ann.approver', 'approver'),
    await t.token('carl.compliance', 'compliance'),
  ];
  for (const [i, a] of started.data!.startCase.approvals.entries()) {
    const r = await t.gql(
      `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
      { input: { approvalId: a.id, decision: 'APPROVED' } },
      deciders[i],
    );
    expect(r.errors).toBeUndefined();
  }
  // Generation on pg-boss, every delivery, and the outcome recorded on the case.
  await t.settle();

  // Progress flowed until the deliveries settled: every event of the batch arrived, the
  // last one COMPLETED with what the report shows, and nothing came after it.
  const ids = await t.eventIds('noticeBatchProgress', after, { caseId: id });
  const events = (await progress.waitFor((r) => r.length >= ids.length, 60_000)).map(
    (e) => e.noticeBatchProgress,
  );
  await progress.close();
  expect(events).toHaveLength(ids.length);
  expect(events.slice(0, -1).every((e) => e.status === 'RUNNING')).toBe(true);
  // savings (12) ∪ premium (10) share 3 customers: 19 customers × 2 channels.
  expect(events.at(-1)).toEqual({
    status: 'COMPLETED',
    total: 38,
    generated: 38,
    failed: 0,
    delivered: 30,
    deliveryFailed: 8,
    counts: [
      { channel: 'EMAIL', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 19 },
      { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 11 },
      { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'FAILED', count: 8 },
    ],
  });
  const { case: reported } = (
    await t.gql<{ case: { noticeBatch: Progress } }>(
      `query ($id: ID!) { case(id: $id) { noticeBatch { ${PROGRESS} } } }`,
      { id },
      auditor,
    )
  ).data!;
  expect(events.at(-1)).toEqual(reported.noticeBatch);

  const report = (await t.gql<Report>(REPORT, { id }, auditor)).data!.case;
  expect(report.status).toBe('RESOLVED');
  const b = report.noticeBatch!;
  expect(b).toMatchObject({
    status: 'COMPLETED',
    segments: ['savings', 'premium'],
    channels: ['EMAIL', 'MOBILE'],
    total: 38,
    generated: 38,
    failed: 0,
  });
  // Eight of these customers have no mobile number: their SMS fails, isolated, each with an exception.
  expect(b.deliveryFailed).toBe(8);
  expect(b.delivered).toBe(30);
  expect(b.openExceptions).toHaveLength(8);
  expect(b.openExceptions.every((e) => e.kind === 'DELIVERY_FAILURE')).toBe(true);
  expect(b.counts).toEqual([
    { channel: 'EMAIL', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 19 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 11 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'FAILED', count: 8 },
  ]);
  expect(report.approvals.map((a) => [a.stage, a.decidedBy])).toEqual([
    ['REVIEW', 'rob.reviewer'],
    ['APPROVAL', 'ann.approver'],
    ['COMPLIANCE', 'carl.compliance'],
  ]);
  const actions = report.history.map((h) => h.action);
  expect(actions).toEqual(
    expect.arrayContaining(['CASE_STARTED', 'STATUS_APPROVED', 'NOTICE_LAUNCHED', 'NOTICE_SENT']),
  );
  expect(report.history.find((h) => h.action === 'NOTICE_SENT')!.detail).toMatchObject({
    total: 38,
    generated: 38,
    failed: 0,
  });

  // Exactly once: one document per customer and channel, however often the launch runs again.
  await t.gateway.subgraphs!.communications.batches.launch({
    caseId: id,
    templateVersionId: 'tpl_rate_change_notice_v1',
    segments: ['savings', 'premium'],
    channels: ['EMAIL', 'MOBILE'],
    data: {},
    requestedBy: 'lena.compliance',
  });
  await t.settle();
  const { rows } = await sql<{ n: string; distinct_pairs: string }>`
    select count(*)::text as n, count(distinct (customer_id, channel))::text as distinct_pairs
    from communications.documents where batch_id = ${b.id}`.execute(t.gateway.store!.db);
  expect(rows[0]).toEqual({ n: '38', distinct_pairs: '38' });

  // The same report as CSV, for the regulator's file.
  const csv = await fetch(t.url.replace('/graphql', `/reports/notices/${id}.csv`), {
    headers: { authorization: `Bearer ${auditor}` },
  });
  expect(csv.status).toBe(200);
  expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
  const text = await csv.text();
  expect(text).toContain('section,key,value');
  expect(text).toMatch(/approval,COMPLIANCE,carl\.compliance,/);
  expect(text).toContain('segments,savings;premium');
  expect(text).toContain('totals,customers,19');
  expect(text).toContain('count,MOBILE/GENERATED/FAILED,8');
  expect(text).toMatch(/open_exceptions,DELIVERY_FAILURE,8/);
  expect((await fetch(t.url.replace('/graphql', `/reports/notices/${id}.csv`))).status).toBe(401);
});

test('a notice needs segments and channels the template supports, and the compliance role', async () => {
  const legal = await t.token('lena.compliance', 'compliance');
  const start = (data: Record<string, unknown>, token = legal, templateId = 'tpl_rate_change_notice') =>
    t.gql(
      `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
      { input: { kind: 'MANDATORY_NOTICE', title: 'x', templateId, data } },
      token,
    );
  expect((await start({ channels: ['EMAIL'] })).errors?.[0]?.extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'input.data.segments',
  });
  expect((await start({ segments: ['savings'], channels: ['FAX'] })).errors?.[0]?.extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'input.data.channels',
  });
  expect((await start({ segments: ['savings'], channels: ['WEB'] })).errors?.[0]?.extensions?.code).toBe(
    'BAD_USER_INPUT',
  );
  expect(
    (await start({ segments: ['savings'], channels: ['EMAIL'] }, legal, 'tpl_claim_letter')).errors?.[0]
      ?.extensions?.code,
  ).toBe('BAD_USER_INPUT');
  const requester = await t.token('rita', 'requester');
  expect(
    (await start({ segments: ['savings'], channels: ['EMAIL'] }, requester)).errors?.[0]?.extensions?.code,
  ).toBe('FORBIDDEN');
});
