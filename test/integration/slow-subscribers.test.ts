import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import type { Kysely } from 'kysely';
import WebSocket, { WebSocketServer } from 'ws';
import { loadConfig } from '../../src/config/index.js';
import { InProcessBus, Outbox, type BusEvent } from '../../src/events/index.js';
import { EventLog } from '../../src/events/log.js';
import { SharedSubscriptions } from '../../src/gateway/shared-subscriptions.js';
import { streamOf } from '../../src/resolvers/streams.js';
import { openStore, type Store } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrations/index.js';
import { sliceOf, type WorkflowDB } from '../../src/store/tables.js';
import { registry } from '../../src/telemetry/metrics.js';

/**
 * A subscriber that reads slower than its events arrive is cut off before it holds the process's
 * memory without bound, and told where to resume; resuming from there loses nothing. A subscriber
 * resuming far back is paced by its own reading instead of having the whole backlog read for it.
 */

let dataDir: string;
let store: Store;
let bus: InProcessBus;
let outbox: Outbox<WorkflowDB>;
let log: EventLog;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-slow-'));
  store = await openStore(loadConfig({ DATA_DIR: dataDir }));
  await migrate(store.db as unknown as Kysely<unknown>);
  bus = new InProcessBus();
  outbox = new Outbox(sliceOf<WorkflowDB>(store.db), 'workflow', bus);
  log = new EventLog(store.db as unknown as Kysely<unknown>, 'workflow');
}, 60_000);

afterAll(async () => {
  await bus?.close();
  await store?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function shed(how: 'stream' | 'socket'): Promise<number> {
  const metric = registry.getSingleMetric('commsgraph_subscribers_shed_total');
  return (await metric!.get()).values.filter((v) => v.labels.how === how).reduce((n, v) => n + v.value, 0);
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The DEADLINE_ALERT events' ids in the table after `after`, in order. */
async function tableAfter(after: string): Promise<string[]> {
  const ids: string[] = [];
  for (let cursor = after; ;) {
    const page = await log.after('DEADLINE_ALERT', cursor);
    ids.push(...page.map((e) => e.id));
    if (page.length < 500) return ids;
    cursor = page.at(-1)!.id;
  }
}

async function alerts(n: number, label: string): Promise<void> {
  for (let i = 0; i < n; i++) await outbox.transaction((_tx, emit) => emit('DEADLINE_ALERT', { label, i }));
}

async function take(stream: AsyncIterator<BusEvent>, n: number): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < n) {
    const step = await stream.next();
    if (step.done) throw new Error(`the stream ended after ${ids.length} of ${n} events`);
    ids.push(step.value.id);
  }
  return ids;
}

test('a stream whose subscriber falls too far behind ends with where to resume, and resuming there loses nothing', async () => {
  const start = await log.newest('DEADLINE_ALERT');
  const stream = streamOf(bus, 'workflow', 'DEADLINE_ALERT', () => true, { log, after: start }, undefined, 5);
  await alerts(1, 'taken');
  const [taken] = await take(stream, 1);

  const shedBefore = await shed('stream');
  // Eight more than the subscriber takes, with room for five.
  await alerts(8, 'not taken');
  await until(async () => (await shed('stream')) > shedBefore, 'the stream to be cut off');
  const failure = await stream.next().then(
    () => null,
    (err: unknown) => err as { message: string; extensions: Record<string, unknown> },
  );
  expect(failure?.extensions).toEqual({
    code: 'UPSTREAM_UNAVAILABLE',
    reason: 'SUBSCRIBER_TOO_SLOW',
    resumeAfter: taken,
  });
  expect(failure?.message).toContain(`after: "${taken}"`);

  // Resuming where it said: every event the subscriber had not taken, once, in order.
  const expected = await tableAfter(taken!);
  expect(expected).toHaveLength(8);
  const resumed = streamOf(bus, 'workflow', 'DEADLINE_ALERT', () => true, { log, after: taken! });
  expect(await take(resumed, 8)).toEqual(expected);
  await resumed.return!();
}, 60_000);

test('a subscriber resuming far back gets the whole backlog, paced by its reading, within the same limit', async () => {
  const start = await log.newest('DEADLINE_ALERT');
  // 1,200 events in the table: more than twice the room the stream has for events not yet taken.
  await outbox.transaction(async (_tx, emit) => {
    for (let i = 0; i < 1_200; i++) await emit('DEADLINE_ALERT', { label: 'backlog', i });
  });
  const expected = await tableAfter(start);
  expect(expected).toHaveLength(1_200);
  const stream = streamOf(
    bus,
    'workflow',
    'DEADLINE_ALERT',
    () => true,
    { log, after: start },
    undefined,
    600,
  );
  // The subscriber reads slowly: a turn of the event loop between events, so the replay runs ahead.
  const ids: string[] = [];
  while (ids.length < 1_200) {
    ids.push(...(await take(stream, 1)));
    await new Promise((r) => setImmediate(r));
  }
  expect(ids).toEqual(expected);
  await stream.return!();
}, 60_000);

/** A subscription whose events the test pushes; each event is a large string. */
function tickingSchema() {
  const waiting: Array<(v: IteratorResult<{ tick: string }>) => void> = [];
  const queued: string[] = [];
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tick: {
          type: GraphQLString,
          subscribe: () => ({
            [Symbol.asyncIterator]() {
              return this;
            },
            next: () =>
              new Promise<IteratorResult<{ tick: string }>>((resolve) => {
                const q = queued.shift();
                if (q !== undefined) resolve({ value: { tick: q }, done: false });
                else waiting.push(resolve);
              }),
            return: () => Promise.resolve({ value: undefined, done: true as const }),
          }),
        },
      },
    }),
  });
  const push = (tick: string) => {
    const w = waiting.shift();
    if (w) w({ value: { tick }, done: false });
    else queued.push(tick);
  };
  return { schema, push };
}

