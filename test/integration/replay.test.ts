import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type StreamField, type TestGateway } from '../support/harness.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';
import { subscribe } from '../support/ws.js';

/**
 * A replayed event shows the state at that event: a subscriber resuming
 * `after` an eventId receives, event by event, exactly the payloads a live
 * subscriber received (a case AWAITING_APPROVAL, then APPROVED, ...; a batch
 * RUNNING with its counts of then), not every event showing the entity as
 * it is now. Selections hold only fields the streaming subgraph owns: fields
 * of other subgraphs are resolved when an event is delivered, by design.
 * On the embedded store and on PostgreSQL.
 */
const CASE = `eventId id status title assignedTeam assignee resolution updatedAt
  approvals { stage decision decidedBy decidedAt comment task { status assignee completedAt } }
  tasks { kind role team status assignee completedAt }
  milestones { milestone } deadlines { kind state } history { actor action }`;
const DELIVERY = `eventId delivery { id channel status attempts lastError }
  document { id status contentHash contentUrl deliveries { id status attempts } exceptions { kind status } }`;
const BATCH = `eventId id status total customers generated failed delivered deliveryFailed finishedAt
  counts { channel documentStatus deliveryStatus count } openExceptions { kind status message }`;
const EXCEPTION = `eventId id kind status message resolution
  document { status deliveries { status } } delivery { status attempts lastError }`;

const SELECTIONS: Record<
  Exclude<StreamField, 'deadlineAlerted' | 'templateUpdated' | 'heldJobUpdated'>,
  string
> = {
  caseUpdated: CASE,
  deliveryStatusChanged: DELIVERY,
  noticeBatchProgress: BATCH,
  generationExceptionRaised: EXCEPTION,
};
type Field = keyof typeof SELECTIONS;
type Payload = Record<string, { eventId: string } & Record<string, unknown>>;

const query = (field: Field, filter?: string) =>
  `subscription ($after: ID${filter ? `, $${filter}: ID` : ''}) {
    ${field}(after: $after${filter ? `, ${filter}: $${filter}` : ''}) { ${SELECTIONS[field]} } }`;

const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const STORES: Array<[string, boolean]> = [
  ['the embedded store', true],
  ['PostgreSQL', pgUrl !== null],
];

