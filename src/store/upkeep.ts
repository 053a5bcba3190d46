import { sql, type Kysely } from 'kysely';
import type { Database } from './tables.js';
import { log } from '../logger.js';
import { observeStoreUpkeep, observeStoreXidAge } from '../telemetry/metrics.js';

/**
 * The embedded store's autovacuum. PGlite runs PostgreSQL without its postmaster, so the
 * autovacuum launcher never starts (`autovacuum` still reads `on`): nothing reclaims the rows that
 * updates and deletes leave behind (pg-boss's jobs, deliveries moving through their states, the
 * batch counters), nothing refreshes the planner's statistics as tables grow, and nothing freezes
 * old rows before the transaction counter wraps around. A long-running embedded gateway would
 * slow down and grow without bound. PostgreSQL (DATABASE_URL) has its own autovacuum and does not
 * get this.
 *
 * Every `intervalMs` this reads each table's activity from the statistics PostgreSQL keeps anyway
 * (pg_stat_all_tables, pg_class) and runs VACUUM and ANALYZE by autovacuum's own rules
 * (`upkeepFor`, with the server's autovacuum settings and each table's storage parameters), one
 * table at a time, so the single connection is free again between tables.
 *
 * The price: PGlite runs on the event loop, so a table's VACUUM holds the loop while it runs. It
 * reads only pages written since the last one (the visibility map), so the cost follows the
 * writes: measured on this project's 2-core box, the first VACUUM of a table holding 10,000
 * documents' parts (870 MB) took 578 ms, a second one with nothing new 1 ms, one after 2,000
 * updates 3 ms. The interval bounds how much piles up between runs; the duration of each is in
 * `commsgraph_store_upkeep_seconds`.
 *
 * What this cannot do: the connection reaches only its own database, so `template1` and
 * `template0` are never vacuumed; their age still grows with every transaction, as in any
 * PostgreSQL, and after about two billion transactions PostgreSQL would need them vacuumed.
 * `commsgraph_store_xid_age` shows the oldest database's age, and a warning is logged once it
 * passes `autovacuum_freeze_max_age`; a store that busy belongs on PostgreSQL (docs/runtime.md).
 */

/** Autovacuum's settings, server-wide or a table's own storage parameters (PostgreSQL 18). */
export interface UpkeepSettings {
  enabled: boolean;
  vacuumThreshold: number;
  vacuumScaleFactor: number;
  vacuumMaxThreshold: number;
  insertThreshold: number;
  insertScaleFactor: number;
  analyzeThreshold: number;
  analyzeScaleFactor: number;
  freezeMaxAge: number;
  multixactFreezeMaxAge: number;
}

/** One table's activity since its last VACUUM and ANALYZE, as PostgreSQL counts it. */
export interface TableActivity {
  schema: string;
  table: string;
  /** pg_class.reltuples: the row estimate of the last VACUUM or ANALYZE; -1 when never. */
  estimatedRows: number;
  deadRows: number;
  insertedSinceVacuum: number;
  modifiedSinceAnalyze: number;
  /** age(relfrozenxid), mxid_age(relminmxid). */
  xidAge: number;
  multixactAge: number;
  /** A TOAST table is vacuumed with its table and never analyzed. */
  toast: boolean;
}

export interface Upkeep {
  vacuum: boolean;
  analyze: boolean;
}

/**
 * Whether a table is due for VACUUM and ANALYZE: PostgreSQL 18's `relation_needs_vacanalyze`
 * (src/backend/postmaster/autovacuum.c), which its documentation describes under "The Autovacuum
 * Daemon". A table past the freeze age is vacuumed even with autovacuum off for it, as PostgreSQL
 * does to prevent wraparound.
 */
export function upkeepFor(t: TableActivity, s: UpkeepSettings): Upkeep {
  const wraparound = t.xidAge > s.freezeMaxAge || t.multixactAge > s.multixactFreezeMaxAge;
  if (!s.enabled) return { vacuum: wraparound, analyze: false };
  const rows = Math.max(t.estimatedRows, 0);
  const vacuumAt = Math.min(s.vacuumThreshold + s.vacuumScaleFactor * rows, s.vacuumMaxThreshold);
  const insertVacuumAt = s.insertThreshold + s.insertScaleFactor * rows;
  const analyzeAt = s.analyzeThreshold + s.analyzeScaleFactor * rows;
  return {
    vacuum:
      wraparound ||
      t.deadRows > vacuumAt ||
      // -1 disables the insert trigger, as in PostgreSQL.
      (s.insertThreshold >= 0 && t.insertedSinceVacuum > insertVacuumAt),
    // pg_statistic is where ANALYZE writes: analyzing it would only make it due again.
    analyze: !t.toast && !isStatistics(t) && t.modifiedSinceAnalyze > analyzeAt,
  };
}

