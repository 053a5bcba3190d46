import PgBoss from 'pg-boss';
import { log } from '../logger.js';
import { OutageLog } from '../store/connection-errors.js';
import type { Store } from '../store/db.js';
import { exclusively } from '../store/exclusive.js';

/**
 * Background jobs on pg-boss, in the same store as everything else (its own
 * `pgboss` schema, managed by pg-boss). Jobs only carry keys; the work they
 * do is idempotent, so a job retried after a crash finds what it already did.
 */
export const NOTICE_RECORD_QUEUE = 'notice-record';

/**
 * A record whose worker died (kill -9, a lost machine) stays `active` in
 * pg-boss until it expires (JOB_EXPIRE_SECONDS); then it is retried, and its
 * idempotency key makes the retry find whatever was already done. pg-boss's
 * own default is 15 minutes, for which a killed worker's records would wait.
 * The expiry must stay well above how long a fetched record can wait in its
 * worker's hands, or a slow but live worker's record runs twice (harmlessly).
 */
export const DEFAULT_RECORD_EXPIRE_SECONDS = 300;
/** How often pg-boss fails expired records over for retry (its default is every 2 minutes). */
const MAINTENANCE_SECONDS = 15;
/** Key of the session advisory lock that serialises queue setup across processes ("JOBS" in ASCII). */
const QUEUE_SETUP_LOCK = 0x4a4f4253;
/**
 * How many records a worker generates as one set (one transaction, one progress check).
 * Larger sets write with fewer statements; smaller ones keep the render threads fed while
 * another set is written (the lanes take sets in turn).
 */
export const RECORDS_PER_SET = 8;

export interface NoticeRecordJob {
  batchId: string;
  customerId: string;
  channel: string;
}

export interface JobQueue {
  enqueueNoticeRecords(records: NoticeRecordJob[]): Promise<void>;
}

export interface Jobs extends JobQueue {
  /**
   * Starts `concurrency` workers on the notice queue, each handed a set of records at a time
   * (at most RECORDS_PER_SET), which it generates together (one transaction per set).
   */
  work(concurrency: number, handle: (jobs: NoticeRecordJob[]) => Promise<void>): Promise<void>;
  /** Stops taking jobs and waits for the ones in hand. */
  stop(): Promise<void>;
}

export async function startJobs(
  store: Pick<Store, 'kind' | 'pool'>,
  expireInSeconds = DEFAULT_RECORD_EXPIRE_SECONDS,
): Promise<Jobs> {
  const { pool } = store;
  const boss = new PgBoss({
    // pg-boss runs its SQL through our pool, so PGlite's single connection is shared, not doubled.
    db: { executeSql: (text: string, values?: unknown[]) => pool.query(text, values as unknown[]) },
    schema: 'pgboss',
    supervise: true,
    maintenanceIntervalSeconds: MAINTENANCE_SECONDS,
    migrate: true,
  });
  // pg-boss's workers and maintenance run their SQL through our pool and report failures here; a
  // dropped connection is an outage they retry on their own (each poll), said once, not per poll.
  // Its jobs are idempotent, and one whose completion the outage lost runs again when it expires.
  const outage = new OutageLog('job queue');
  boss.on('error', (err) => {
    if (!outage.failed(err)) log.error('job queue error', { err });
  });
  // A connection made again means pg-boss's next poll reaches the database.
  pool.on('connect', () => outage.ok());
  const queue = {
    name: NOTICE_RECORD_QUEUE,
    retryLimit: 5,
    retryDelay: 2,
    retryBackoff: true,
    expireInSeconds,
  };
  // Processes starting together on one PostgreSQL (replicas, workers, subgraph services) take
  // turns: pg-boss's create_queue makes a partition table and its indexes, and two of them at
  // once deadlock (40P01 seen in CI with two replicas started side by side).
  await exclusively(store, QUEUE_SETUP_LOCK, async () => {
    await boss.start();
    try {
      await boss.createQueue(NOTICE_RECORD_QUEUE, queue);
      // createQueue leaves an existing queue as it was: a store from an older release gets the settings too.
      await boss.updateQueue(NOTICE_RECORD_QUEUE, queue);
    } catch (err) {
      // A started boss has timers and internal workers polling the pool: a failed start stops
      // them, or they outlive the caller (and its closed pool).
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
      throw err;
    }
  });
  let stopped = false;
  return {
    async enqueueNoticeRecords(records) {
      const CHUNK = 1000;
      for (let i = 0; i < records.length; i += CHUNK) {
        await boss.insert(records.slice(i, i + CHUNK).map((data) => ({ name: NOTICE_RECORD_QUEUE, data })));
      }
    },
    async work(concurrency, handle) {
      // pg-boss waits its polling interval after each fetch, so workers fetch many
      // jobs at once, cut them into sets and run them `concurrency` sets at a time. If any
      // fails, the fetch fails and pg-boss retries all of it: the records already done are
      // no-ops the second time (idempotency keys), so a retry costs time, not duplicates.
      // pg-boss completes the fetched jobs only once every set is written (committed).
      const batchSize = Math.max(concurrency * 8, 16);
      // Set once work() answers; the handler only reads it (its first fetch comes later).
      const worker: { id?: string } = {};
      worker.id = await boss.work<NoticeRecordJob>(
        NOTICE_RECORD_QUEUE,
        { batchSize, pollingIntervalSeconds: 0.5 },
        async (batch) => {
          // A full fetch means more records are likely waiting: fetch again as soon as this one is
          // done instead of waiting out the rest of the polling interval, which capped a batch at
          // batchSize records per 0.5 s however fast they were written. (pg-boss's own `notify`:
          // it skips the wait after this fetch only; an empty or partial fetch waits as before.)
          if (batch.length === batchSize && worker.id) boss.notifyWorker(worker.id);
          const sets: NoticeRecordJob[][] = [];
          for (let i = 0; i < batch.length; i += RECORDS_PER_SET)
            sets.push(batch.slice(i, i + RECORDS_PER_SET).map((job) => job.data));
          const failures: unknown[] = [];
          let next = 0;
          const lane = async () => {
            while (next < sets.length) {
              const set = sets[next++]!;
              try {
                await handle(set);
              } catch (err) {
                failures.push(err);
              }
            }
          };
          await Promise.all(Array.from({ length: Math.min(concurrency, sets.length) }, lane));
          if (failures.length)
            throw new AggregateError(
              failures,
              `${failures.length} of ${sets.length} record sets failed; retrying`,
            );
        },
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
    },
  };
}
