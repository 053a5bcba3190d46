import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';

/**
 * The tamper-evident trails on a real PostgreSQL, where appends really are
 * concurrent: transactions on two pools appending at once still make one
 * chain; an append takes the chain's lock only while committing, so it cannot
 * deadlock with a transaction that holds a case; the guards hold; and an
 * application role with only INSERT and SELECT can append but neither change
 * nor switch off the guards.
 */
const url = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const withPostgres = url ? describe : describe.skip;
let fixture: PostgresFixture | null = null;
let t: TestGateway;
let dataDir = '';
let auditor: string;
const pools: pg.Pool[] = [];
const role = `trail_writer_${randomBytes(4).toString('hex')}`;

interface Check {
  entries: number;
  intact: boolean;
  firstBrokenAt: number | null;
  firstBrokenEntryId: string | null;
  reason: string | null;
}

async function integrity(field: 'caseTrailIntegrity' | 'templateTrailIntegrity'): Promise<Check> {
  const r = await t.gql<Record<string, Check>>(
    `{ ${field} { entries intact firstBrokenAt firstBrokenEntryId reason } }`,
    {},
    auditor,
  );
  expect(r.errors).toBeUndefined();
  return r.data![field]!;
}

const pool = (connectionString = fixture!.url) => {
  const p = new pg.Pool({ connectionString, max: 5 });
  // An idle connection the teardown's `drop database ... with (force)` ends is expected then; a
  // pool without a listener would turn it into an unhandled 'error' and fail the whole file.
  p.on('error', () => undefined);
  pools.push(p);
  return p;
};

async function inTransaction(p: pg.Pool, work: (c: pg.PoolClient) => Promise<void>): Promise<void> {
  const c = await p.connect();
  try {
    await c.query('begin');
    await work(c);
    await c.query('commit');
  } catch (e) {
    await c.query('rollback');
    throw e;
  } finally {
    c.release();
  }
}