function isStatistics(t: TableActivity): boolean {
  return t.schema === 'pg_catalog' && t.table === 'pg_statistic';
}

/** A table's storage parameters (`autovacuum_enabled=false`, ...) over the server's settings. */
export function tableSettings(server: UpkeepSettings, reloptions: readonly string[] | null): UpkeepSettings {
  const s = { ...server };
  for (const option of reloptions ?? []) {
    const eq = option.indexOf('=');
    if (eq < 0) continue;
    const name = option.slice(0, eq);
    const value = option.slice(eq + 1);
    const n = Number(value);
    switch (name) {
      case 'autovacuum_enabled':
        s.enabled = value !== 'false' && value !== 'off';
        break;
      case 'autovacuum_vacuum_threshold':
        s.vacuumThreshold = n;
        break;
      case 'autovacuum_vacuum_scale_factor':
        s.vacuumScaleFactor = n;
        break;
      case 'autovacuum_vacuum_max_threshold':
        // -1 means "the server's", as for every other autovacuum parameter of a table.
        if (n >= 0) s.vacuumMaxThreshold = n;
        break;
      case 'autovacuum_vacuum_insert_threshold':
        s.insertThreshold = n;
        break;
      case 'autovacuum_vacuum_insert_scale_factor':
        s.insertScaleFactor = n;
        break;
      case 'autovacuum_analyze_threshold':
        s.analyzeThreshold = n;
        break;
      case 'autovacuum_analyze_scale_factor':
        s.analyzeScaleFactor = n;
        break;
      case 'autovacuum_freeze_max_age':
        // A table may only lower it (PostgreSQL ignores a larger one).
        s.freezeMaxAge = Math.min(n, server.freezeMaxAge);
        break;
      case 'autovacuum_multixact_freeze_max_age':
        s.multixactFreezeMaxAge = Math.min(n, server.multixactFreezeMaxAge);
        break;
      default:
        break;
    }
  }
  return s;
}

type AnyDB = Kysely<Database>;

async function serverSettings(db: AnyDB): Promise<UpkeepSettings> {
  const { rows } = await sql<{ name: string; setting: string }>`
    select name, setting from pg_settings where name = any(${[
      'autovacuum_vacuum_threshold',
      'autovacuum_vacuum_scale_factor',
      'autovacuum_vacuum_max_threshold',
      'autovacuum_vacuum_insert_threshold',
      'autovacuum_vacuum_insert_scale_factor',
      'autovacuum_analyze_threshold',
      'autovacuum_analyze_scale_factor',
      'autovacuum_freeze_max_age',
      'autovacuum_multixact_freeze_max_age',
    ]})`.execute(db);
  const setting = new Map(rows.map((r) => [r.name, Number(r.setting)]));
  // PostgreSQL's defaults stand in for a setting an older server lacks (max_threshold is new in 18).
  const get = (name: string, fallback: number) => setting.get(name) ?? fallback;
  return {
    enabled: true,
    vacuumThreshold: get('autovacuum_vacuum_threshold', 50),
    vacuumScaleFactor: get('autovacuum_vacuum_scale_factor', 0.2),
    vacuumMaxThreshold: get('autovacuum_vacuum_max_threshold', 100_000_000),
    insertThreshold: get('autovacuum_vacuum_insert_threshold', 1000),
    insertScaleFactor: get('autovacuum_vacuum_insert_scale_factor', 0.2),
    analyzeThreshold: get('autovacuum_analyze_threshold', 50),
    analyzeScaleFactor: get('autovacuum_analyze_scale_factor', 0.1),
    freezeMaxAge: get('autovacuum_freeze_max_age', 200_000_000),
    multixactFreezeMaxAge: get('autovacuum_multixact_freeze_max_age', 400_000_000),
  };
}

interface ActivityRow {
  schema: string;
  table: string;
  reltuples: number;
  n_dead_tup: string;
  n_ins_since_vacuum: string;
  n_mod_since_analyze: string;
  xid_age: number;
  mxid_age: number;
  toast: boolean;
  reloptions: string[] | null;
  /** A TOAST table's own storage parameters are its table's `toast.` ones. */
  parent_reloptions: string[] | null;
}

