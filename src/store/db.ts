import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { Kysely, PostgresDialect, type LogEvent } from 'kysely';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import type { Config } from '../config/index.js';
import type { Database } from './tables.js';
import { log } from '../logger.js';
import { OutageLog } from './connection-errors.js';
import { PGliteSocket } from './pglite-socket.js';
import { observePool } from '../telemetry/metrics.js';
import { scheduleUpkeep } from './upkeep.js';

/**
 * The store: one pg.Pool, either on a real PostgreSQL (DATABASE_URL) or on an
 * embedded, file-backed PGlite (a pool of one: PGlite is single-connection).
 * Everything above this file speaks plain PostgreSQL through Kysely, so the
 * same code and the same migrations run on both.
 */
export interface Store {
  readonly db: Kysely<Database>;
  readonly pool: pg.Pool;
  readonly kind: 'pglite' | 'postgres';
  /** Statements run so far; benchmarks and N+1 tests read it. */
  readonly stats: { queries: number };
  /** A round trip, for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// pg parses int8 (bigserial ids, counts) as strings by default: event ids
// stay exact as strings; counts are converted where they are read.

export class DataDirLockedError extends Error {
  constructor(dir: string, pid: number) {
    super(`DATA_DIR ${dir} is in use by process ${pid}; stop it or choose another DATA_DIR`);
    this.name = 'DataDirLockedError';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One process per data directory: PGlite's files would be corrupted by two. */
export function acquireLock(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, '.lock');
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && pidAlive(pid)) throw new DataDirLockedError(dir, pid);
      // A stale lock from a process that died without cleaning up.
      fs.rmSync(file, { force: true });
    }
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file);
    } catch {
      /* already gone */
    }
  };
}

/**
 * PGlite's shared_buffers (issue 13, item 4: a restart ready in 3 s). At PostgreSQL's 128MB,
 * the embedded Postgres touches all of it as it boots: opening a store cost about 1.2 s of CPU,
 * against 0.8 s at 32MB (and about 95 MB less memory), on this project's demo store. It is a cache
 * size only: what is written, and when it is durable, does not change. Its cost is in reads of a
 * hot set larger than 32MB, which then come from the OS's file cache: 20,000 random primary-key
 * reads on a 94 MB table took 3.1 s of CPU against 3.0–3.8 s at 128MB (2 interleaved runs).
 */
export const PGLITE_SHARED_BUFFERS = '32MB';

/** How long PGlite's statements may hold the event loop before the next one waits a turn. */
export const PGLITE_YIELD_AFTER_MS = 5;

/**
 * PGlite runs every statement on this thread, synchronously, and pg's
 * client chains one statement to the next with promises only: a
 * transaction, or the records of a batch running back to back, never
 * give the event loop a turn, so /healthz, plain reads and timers wait
 * for seconds (issue 9, point 8). This returns the hook the store's
 * socket into PGlite (`PGliteSocket`) runs before each call into it
 * (a statement's messages, sent together): if the loop has not had a
 * turn for `afterMs` (statements, or whatever ran between them, held
 * it), it waits one `setImmediate` first: I/O and timers run, then the
 * statement. Order is kept (the socket sends the next messages only
 * after these answered), and a transaction keeps its connection across
 * the wait, so nothing else interleaves into it; the others queue in
 * the pool as before.
 */
export function yieldBetweenStatements(afterMs = PGLITE_YIELD_AFTER_MS): () => Promise<void> | void {
  // When the loop last had a turn: reset by a check-phase callback, so a
  // wait for I/O between statements counts as a turn too.
  let turnAt = performance.now();
  let watching = false;
  const watchForTurn = () => {
    if (watching) return;
    watching = true;
    setImmediate(() => {
      watching = false;
      turnAt = performance.now();
    });
  };
  const afterTurn = () => {
    turnAt = performance.now();
    watchForTurn();
  };
  return () => {
    if (performance.now() - turnAt > afterMs)
      return new Promise<void>((resolve) => setImmediate(resolve)).then(afterTurn);
    watchForTurn();
  };
}

function counter(stats: { queries: number }): (event: LogEvent) => void {
  return (event) => {
    stats.queries++;
    if (event.level === 'error') log.debug('query failed', { sql: event.query.sql, err: event.error });
  };
}

/**
 * A connection that breaks (PostgreSQL restarted or failed over, an administrator's
 * pg_terminate_backend, the network) emits 'error' on its pg.Client, whether the pool holds
 * it idle or a request has it checked out; with no listener, Node ends the process. So every
 * client gets one, and so does the pool. The query that was running fails on its own (its
 * caller answers UPSTREAM_UNAVAILABLE), the broken client is discarded when released, and the
 * next checkout connects afresh: the pool reconnects by itself once the database is back. The
 * outage is logged once when it starts and once when a connection is made again.
 */
function survivesDroppedConnections(pool: pg.Pool): void {
  const outage = new OutageLog('store');
  const onError = (err: Error) => {
    if (!outage.failed(err)) log.error('postgres connection error', { err });
  };
  pool.on('error', onError);
  pool.on('connect', (client) => {
    client.on('error', onError);
    outage.ok();
  });
}

export async function openStore(
  config: Pick<Config, 'dataDir' | 'databaseUrl' | 'dbPoolMax' | 'storeUpkeepIntervalMs'>,
): Promise<Store> {
  if (config.databaseUrl) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.dbPoolMax });
    survivesDroppedConnections(pool);
    const unobserve = observePool(pool);
    const stats = { queries: 0 };
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: counter(stats) });
    return {
      db,
      pool,
      stats,
      kind: 'postgres',
      ping: async () => {
        await pool.query('select 1');
      },
      close: async () => {
        unobserve();
        await db.destroy();
      },
    };
  }
  const pgDir = path.join(config.dataDir, 'pg');
  const release = acquireLock(config.dataDir);
  try {
    const pglite = await PGlite.create(pgDir, {
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
    });
    const beforeExec = yieldBetweenStatements();
    // A pool of one: PGlite is a single session. Its clients reach it through a socket of their
    // own (`PGliteSocket`); user, database and password are what the startup message carries.
    const pool = new pg.Pool({
      // pg types the option as a Duplex; it calls only what PGliteSocket has (connect, write, end,
      // destroy, events), as with the socket it would open itself (a library seam).
      stream: () => new PGliteSocket(pglite, beforeExec) as unknown as Duplex,
      user: 'postgres',
      database: 'postgres',
      password: 'postgres',
      // Nothing to encrypt in-process (and a PGSSLMODE in the environment must not ask for it).
      ssl: false,
      max: 1,
    });
    survivesDroppedConnections(pool);
    const unobserve = observePool(pool);
    const stats = { queries: 0 };
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: counter(stats) });
    // Upkeep's own statements go through a Kysely of their own on the same pool, so they are not
    // counted in `stats` (the N+1 tests and the benches count the application's statements).
    const upkeep =
      config.storeUpkeepIntervalMs > 0
        ? scheduleUpkeep(
            new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
            config.storeUpkeepIntervalMs,
          )
        : undefined;
    return {
      db,
      pool,
      stats,
      kind: 'pglite',
      ping: async () => {
        await pool.query('select 1');
      },
      close: async () => {
        try {
          await upkeep?.stop();
          unobserve();
          await db.destroy();
          // Flushes PGlite's files to disk.
          await pglite.close();
        } finally {
          release();
        }
      },
    };
  } catch (e) {
    release();
    throw e;
  }
}