/** Until the backend waits for a lock (a condition, not a duration: the order of the steps depends on it). */
async function waitedOnLock(p: pg.Pool, pid: number): Promise<void> {
  for (;;) {
    const { rows } = await p.query<{ waiting: boolean }>(
      `select wait_event_type = 'Lock' as waiting from pg_stat_activity where pid = $1`,
      [pid],
    );
    if (rows[0]?.waiting) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

withPostgres('audit trails on PostgreSQL', () => {
  let caseId: string;
  let templateId: string;

  beforeAll(async () => {
    fixture = await freshDatabase(url!);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-pg-trail-'));
    t = await startTestGateway({ DATA_DIR: dataDir, DATABASE_URL: fixture.url });
    auditor = await t.token('audrey.auditor', 'auditor');
    const admin = pool();
    caseId = (await admin.query<{ id: string }>('select id from workflow.cases order by id limit 1')).rows[0]!
      .id;
    templateId = (
      await admin.query<{ id: string }>('select id from communications.templates order by id limit 1')
    ).rows[0]!.id;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await t?.stop();
    await fixture?.drop();
    if (url) {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('the first start on PostgreSQL chains its demo data; the check runs over the API', async () => {
    expect(t.gateway.store!.kind).toBe('postgres');
    const c = await integrity('caseTrailIntegrity');
    expect(c).toMatchObject({ intact: true, firstBrokenAt: null });
    expect(c.entries).toBeGreaterThan(0);
    expect(await integrity('templateTrailIntegrity')).toMatchObject({ intact: true });
  });

  test('transactions on two pools appending at once make one chain, not a fork', async () => {
    const before = await integrity('caseTrailIntegrity');
    const [a, b] = [pool(), pool()];
    const N = 40;
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        inTransaction(i % 2 ? a : b, async (c) => {
          // Two entries per transaction, with other transactions committing in between.
          await c.query(
            `insert into workflow.audit_events (case_id, actor, action, detail) values ($1, $2, 'CONCURRENT', $3)`,
            [caseId, `writer.${i}`, JSON.stringify({ i, part: 1 })],
          );
          await c.query('select pg_sleep(random() * 0.02)');
          await c.query(
            `insert into workflow.audit_events (case_id, actor, action, detail) values ($1, $2, 'CONCURRENT', $3)`,
            [caseId, `writer.${i}`, JSON.stringify({ i, part: 2 })],
          );
        }),
      ),
    );
    expect(await integrity('caseTrailIntegrity')).toMatchObject({
      intact: true,
      entries: before.entries + 2 * N,
    });
    // One position per entry, none shared, none skipped.
    const { rows } = await a.query<{ n: string; distinct: string; max: string }>(
      `select count(*) as n, count(distinct seq) as distinct, max(seq) as max from workflow.audit_events`,
    );
    expect(rows[0]).toEqual({ n: String(before.entries + 2 * N), distinct: rows[0]!.n, max: rows[0]!.n });
  });

  test('an append takes the chain lock only while committing, so it cannot deadlock with a transaction holding the case', async () => {
    const before = await integrity('caseTrailIntegrity');
    const [a, b] = [pool(), pool()];
    const holder = await a.connect();
    const other = await b.connect();
    try {
      // As addCaseNote: the case locked, then a trail entry.
      await holder.query('begin');
      await holder.query('select id from workflow.cases where id = $1 for update', [caseId]);
      // Meanwhile another transaction appends to that case: its foreign key check waits for the holder.
      // Had the insert taken the chain lock first (a BEFORE INSERT trigger), the holder's own
      // append below would wait for it in turn: a deadlock.
      await other.query('begin');
      const otherPid = (await other.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const waiting = other.query(
        `insert into workflow.audit_events (case_id, actor, action) values ($1, 'system', 'WAITED')`,
        [caseId],
      );
      await waitedOnLock(a, otherPid);
      await holder.query(
        `insert into workflow.audit_events (case_id, actor, action) values ($1, 'amy', 'HELD')`,
        [caseId],
      );
      await holder.query('commit');
      await waiting;
      await other.query('commit');
    } finally {
      holder.release();
      other.release();
    }
    expect(await integrity('caseTrailIntegrity')).toMatchObject({
      intact: true,
      entries: before.entries + 2,
    });
    // Chain order is commit order.
    const { rows } = await a.query<{ action: string }>(
      `select action from workflow.audit_events where action in ('HELD', 'WAITED') order by seq`,
    );
    expect(rows.map((r) => r.action)).toEqual(['HELD', 'WAITED']);
  });

  test('UPDATE and DELETE are refused; a superuser rewriting an entry behind the guards is caught', async () => {
    const admin = pool();
    // A first start writes no template trail; two entries, the first of which is then rewritten.
    await admin.query(
      `insert into communications.template_audit (template_id, actor, action, detail)
       values ($1, 'tina.author', 'CREATED', '{}'), ($1, 'ann.approver', 'APPROVED', '{"stage": "APPROVAL"}')`,
      [templateId],
    );
    const { rows } = await admin.query<{ id: string; seq: string }>(
      `select id, seq from communications.template_audit where template_id = $1 order by seq limit 1`,
      [templateId],
    );
    const entry = rows[0]!;
    await expect(
      admin.query(`update communications.template_audit set actor = 'x' where id = $1`, [entry.id]),
    ).rejects.toThrow(/communications\.template_audit is append-only: UPDATE refused/);
    await expect(
      admin.query(`delete from communications.template_audit where id = $1`, [entry.id]),
    ).rejects.toThrow(/append-only: DELETE refused/);
    await inTransaction(admin, async (c) => {
      await c.query('alter table communications.template_audit disable trigger user');
      await c.query(`update communications.template_audit set actor = 'someone.else' where id = $1`, [
        entry.id,
      ]);
      await c.query('alter table communications.template_audit enable trigger user');
    });
    expect(await integrity('templateTrailIntegrity')).toMatchObject({
      intact: false,
      firstBrokenAt: Number(entry.seq),
      firstBrokenEntryId: entry.id,
      reason: 'ALTERED',
    });
  });

  test('a role with only INSERT and SELECT appends to the chain, and can neither change entries nor switch off the guards', async () => {
    const admin = pool();
    await admin.query(`create role ${role} login`);
    await admin.query(`grant usage on schema workflow to ${role}`);
    await admin.query(`grant select, insert on workflow.audit_events to ${role}`);
    await admin.query(`grant usage on sequence workflow.audit_events_id_seq to ${role}`);
    const before = await integrity('caseTrailIntegrity');
    const asWriter = new URL(fixture!.url);
    asWriter.username = role;
    const writer = pool(asWriter.toString());
    await writer.query(
      `insert into workflow.audit_events (case_id, actor, action) values ($1, 'app', 'LEAST_PRIVILEGE')`,
      [caseId],
    );
    expect(await integrity('caseTrailIntegrity')).toMatchObject({
      intact: true,
      entries: before.entries + 1,
    });
    await expect(
      writer.query(`update workflow.audit_events set actor = 'x' where action = 'LEAST_PRIVILEGE'`),
    ).rejects.toThrow(/permission denied/);
    await expect(writer.query('alter table workflow.audit_events disable trigger user')).rejects.toThrow(
      /must be owner/,
    );
  });
});