describe.each(STORES)('on %s', (_name, available) => {
  const maybe = available ? test : test.skip;
  let t: TestGateway;
  let fixture: PostgresFixture | null = null;
  let dataDir = '';
  let svc: string;

  beforeAll(async () => {
    if (!available) return;
    if (_name === 'PostgreSQL') {
      fixture = await freshDatabase(pgUrl!);
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-replay-'));
      t = await startTestGateway({ DATA_DIR: dataDir, DATABASE_URL: fixture.url });
    } else t = await startTestGateway();
    // Every field, personal data included, so nothing in the selections is refused.
    svc = await t.token('replay.admin', 'admin');
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
    await fixture?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * Follows `field` live from now; `check` runs once the work is done: by
   * then the live subscriber has every event of the stream since it
   * started, and a replay from the same cursor must give the same payloads.
   */
  async function live(field: Field) {
    const after = await t.cursor(field);
    const sub = await subscribe<Payload>(t.url, svc, query(field), { after });
    return {
      after,
      async all(): Promise<Payload[string][]> {
        const ids = await t.eventIds(field, after);
        const got = await sub.waitFor((r) => r.length >= ids.length, 60_000);
        await sub.close();
        expect(got.map((p) => p[field]!.eventId)).toEqual(ids);
        return got.map((p) => p[field]!);
      },
    };
  }

  async function replay(field: Field, after: string, filter?: [string, string]) {
    const vars: Record<string, string> = { after };
    if (filter) vars[filter[0]] = filter[1];
    const ids = await t.eventIds(field, after, filter ? { [filter[0]]: filter[1] } : {});
    const sub = await subscribe<Payload>(t.url, svc, query(field, filter?.[0]), vars);
    const got = await sub.waitFor((r) => r.length >= ids.length, 60_000);
    await sub.close();
    expect(got.map((p) => p[field]!.eventId)).toEqual(ids);
    return got.map((p) => p[field]!);
  }

  async function approveAll(approvals: { id: string }[]) {
    const deciders = [
      await t.token('rob.reviewer', 'reviewer'),
      await t.token('ann.approver', 'approver'),
      await t.token('carl.compliance', 'compliance'),
    ];
    for (const [i, a] of approvals.entries()) {
      const r = await t.gql(
        `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
        { input: { approvalId: a.id, decision: 'APPROVED', comment: `stage ${i + 1}` } },
        deciders[i],
      );
      expect(r.errors).toBeUndefined();
    }
  }

  maybe(
    'a case from start to delivery: each replayed caseUpdated and deliveryStatusChanged equals the live one',
    async () => {
      const cases = await live('caseUpdated');
      const deliveries = await live('deliveryStatusChanged');
      const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
        `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
        {
          input: {
            kind: 'REGULATED_DOCUMENT',
            title: 'Replay me',
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
      const ops = await t.token('olga.ops', 'operations');
      const assigned = await t.gql(
        `mutation { assignCase(input: { caseId: "${caseId}", assignee: "olga.ops" }) { id } }`,
        {},
        ops,
      );
      expect(assigned.errors).toBeUndefined();
      await approveAll(started.data!.startCase.approvals);
      await t.settle();

      const liveCases = await cases.all();
      const mine = liveCases.filter((c) => c.id === caseId);
      // The case moved: a replay showing only its final state would fail below.
      expect(new Set(mine.map((c) => c.status)).size).toBeGreaterThan(2);
      expect(mine.at(-1)!.status).toBe('RESOLVED');
      expect(await replay('caseUpdated', cases.after)).toEqual(liveCases);
      expect(await replay('caseUpdated', '0', ['caseId', caseId])).toEqual(mine);

      const liveDeliveries = await deliveries.all();
      expect(liveDeliveries.map((d) => (d.delivery as { status: string }).status)).toEqual([
        'PENDING',
        'SENT',
        'DELIVERED',
      ]);
      expect(await replay('deliveryStatusChanged', deliveries.after)).toEqual(liveDeliveries);
    },
    120_000,
  );

  maybe(
    'a notice batch: each replayed progress and exception event equals the live one, and the last is the report',
    async () => {
      const progress = await live('noticeBatchProgress');
      const exceptions = await live('generationExceptionRaised');
      const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
        `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
        {
          input: {
            kind: 'MANDATORY_NOTICE',
            title: 'Replayed rate change',
            templateId: 'tpl_rate_change_notice',
            data: {
              segments: ['savings'],
              channels: ['EMAIL', 'MOBILE'],
              ...SEED_TEMPLATES.find((x) => x.id === 'tpl_rate_change_notice')!.sampleData,
            },
          },
        },
        await t.token('lena.compliance', 'compliance'),
      );
      expect(started.errors).toBeUndefined();
      const caseId = started.data!.startCase.id;
      await approveAll(started.data!.startCase.approvals);
      await t.settle();

      const liveProgress = await progress.all();
      expect(liveProgress.at(0)!.status).toBe('RUNNING');
      expect(liveProgress.at(-1)!.status).toBe('COMPLETED');
      expect(await replay('noticeBatchProgress', progress.after)).toEqual(liveProgress);
      expect(await replay('noticeBatchProgress', '0', ['caseId', caseId])).toEqual(liveProgress);

      const liveExceptions = await exceptions.all();
      expect(liveExceptions.length).toBeGreaterThan(0);
      expect(await replay('generationExceptionRaised', exceptions.after)).toEqual(liveExceptions);

      // The last progress event is what the report shows once everything settled.
      const report = await t.gql<{ case: { noticeBatch: Record<string, unknown> } }>(
        `query ($id: ID!) { case(id: $id) { noticeBatch { ${BATCH.replace('eventId ', '')} } } }`,
        { id: caseId },
        svc,
      );
      expect(report.errors).toBeUndefined();
      const { eventId: _eventId, ...last } = liveProgress.at(-1)!;
      expect(last).toEqual(report.data!.case.noticeBatch);
    },
    180_000,
  );
});
