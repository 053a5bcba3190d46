import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { loadConfig, type Config } from '../../src/config/index.js';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { NOTICE_RECORD_QUEUE } from '../../src/jobs/index.js';
import { loadOrCreateDevKey, signDevToken, type Role } from '../../src/identity/index.js';
import { configureLogger } from '../../src/logger.js';
import { templateDir } from './template.js';

configureLogger({
  level:
    (process.env.TEST_LOG_LEVEL as 'debug' | 'info' | 'warn' | 'error' | 'silent' | undefined) ?? 'error',
});

/** A private copy of the migrated, seeded template. */
export async function freshDataDir(): Promise<string> {
  const template = await templateDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-test-'));
  fs.cpSync(template, dir, { recursive: true });
  fs.rmSync(path.join(dir, '.lock'), { force: true });
  fs.rmSync(path.join(dir, '.ready'), { force: true });
  return dir;
}

export interface TestGateway {
  gateway: Gateway;
  config: Config;
  dataDir: string;
  url: string;
  token(sub: string, ...roles: Role[]): Promise<string>;
  /** POSTs an operation; returns the parsed body. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GqlResult<T>>;
  /**
   * Waits until the background work in flight is done: commands due or in a
   * live loop's hands, deliveries, and notice records on pg-boss (when this
   * gateway runs workers). A command retrying after a failure is not waited for.
   */
  settle(): Promise<void>;
  /**
   * The newest eventId of a subscription field's stream ('0' when it has none):
   * subscribe `after` it and every event from now on arrives, whenever the
   * server gets round to registering the subscription.
   */
  cursor(field: StreamField): Promise<string>;
  /**
   * The ids of a stream's events after `after` whose payload has every field
   * of `where` (caseId, batchId, ...), from the events table: what a
   * subscriber with those filters gets, to wait for exactly that.
   */
  eventIds(field: StreamField, after: string, where?: Record<string, string>): Promise<string[]>;
  stop(): Promise<void>;
}

/** Each subscription field's events table (its subgraph's schema) and topic. */
const STREAMS = {
  caseUpdated: ['workflow', 'CASE_UPDATED'],
  deadlineAlerted: ['workflow', 'DEADLINE_ALERT'],
  deliveryStatusChanged: ['communications', 'DELIVERY_STATUS'],
  generationExceptionRaised: ['communications', 'EXCEPTION_RAISED'],
  noticeBatchProgress: ['communications', 'BATCH_PROGRESS'],
  templateUpdated: ['communications', 'TEMPLATE_UPDATED'],
  heldJobUpdated: ['communications', 'HELD_JOB_UPDATED'],
} as const;
export type StreamField = keyof typeof STREAMS;

export interface GqlResult<T> {
  data?: T;
  errors?: Array<{
    message: string;
    path?: (string | number)[];
    extensions?: { code?: string } & Record<string, unknown>;
  }>;
}

/**
 * Waits until `condition` holds, asking again after every turn of work (a
 * short pause, so the asking does not starve the work it waits for). For
 * conditions nothing announces, like pg-boss finishing its records.
 */
export async function waitUntil(condition: () => Promise<boolean>, deadline: number): Promise<void> {
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const dataDir = env.DATA_DIR ?? (await freshDataDir());
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    DELIVERY_STEP_MS: '0',
    // Tests drive many operations from one identity; the rate limiter has its own tests.
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0',
    ...env,
  });
  const gateway = await startGateway(config);
  const key = await loadOrCreateDevKey(dataDir);
  let stopped = false;
  return {
    gateway,
    config,
    dataDir,
    url: gateway.url,
    token: (sub, ...roles) => signDevToken(key, { sub, roles }, config.auth),
    async gql<T>(query: string, variables?: Record<string, unknown>, token?: string) {
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GqlResult<T>;
    },
    async settle() {
      // The subgraphs' own work (commands, deliveries) is waited for by SubgraphSet.settle;
      // notice records run on pg-boss, whose state is in its tables. Done when a whole
      // round of the subgraphs' work passed with no notice record queued or running, and
      // none finishing meanwhile (its work could be left behind the round).
      const db = gateway.store!.db;
      const jobs = async () => {
        const { rows } = await sql<{ open: string; all: string; finished: string | null }>`
          select count(*) filter (where state in ('created', 'retry', 'active'))::text as open,
                 count(*)::text as all, max(completed_on)::text as finished
          from pgboss.job where name = ${NOTICE_RECORD_QUEUE}`.execute(db);
        return { open: Number(rows[0]!.open), mark: JSON.stringify(rows[0]) };
      };
      const deadline = Date.now() + 120_000;
      for (;;) {
        const before = await jobs();
        await gateway.subgraphs!.settle();
        // Without workers here (RUN_WORKERS=false) queued records wait for another process.
        if (!config.runWorkers) return;
        const after = await jobs();
        if (!after.open && after.mark === before.mark) return;
        if (Date.now() > deadline) throw new Error(`notice records still queued or running: ${after.mark}`);
        if (after.open) await waitUntil(async () => (await jobs()).open === 0, deadline);
      }
    },
    async cursor(field) {
      const [schema, topic] = STREAMS[field];
      const { rows } = await sql<{ id: string }>`
        select coalesce(max(id), 0)::text as id from ${sql.table(`${schema}.events`)}
        where topic = ${topic}`.execute(gateway.store!.db);
      return rows[0]!.id;
    },
    async eventIds(field, after, where = {}) {
      const [schema, topic] = STREAMS[field];
      const { rows } = await sql<{ id: string }>`
        select e.id::text as id from ${sql.table(`${schema}.events`)} e
        where e.topic = ${topic} and e.id > ${after}::bigint and e.payload @> ${JSON.stringify(where)}::jsonb
        order by e.id`.execute(gateway.store!.db);
      return rows.map((r) => r.id);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await gateway.stop();
      if (!env.DATA_DIR) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