test('a socket too slow for its shared stream is closed with 1013; the subscribers sharing the stream get every event', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const serverSockets: WebSocket[] = [];
  wss.on('connection', (s) => serverSockets.push(s));
  const connect = async () => {
    const client = new WebSocket(url);
    await new Promise<void>((resolve, reject) => client.once('open', resolve).once('error', reject));
    await until(() => serverSockets.length > 0, 'the server side of the socket');
    return { client, server: serverSockets.shift()! };
  };
  const fast = await connect();
  const slow = await connect();
  try {
    const { schema, push } = tickingSchema();
    const shared = new SharedSubscriptions({
      context: () => ({}),
      format: (r) => r,
      maxBufferedBytes: 65_536,
    });
    const principal = { sub: 'watcher', roles: ['operations' as const] };
    const join = (socket: WebSocket, id: string) => {
      const contextValue = {};
      shared.register(contextValue, { socket, id, principal, authorization: 'Bearer x' });
      return shared.subscribe({ schema, document: parse('subscription { tick }'), contextValue });
    };
    await join(fast.server, 'fast');
    await join(slow.server, 'slow');
    expect(shared.stats()).toEqual({ groups: 1, subscribers: 2 });

    const fastGot: string[] = [];
    fast.client.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { id: string; payload: { data: { tick: string } } };
      expect(message.id).toBe('fast');
      fastGot.push(message.payload.data.tick.slice(0, 8));
    });
    const slowClosed = new Promise<number>((resolve) => slow.client.once('close', (code) => resolve(code)));
    // The slow client stops reading; the kernel's buffers fill, then the server's.
    slow.client.pause();
    const shedBefore = await shed('socket');
    const filler = 'x'.repeat(64 * 1024);
    let sent = 0;
    while (slow.server.readyState === WebSocket.OPEN) {
      if (sent >= 5_000) throw new Error('the slow socket was never closed');
      push(`${String(sent++).padStart(8, '0')}${filler}`);
      // Each event is broadcast before the next is pushed (the fast client keeps up).
      await until(() => fastGot.length === sent, `event ${sent} at the fast subscriber`);
    }
    expect(await shed('socket')).toBe(shedBefore + 1);
    // The fast subscriber got every event, in order, and goes on getting them.
    push(`${String(sent++).padStart(8, '0')}${filler}`);
    await until(() => fastGot.length === sent, 'the event after the slow socket closed');
    expect(fastGot).toEqual(Array.from({ length: sent }, (_, i) => String(i).padStart(8, '0')));
    // The slow client, reading again, gets what was buffered, then the close: 1013, try again later.
    slow.client.resume();
    expect(await slowClosed).toBe(1013);
  } finally {
    fast.client.terminate();
    slow.client.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
}, 120_000);
