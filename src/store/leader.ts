import pg from 'pg';
import type { Store } from './db.js';
import { log } from '../logger.js';

/**
 * Leader election across replicas that share one store, for work that must run in exactly one
 * process at a time (pollers of upstream systems: the Exstream runtime monitor, the Workflow
 * Service poller).
 *
 * PostgreSQL: the leader holds a session advisory lock on a connection of its own, outside the
 * pool, for as long as it leads; followers retry `pg_try_advisory_lock` every `checkMs`. The leader
 * checks its connection on the same beat: when the connection drops (server restart, network,
 * `pg_terminate_backend`) PostgreSQL has released the lock with the session, so the leader stands
 * down at once (its work is aborted through the signal), sits out two beats so that a healthy
 * follower takes over, and then competes again on a new connection like any follower. A lost
 * connection is survived, never fatal.
 *
 * PGlite: one process owns the data directory (see `acquireLock`), so that process is the leader
 * from the start and stays it until `stop()`.
 *
 * A leader that has just lost its connection may still be finishing a step while a new leader
 * starts: the lock narrows that window but cannot close it, so led work stays idempotent (a unique
 * key in the same transaction as its effect), and the lock only keeps the other replicas idle.
 */
export interface LeaderOptions {
  /** What is led, e.g. `exstream-runtime-monitor`; replicas electing under one name compete. */
  name: string;
  /** How often a follower tries to take the lock and the leader checks its connection. */
  checkMs?: number;
  /**
   * Starts the leader's work. `signal` aborts when leadership is lost or stopped; the returned
   * promise (if any) is the work itself, and `stop()` waits for it to settle.
   */
  onElected(signal: AbortSignal): void | Promise<void>;
  /** Leadership ended (connection lost or stopped); the signal has already aborted. */
  onDemoted?(reason: string): void;
}

export interface Leadership {
  readonly name: string;
  /** Whether this process leads now. */
  readonly leading: boolean;
  /** Stands down (releasing the lock), waits for the led work to settle, and stops competing. */
  stop(): Promise<void>;
}

/** First key of pg_try_advisory_lock(int, int) for elections ("LEAD" in ASCII). */
export const LEADER_LOCK_NAMESPACE = 0x4c454144;

/** The second lock key for a name: 32-bit FNV-1a, as a signed int4. Stable across processes and versions. */
export function leaderLockKey(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

const DEFAULT_CHECK_MS = 5_000;

/**
 * Joins the election for `options.name` and makes the first attempt before resolving, so a caller
 * knows at once whether it leads. A store that cannot be reached makes that attempt fail quietly
 * (logged): the process follows and keeps trying.
 */
export async function electLeader(
  store: Pick<Store, 'kind' | 'pool'>,
  options: LeaderOptions,
): Promise<Leadership> {
  const checkMs = options.checkMs ?? DEFAULT_CHECK_MS;
  const key = leaderLockKey(options.name);
  let stopped = false;
  let leading = false;
  let controller: AbortController | null = null;
  let work: Promise<void> = Promise.resolve();
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | null = null;
  let cycling: Promise<void> = Promise.resolve();
  /**
   * A leader whose connection dropped sits out this long before competing again: the replica
   * that lost its session is the likelier one to be in trouble (its network, its host), and
   * without it the old leader, reconnecting on the same beat, wins as often as a healthy follower.
   */
  let sitOutUntil = 0;

  const elect = () => {
    leading = true;
    controller = new AbortController();
    const signal = controller.signal;
    log.info('elected leader', { name: options.name });
    work = Promise.resolve()
      .then(() => options.onElected(signal))
      .catch((err: unknown) => log.error('leader work failed', { name: options.name, err }));
  };

  const demote = (reason: string) => {
    if (!leading) return;
    leading = false;
    controller?.abort(new Error(reason));
    controller = null;
    log.warn('leadership lost', { name: options.name, reason });
    options.onDemoted?.(reason);
  };

  /** Drops `c` (once): its session, and with it the lock, is gone or going. */
  const lose = (c: pg.Client, reason: string) => {
    if (client !== c) return;
    client = null;
    c.removeAllListeners();
    // A dead socket raises 'error' again while ending; nothing to report twice.
    c.on('error', () => undefined);
    void c.end().catch(() => undefined);
    if (leading) sitOutUntil = Date.now() + 2 * checkMs;
    demote(reason);
  };

  const connect = async (): Promise<pg.Client> => {
    // The pool's own settings (URL, credentials, SSL), but a connection the pool never hands out
    // nor recycles: the lock lives exactly as long as this session.
    const c = new pg.Client({ ...store.pool.options, keepAlive: true });
    c.on('error', (err: Error) => lose(c, `connection error: ${err.message}`));
    c.on('end', () => lose(c, 'connection ended'));
    client = c;
    try {
      await c.connect();
    } catch (err) {
      lose(c, `connect failed: ${(err as Error).message}`);
      throw err;
    }
    return c;
  };

  const attempt = async () => {
    if (stopped || Date.now() < sitOutUntil) return;
    let c = client;
    try {
      if (!c) c = await connect();
      if (leading) {
        // The session holds the lock for as long as it lives; a round trip proves it lives.
        await c.query('select 1');
      } else {
        const r = await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1::int, $2::int) as ok', [
          LEADER_LOCK_NAMESPACE,
          key,
        ]);
        if (r.rows[0]?.ok && !stopped) elect();
      }
    } catch (err) {
      if (c) lose(c, `check failed: ${(err as Error).message}`);
      log.warn('leader election attempt failed; retrying', { name: options.name, err, retryMs: checkMs });
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      cycling = attempt().finally(schedule);
    }, checkMs);
    // The election never keeps a process alive on its own; servers and tests stop it explicitly.
    timer.unref();
  };

  if (store.kind === 'pglite') {
    elect();
  } else {
    cycling = attempt();
    await cycling;
    schedule();
  }

  return {
    name: options.name,
    get leading() {
      return leading;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      await cycling;
      demote('stopped');
      await work;
      const c = client;
      client = null;
      if (c) {
        c.removeAllListeners();
        c.on('error', () => undefined);
        // Ending the session releases its advisory locks.
        await c.end().catch(() => undefined);
      }
    },
  };
}