async function tableActivity(db: AnyDB): Promise<Array<TableActivity & { reloptions: string[] | null }>> {
  // Ordinary tables and materialized views, the catalogs included (they age like any table), and
  // TOAST tables, which autovacuum considers apart from their table.
  const { rows } = await sql<ActivityRow>`
    select s.schemaname as schema, s.relname as table, c.reltuples,
           s.n_dead_tup, s.n_ins_since_vacuum, s.n_mod_since_analyze,
           age(c.relfrozenxid) as xid_age, mxid_age(c.relminmxid) as mxid_age,
           c.relkind = 't' as toast, c.reloptions, p.reloptions as parent_reloptions
      from pg_stat_all_tables s
      join pg_class c on c.oid = s.relid
      left join pg_class p on c.relkind = 't' and p.reltoastrelid = c.oid
     where c.relkind in ('r', 'm', 't') and c.relpersistence <> 't'`.execute(db);
  return rows.map((r) => ({
    schema: r.schema,
    table: r.table,
    estimatedRows: Number(r.reltuples),
    deadRows: Number(r.n_dead_tup),
    insertedSinceVacuum: Number(r.n_ins_since_vacuum),
    modifiedSinceAnalyze: Number(r.n_mod_since_analyze),
    xidAge: Number(r.xid_age),
    multixactAge: Number(r.mxid_age),
    toast: r.toast,
    reloptions: r.toast
      ? (r.parent_reloptions ?? [])
          .filter((o) => o.startsWith('toast.'))
          .map((o) => o.slice('toast.'.length))
          .concat(r.reloptions ?? [])
      : r.reloptions,
  }));
}

/**
 * One pass: what is due, done table by table, while `goOn()` says so (a shutdown stops between
 * tables rather than after the whole pass). Returns what ran, for logs and tests.
 */
export async function upkeepOnce(
  db: AnyDB,
  goOn: () => boolean = () => true,
): Promise<Array<{ table: string; vacuum: boolean; analyze: boolean; ms: number }>> {
  const server = await serverSettings(db);
  const done: Array<{ table: string; vacuum: boolean; analyze: boolean; ms: number }> = [];
  for (const t of await tableActivity(db)) {
    if (!goOn()) break;
    const due = upkeepFor(t, tableSettings(server, t.reloptions));
    if (!due.vacuum && !due.analyze) continue;
    const target = sql.id(t.schema, t.table);
    const started = performance.now();
    // A table's TOAST table has its own line and its own rule, as under autovacuum, so a table's
    // VACUUM leaves it alone rather than reading it a second time in the same pass.
    const toast = t.toast ? sql`` : sql`process_toast false, `;
    if (due.vacuum && due.analyze) await sql`vacuum (${toast}analyze) ${target}`.execute(db);
    else if (due.vacuum) await sql`vacuum (${toast}analyze false) ${target}`.execute(db);
    else await sql`analyze ${target}`.execute(db);
    const ms = performance.now() - started;
    observeStoreUpkeep(due.vacuum ? (due.analyze ? 'vacuum_analyze' : 'vacuum') : 'analyze', ms / 1000);
    done.push({ table: `${t.schema}.${t.table}`, ...due, ms: Math.round(ms) });
  }
  return done;
}

async function oldestDatabaseAge(db: AnyDB): Promise<{ age: number; freezeMaxAge: number }> {
  const { rows } = await sql<{ age: number; freeze_max_age: string }>`
    select max(age(datfrozenxid)) as age, current_setting('autovacuum_freeze_max_age') as freeze_max_age
      from pg_database`.execute(db);
  const row = rows[0];
  return { age: Number(row?.age ?? 0), freezeMaxAge: Number(row?.freeze_max_age ?? 200_000_000) };
}

export interface StoreUpkeep {
  /** Ends the schedule and waits for a pass under way (shutdown drains). */
  stop(): Promise<void>;
}

/**
 * Runs `upkeepOnce` every `intervalMs` after the previous pass ended, until stopped. A pass that
 * fails (the store closing, a lock) is logged and the next one tries again.
 */
export function scheduleUpkeep(db: AnyDB, intervalMs: number): StoreUpkeep {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let warnedAge = false;
  const pass = async () => {
    try {
      const started = performance.now();
      const done = await upkeepOnce(db, () => !stopped);
      const ms = Math.round(performance.now() - started);
      // A pass holds the event loop table by table; one long enough to be felt is worth a line.
      if (done.length) (ms >= 500 ? log.info : log.debug)('store upkeep', { tables: done, ms });
      if (stopped) return;
      const { age, freezeMaxAge } = await oldestDatabaseAge(db);
      observeStoreXidAge(age);
      if (age > freezeMaxAge && !warnedAge) {
        warnedAge = true;
        log.warn(
          'the embedded store is nearing transaction ID wraparound; move it to PostgreSQL (DATABASE_URL)',
          {
            age,
            freezeMaxAge,
          },
        );
      }
    } catch (err) {
      if (!stopped) log.warn('store upkeep failed; trying again at the next interval', { err });
    }
  };
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass().finally(() => {
        running = undefined;
        next();
      });
    }, intervalMs);
    // Upkeep alone never keeps a process alive.
    timer.unref();
  };
  next();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
