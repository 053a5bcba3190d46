import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { loadConfig } from '../../src/config/index.js';
import { openBus, Outbox, type BusEvent, type EventBus } from '../../src/events/index.js';
import { EventLog } from '../../src/events/log.js';
import { EventRelay } from '../../src/events/relay.js';
import { openStore, type Store } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrations/index.js';
import { sliceOf, type WorkflowDB } from '../../src/store/tables.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';

/**
 * Two deployments, each on its own database, sharing one Redis (two clusters, or test files
 * running side by side in CI): each one's subscribers get its own events, all of them, and none of
 * the other's. The bus is opened as the processes open it (`openBus`). Both event tables count
 * from 1, so the other deployment's first event claims to follow exactly where this one's reader
 * stands: taken as the next event, it would reach this deployment's subscribers, and this
 * deployment's own events up to its id would be skipped as already passed on.
 * Needs PostgreSQL and Redis: CI provides both; a plain `npm test` skips.
 */
const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const redisUrl = serviceUrl('TEST_REDIS_URL', 'Redis');
const withServices = pgUrl && redisUrl ? describe : describe.skip;

interface Deployment {
  fixture: PostgresFixture;
  dataDir: string;
  store: Store;
  bus: EventBus;
  outbox: Outbox<WorkflowDB>;
  events: EventLog;
}

async function deployment(): Promise<Deployment> {
  const fixture = await freshDatabase(pgUrl!);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-bus-scope-'));
  const store = await openStore(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: fixture.url }));
  const db = store.db as unknown as Kysely<unknown>;
  await migrate(db);
  const bus = await openBus(redisUrl!, db);
  await publishing(bus);
  return {
    fixture,
    dataDir,
    store,
    bus,
    outbox: new Outbox(sliceOf<WorkflowDB>(store.db), 'workflow', bus),
    events: new EventLog(db, 'workflow'),
  };
}

async function close(d: Deployment | undefined): Promise<void> {
  if (!d) return;
  await d.bus.close();
  await d.store.close();
  await d.fixture.drop();
  fs.rmSync(d.dataDir, { recursive: true, force: true });
}

/** Resolves once `predicate` holds, checked at each event and on a short timer; rejects after `ms`. */
async function until(predicate: () => boolean, what: () => string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A probe on a topic no relay here follows. */
const probe: BusEvent = {
  id: '1',
  source: 'workflow',
  topic: 'TEMPLATE_UPDATED',
  occurredAt: new Date().toISOString(),
  payload: {},
};

/**
 * Resolves once a publish on `bus` succeeds: its publishing connection is up. Before that a
 * publish fails at once (no offline queue), and so does the bookkeeping of a first `listen`.
 */
async function publishing(bus: EventBus, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await bus.publish(probe);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Resolves once `bus` hears a probe it published itself: it listens. The probe is sent again
 * until it is heard (a subscription takes a round trip to Redis).
 */
async function listening(bus: EventBus, ms = 10_000): Promise<void> {
  let heard = false;
  const off = bus.listen('workflow', 'TEMPLATE_UPDATED', () => (heard = true));
  try {
    await until(
      () => {
        if (!heard) bus.publish(probe).catch(() => undefined);
        return heard;
      },
      () => 'the bus never heard its own probe',
      ms,
    );
  } finally {
    off();
  }
}

withServices('deployments sharing one Redis', () => {
  let a: Deployment | undefined;
  let b: Deployment | undefined;

  beforeAll(async () => {
    [a, b] = await Promise.all([deployment(), deployment()]);
  }, 60_000);

  afterAll(async () => {
    await close(a);
    await close(b);
  });

  test("a deployment's subscribers get each of its events and none of the other's", async () => {
    const received: BusEvent[] = [];
    let started!: (cursor: bigint) => void;
    const feedStarts = new Promise<bigint>((r) => (started = r));
    const unfollow = EventRelay.for(b!.events, b!.bus).follow(
      'CASE_UPDATED',
      (e) => received.push(e),
      (cursor) => started(cursor),
    );
    try {
      // B's reader stands at its newest event (none yet): the feed starts after 0.
      expect(await feedStarts).toBe(0n);
      // B's bus is listening once a probe on its own connection, subscribed after the relay's
      // topic, hears itself: Redis takes one connection's subscriptions in order.
      await listening(b!.bus);

      // A's events first: ids 1-3 of A's table, the first one after 0, where B's reader stands.
      for (const n of [1, 2, 3]) {
        await a!.outbox.transaction(async (_tx, emit) => emit('CASE_UPDATED', { caseId: `a-${n}` }));
      }
      // Then B's own, with the same ids in B's table.
      for (const n of [1, 2, 3]) {
        await b!.outbox.transaction(async (_tx, emit) => emit('CASE_UPDATED', { caseId: `b-${n}` }));
      }
      const own = await b!.events.after('CASE_UPDATED', '0');
      expect(own.map((e) => e.payload.caseId)).toEqual(['b-1', 'b-2', 'b-3']);
      const seen = () => JSON.stringify(received.map((e) => [e.id, e.payload.caseId]));
      await until(
        () => own.every((e) => received.some((r) => r.id === e.id && r.payload.caseId === e.payload.caseId)),
        () => `B's own events never all arrived; received ${seen()}`,
      );
      expect(received.map((e) => [e.id, e.payload.caseId])).toEqual(own.map((e) => [e.id, e.payload.caseId]));
    } finally {
      unfollow();
    }
  });
});
