import { createHash } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { CASE_TRAIL } from '../../../src/datasources/workflow/trail.js';
import { migrations } from '../../../src/store/migrations/index.js';
import { verifyTrail, type TrailAnchor, type TrailCheck } from '../../../src/store/trail.js';

/**
 * The hash chain of migration 008 on an embedded database, below the API:
 * existing entries are chained when the migration runs, every later entry is
 * chained by the database whatever the insert says, the canonical text is the
 * documented one (recomputed here in Node), and each kind of tampering is
 * reported at the entry where it shows.
 */
let pglite: PGlite;
let db: Kysely<unknown>;

const upTo = (last: string) => ({
  getMigrations: async () => Object.fromEntries(Object.entries(migrations).filter(([name]) => name <= last)),
});

async function migrateTo(last: string) {
  const { error } = await new Migrator({ db, provider: upTo(last) }).migrateToLatest();
  if (error) throw error;
}

const run = (q: string) => sql.raw(q).execute(db);
const check = () => verifyTrail(db, CASE_TRAIL);

interface Entry {
  id: string;
  seq: string;
  prev_hash: Buffer;
  hash: Buffer;
  case_id: string;
  actor: string;
  action: string;
  at_utc: string;
  detail_text: string | null;
}
async function entries(): Promise<Entry[]> {
  const { rows } = await sql<Entry>`
    select id, seq, prev_hash, hash, case_id, actor, action, detail::text as detail_text,
      to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at_utc
    from workflow.audit_events order by seq`.execute(db);
  return rows;
}

beforeAll(async () => {
  pglite = await PGlite.create();
  db = new Kysely({
    dialect: new PostgresDialect({ pool: new pg.Pool({ ...createPgConfig(pglite), max: 1 }) }),
  });
  await migrateTo('007_notice_batches');
  await run(`insert into workflow.cases (id, kind, status, title, started_by)
    values ('case_a', 'SERVICE', 'OPEN', 'A', 'amy'), ('case_b', 'SERVICE', 'OPEN', 'B', 'ben')`);
  // A trail written before the chain existed, two entries in the same instant.
  await run(`insert into workflow.audit_events (case_id, at, actor, action, detail) values
    ('case_a', '2024-01-02T03:04:05.678Z', 'amy', 'CASE_STARTED', '{"kind": "SERVICE"}'),
    ('case_b', '2024-01-02T03:04:05.678Z', 'ben', 'CASE_STARTED', null),
    ('case_a', '2024-01-03T00:00:00Z', 'amy', 'NOTE_ADDED', '{"note": "café \\"quoted\\""}')`);
  await migrateTo('999');
}, 60_000);
afterAll(async () => {
  await db.destroy();
  await pglite.close();
});

test('entries written before the migration are chained in id order, from the hash of the table name', async () => {
  const rows = await entries();
  expect(rows.map((r) => [r.seq, r.id])).toEqual([
    ['1', '1'],
    ['2', '2'],
    ['3', '3'],
  ]);
  expect(rows[0]!.prev_hash.toString('hex')).toBe(
    createHash('sha256').update('workflow.audit_events').digest('hex'),
  );
  for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toEqual(rows[i - 1]!.hash);
  expect(await check()).toMatchObject({ entries: 3, intact: true, firstBrokenAt: null, reason: null });
});

test('the canonical text is the documented JSON array: anyone can recompute a hash without the database', async () => {
  for (const r of await entries()) {
    // jsonb's text form: ", " between elements; detail as the text of its jsonb value.
    const text = `[${[Number(r.seq), Number(r.id), r.case_id, r.at_utc, r.actor, r.action, r.detail_text]
      .map((v) => JSON.stringify(v))
      .join(', ')}]`;
    const expected = createHash('sha256').update(r.prev_hash).update(text, 'utf8').digest();
    expect(r.hash.toString('hex')).toBe(expected.toString('hex'));
  }
});

test('new entries extend the chain whatever the insert claims, several per statement or transaction', async () => {
  await run(`insert into workflow.audit_events (case_id, actor, action, detail, seq, prev_hash, hash) values
    ('case_a', 'mallory', 'NOTE_ADDED', '{}', 1, '\\x00', '\\x00'),
    ('case_b', 'ben', 'NOTE_ADDED', '{"n": 2}', null, null, null)`);
  await db.transaction().execute(async (tx) => {
    await sql`insert into workflow.audit_events (case_id, actor, action) values ('case_a', 'amy', 'ONE')`.execute(
      tx,
    );
    await sql`insert into workflow.audit_events (case_id, actor, action) values ('case_a', 'amy', 'TWO')`.execute(
      tx,
    );
  });
  const rows = await entries();
  expect(rows.map((r) => [r.seq, r.action])).toEqual([
    ['1', 'CASE_STARTED'],
    ['2', 'CASE_STARTED'],
    ['3', 'NOTE_ADDED'],
    ['4', 'NOTE_ADDED'],
    ['5', 'NOTE_ADDED'],
    ['6', 'ONE'],
    ['7', 'TWO'],
  ]);
  const c = await check();
  expect(c).toMatchObject({ entries: 7, intact: true });
  expect(c.headHash).toBe(rows[6]!.hash.toString('hex'));
});

