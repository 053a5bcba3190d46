import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config/index.js';
import { openStore, type Store } from '../../src/store/db.js';
import { upkeepOnce } from '../../src/store/upkeep.js';
import { registry } from '../../src/telemetry/metrics.js';

/**
 * PGlite has no autovacuum: without the store's own upkeep, rows that updates and deletes leave
 * behind would stay for ever and the planner's statistics would never be refreshed.
 */
interface TableStats {
  n_live_tup: string;
  n_dead_tup: string;
  last_vacuum: Date | null;
  last_analyze: Date | null;
}

async function statsOf(db: Kysely<unknown>, table: string): Promise<TableStats | undefined> {
  const { rows } = await sql<TableStats>`
    select n_live_tup, n_dead_tup, last_vacuum, last_analyze
      from pg_stat_user_tables where schemaname = 'public' and relname = ${table}`.execute(db);
  return rows[0];
}

/** PostgreSQL publishes a backend's table counters at most once a second: ask until they show. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * 100 rows in, 60 deleted: 60 dead rows, past the 50 a never-vacuumed table's VACUUM waits for, and
 * 160 changes, past the 50 its ANALYZE waits for. Deletes on a half-empty page, so PostgreSQL's
 * opportunistic pruning (which would remove some dead rows by itself) does not run.
 */
async function churn(db: Kysely<unknown>, table: string): Promise<void> {
  await sql`insert into ${sql.table(table)} (id, n) select g, 0 from generate_series(1, 100) g`.execute(db);
  await sql`delete from ${sql.table(table)} where id <= 60`.execute(db);
}

describe('the embedded store keeps its tables vacuumed and analyzed (PGlite)', () => {
  let dataDir: string;
  let store: Store;
  let db: Kysely<unknown>;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-upkeep-'));
    store = await openStore(loadConfig({ DATA_DIR: dataDir, STORE_UPKEEP_INTERVAL_MS: '200' }));
    db = store.db as unknown as Kysely<unknown>;
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('rows left by deletes are reclaimed and statistics refreshed, with no one running VACUUM', async () => {
    await sql`create table churned (id int primary key, n int not null)`.execute(db);
    await churn(db, 'churned');
    const vacuumed = await until(
      () => statsOf(db, 'churned'),
      (s) => s !== undefined && s.last_vacuum !== null && s.last_analyze !== null,
      'a VACUUM and an ANALYZE of the churned table',
    );
    expect(Number(vacuumed!.n_live_tup)).toBe(40);
    const after = await until(
      () => statsOf(db, 'churned'),
      (s) => s !== undefined && Number(s.n_dead_tup) === 0,
      'no dead rows left',
    );
    expect(Number(after!.n_dead_tup)).toBe(0);
    // What it costs shows on /metrics.
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/commsgraph_store_upkeep_seconds_count\{operation="vacuum_analyze"\} [1-9]/);
    expect(metrics).toMatch(/commsgraph_store_xid_age \d+/);
  });

  test('a table with autovacuum_enabled=false is left alone, as PostgreSQL leaves it', async () => {
    await sql`create table left_alone (id int primary key, n int not null) with (autovacuum_enabled = false)`.execute(
      db,
    );
    await sql`create table due (id int primary key, n int not null)`.execute(db);
    await churn(db, 'left_alone');
    await churn(db, 'due');
    // The counters are published within a second; then a pass decides.
    await until(
      () => statsOf(db, 'left_alone'),
      (s) => s !== undefined && Number(s.n_dead_tup) >= 60,
      'the counters of the churned table',
    );
    const done = (await upkeepOnce(store.db)).map((d) => d.table);
    expect(done).not.toContain('public.left_alone');
    const alone = await statsOf(db, 'left_alone');
    expect(alone!.last_vacuum).toBeNull();
    expect(Number(alone!.n_dead_tup)).toBe(60);
    // The scheduled passes may have taken `due` first; either way it is vacuumed.
    await until(
      () => statsOf(db, 'due'),
      (s) => s !== undefined && s.last_vacuum !== null,
      'a VACUUM of the table that is due',
    );
  });
});