test('UPDATE, DELETE and TRUNCATE are refused by the database', async () => {
  for (const q of [
    `update workflow.audit_events set actor = 'someone else' where seq = 2`,
    `delete from workflow.audit_events where seq = 2`,
    `truncate workflow.audit_events`,
  ]) {
    await expect(run(q)).rejects.toThrow(
      /workflow\.audit_events is append-only: (UPDATE|DELETE|TRUNCATE) refused/,
    );
  }
  // Nor may a transaction touch its own entry before commit, while the entry is not yet chained.
  await expect(
    db.transaction().execute(async (tx) => {
      await sql`insert into workflow.audit_events (case_id, actor, action) values ('case_a', 'amy', 'OOPS')`.execute(
        tx,
      );
      await sql`update workflow.audit_events set action = 'FINE' where action = 'OOPS'`.execute(tx);
    }),
  ).rejects.toThrow(/append-only: UPDATE refused/);
  expect(await check()).toMatchObject({ entries: 7, intact: true });
});

const ROLLBACK = new Error('rollback');

/**
 * Tampering as a superuser would (the table's triggers off, then on again),
 * checked in the same transaction, which is then rolled back: every test
 * starts from the intact trail.
 */
async function afterTampering(statements: string[], anchor?: TrailAnchor): Promise<TrailCheck> {
  let result: TrailCheck | undefined;
  await db
    .transaction()
    .execute(async (tx) => {
      await sql`alter table workflow.audit_events disable trigger user`.execute(tx);
      for (const q of statements) await sql.raw(q).execute(tx);
      await sql`alter table workflow.audit_events enable trigger user`.execute(tx);
      result = await verifyTrail(tx, CASE_TRAIL, anchor);
      throw ROLLBACK;
    })
    .catch((e: unknown) => {
      if (e !== ROLLBACK) throw e;
    });
  return result!;
}

test('each kind of tampering is reported at the first entry where it shows', async () => {
  const altered = await afterTampering([
    `update workflow.audit_events set detail = '{"note": "nothing happened"}' where seq = 3`,
  ]);
  expect(altered).toMatchObject({
    entries: 7,
    intact: false,
    firstBrokenAt: 3,
    firstBrokenEntryId: '3',
    reason: 'ALTERED',
  });

  // The entry after a removed one no longer links to its predecessor.
  const removed = await afterTampering([`delete from workflow.audit_events where seq = 3`]);
  expect(removed).toMatchObject({
    entries: 6,
    intact: false,
    firstBrokenAt: 3,
    firstBrokenEntryId: '4',
    reason: 'LINK_BROKEN',
  });

  // A forged entry slipped in at position 3, itself well formed: its successor gives it away.
  const forged = await afterTampering([
    `update workflow.audit_events set seq = -seq - 1 where seq >= 3`,
    `update workflow.audit_events set seq = -seq where seq < 0`,
    `insert into workflow.audit_events (id, case_id, at, actor, action, detail, seq, prev_hash, hash)
       select 100, 'case_b', '2024-01-02T12:00:00Z', 'ben', 'APPROVED', null, 3, p.hash,
         sha256(p.hash || convert_to(workflow.audit_events_entry_text(
           row(100, 'case_b', '2024-01-02T12:00:00Z', 'ben', 'APPROVED', null, null, null, null)::workflow.audit_events, 3), 'UTF8'))
       from workflow.audit_events p where p.seq = 2`,
  ]);
  expect(forged).toMatchObject({
    entries: 8,
    intact: false,
    firstBrokenAt: 4,
    firstBrokenEntryId: '3',
    reason: 'LINK_BROKEN',
  });

  const unchained = await afterTampering([
    `insert into workflow.audit_events (case_id, actor, action) values ('case_a', 'mallory', 'BACKDATED')`,
  ]);
  expect(unchained).toMatchObject({ entries: 8, intact: false, firstBrokenAt: 8, reason: 'UNCHAINED' });
});

test('a rewrite of the whole chain or a removed last entry passes the chain alone; a recorded head catches it', async () => {
  const before = await check();
  const anchor = { entries: before.entries, hash: before.headHash! };
  expect((await verifyTrail(db, CASE_TRAIL, anchor)).anchorMatches).toBe(true);

  const truncated = await afterTampering([`delete from workflow.audit_events where seq = 7`], anchor);
  expect(truncated).toMatchObject({ entries: 6, intact: true, anchorMatches: false });

  const rewritten = await afterTampering(
    [
      `update workflow.audit_events set detail = '{"note": "nothing happened"}' where seq = 3`,
      `do $$ declare r workflow.audit_events; begin
         for r in select * from workflow.audit_events where seq >= 3 order by seq loop
           update workflow.audit_events e set
             prev_hash = p.hash,
             hash = sha256(p.hash || convert_to(workflow.audit_events_entry_text(r, r.seq), 'UTF8'))
           from workflow.audit_events p where p.seq = r.seq - 1 and e.id = r.id;
         end loop;
       end $$`,
    ],
    anchor,
  );
  expect(rewritten).toMatchObject({ entries: 7, intact: true, anchorMatches: false });
  expect(rewritten.headHash).not.toBe(anchor.hash);
});
