import 'reflect-metadata';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import WebSocket, { WebSocketServer } from 'ws';
import { loadConfig } from '../src/config/index.js';
import { emitDelivery } from '../src/datasources/communications/service.js';
import { InProcessBus, Outbox, type BusEvent, type EventBus } from '../src/events/index.js';
import { startGateway, type Gateway } from '../src/gateway/index.js';
import { loadOrCreateDevKey, signDevToken } from '../src/identity/index.js';
import { configureLogger } from '../src/logger.js';
import type { CommunicationsDB, DeliveryRow } from '../src/store/tables.js';
import {
  documentIdOf,
  now,
  type Published,
  type ServerCommand,
  type ServerMessage,
  type ServerStart,
} from './fanout-protocol.js';

/**
 * The server side of the fan-out benchmark, forked by bench/fanout.ts so it
 * has a process (and an event loop) of its own. Either the real gateway
 * (in-process subgraphs on the embedded store, or PostgreSQL) with a
 * publisher writing delivery events through the communications outbox, or
 * the baseline: a bare `ws` server speaking just enough graphql-ws to send
 * one pre-serialised message per subscriber per event, which is about what
 * this machine can do at all with the same clients.
 */

/** Publishes in flight at once; beyond it the schedule slips (and the slip is reported). */
const MAX_IN_FLIGHT = 64;
/** How often committed events are reported to the coordinator. */
const REPORT_EVERY_MS = 20;
/** Baseline only: a socket with this much unsent data holds the publisher back rather than grow without end. */
const BASELINE_MAX_BUFFERED = 1 << 20;

const send = (m: ServerMessage) => process.send!(m);

interface Publisher {
  /** Sends one event about document `d`; resolves with its id and when it was published. */
  publish(d: number): Promise<{ id: number; at: number }>;
  close(): Promise<void>;
}

function deliveryRow(seq: number, d: number): DeliveryRow {
  const at = new Date();
  return {
    // Unique per event, so the bus message can be matched to the publish that caused it.
    id: `dlv_fanout_${seq}`,
    document_id: documentIdOf(d),
    channel: 'EMAIL',
    status: seq % 2 ? 'SENT' : 'DELIVERED',
    attempts: 1,
    address: null,
    location: null,
    last_error: null,
    created_at: at,
    updated_at: at,
  };
}

/**
 * The product's path for every event: a transaction on the communications
 * outbox (event row written under the outbox's ordering lock, committed),
 * then published on the gateway's bus. The publish time is taken where the
 * outbox hands the committed event to the bus. What it leaves out is the
 * delivery row update a real delivery step makes in the same transaction.
 */
async function startGatewayServer(
  start: ServerStart,
  dataDir: string,
): Promise<{ url: string; tokens: string[]; storeKind: string; publisher: Publisher; gateway: Gateway }> {
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    SEED_DEMO: 'false',
    RUN_WORKERS: 'false',
    // Every subscribe counts against the per-identity limit; the benchmark opens thousands at once.
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0',
    DATABASE_URL: start.databaseUrl,
  });
  const bus = new InProcessBus();
  const gateway = await startGateway(config, { bus });
  const published = new Map<string, { id: number; at: number }>();
  const recording: EventBus = {
    publish: (event: BusEvent) => {
      const delivery = event.payload.delivery as { id: string };
      published.set(delivery.id, { id: Number(event.id), at: now() });
      return bus.publish(event);
    },
    listen: (source, topic, listener) => bus.listen(source, topic, listener),
    close: async () => undefined,
  };
  const outbox = new Outbox<CommunicationsDB>(
    // The whole store's handle; the outbox only touches communications.events.
    gateway.store!.db as unknown as Kysely<CommunicationsDB>,
    'communications',
    recording,
  );
  let seq = 0;
  const publisher: Publisher = {
    async publish(d) {
      const row = deliveryRow(++seq, d);
      await outbox.transaction(async (_tx, emit) => {
        await emitDelivery(emit, row, { id: documentIdOf(d), customer_id: 'cus_fanout', case_id: null });
      });
      const out = published.get(row.id);
      published.delete(row.id);
      if (!out) throw new Error(`event for ${row.id} was committed but not published`);
      return out;
    },
    close: async () => undefined,
  };

  const key = await loadOrCreateDevKey(config.dataDir);
  const tokens: string[] = [];
  for (let i = 0; i < start.subscribers; i++)
    tokens.push(
      await signDevToken(key, { sub: `bench.fanout.${i}`, roles: ['operations'], ttlSec: 3600 }, config.auth),
    );
  return { url: gateway.url, tokens, storeKind: gateway.store!.kind, publisher, gateway };
}

/** The floor: graphql-ws framing by hand, one JSON payload per event, one `ws.send` per subscriber. */
async function startBaselineServer(): Promise<{ url: string; publisher: Publisher }> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    path: '/graphql',
    handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false),
  });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  type Sub = { socket: WebSocket; id: string };
  const all = new Set<Sub>();
  const byDocument = new Map<number, Set<Sub>>();
  const setOf = (doc: number | null) => {
    if (doc === null) return all;
    let s = byDocument.get(doc);
    if (!s) byDocument.set(doc, (s = new Set()));
    return s;
  };
  wss.on('connection', (socket) => {
    const mine: Array<{ sub: Sub; set: Set<Sub> }> = [];
    socket.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as {
        type: string;
        id?: string;
        payload?: { variables?: { documentId?: string } };
      };
      if (m.type === 'connection_init') socket.send('{"type":"connection_ack"}');
      else if (m.type === 'ping') socket.send('{"type":"pong"}');
      else if (m.type === 'subscribe' && m.id) {
        const docId = m.payload?.variables?.documentId;
        const set = setOf(docId ? Number(docId.replace(/^doc_fanout_/, '')) : null);
        const sub = { socket, id: m.id };
        set.add(sub);
        mine.push({ sub, set });
      }
    });
    socket.on('close', () => mine.forEach(({ sub, set }) => set.delete(sub)));
  });
  let counter = 0;
  const congested = () => {
    for (const c of wss.clients) if (c.bufferedAmount > BASELINE_MAX_BUFFERED) return true;
    return false;
  };
  const publisher: Publisher = {
    async publish(d) {
      while (congested()) await new Promise((r) => setTimeout(r, 1));
      const id = ++counter;
      const at = now();
      const iso = new Date().toISOString();
      const payload = JSON.stringify({
        data: {
          deliveryStatusChanged: {
            eventId: String(id),
            occurredAt: iso,
            delivery: { id: `dlv_fanout_${d}`, status: 'SENT', attempts: 1, updatedAt: iso },
          },
        },
      });
      const targets = [all, byDocument.get(d) ?? new Set<Sub>()];
      for (const set of targets)
        for (const s of set)
          s.socket.send(`{"id":${JSON.stringify(s.id)},"type":"next","payload":${payload}}`);
      return { id, at };
    },
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  const { port } = wss.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/graphql`, publisher };
}

/** A V8 CPU profile of this process over the measured window and the drain only (not start-up). */
function windowProfiler(dir: string | undefined, name: string) {
  if (!dir) return null;
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))),
    );
  return {
    start: async () => {
      await post('Profiler.enable');
      await post('Profiler.start');
    },
    stop: async () => {
      const { profile } = await post<{ profile: object }>('Profiler.stop');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, name), JSON.stringify(profile));
    },
  };
}

/** The quantile of a list of numbers (sorted in place). */
function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  xs.sort((a, b) => a - b);
  return xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;
}

async function main(): Promise<void> {
  configureLogger({ level: 'error' });
  const start = await new Promise<ServerStart>((resolve) =>
    process.once('message', (m: ServerCommand) => {
      if (m.type === 'start') resolve(m);
    }),
  );
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-fanout-'));
  let publisher: Publisher | null = null;
  let gateway: Gateway | null = null;
  try {
    if (start.mode === 'gateway') {
      const g = await startGatewayServer(start, dataDir);
      publisher = g.publisher;
      gateway = g.gateway;
      send({ type: 'ready', url: g.url, tokens: g.tokens, storeKind: g.storeKind });
    } else {
      const b = await startBaselineServer();
      publisher = b.publisher;
      send({ type: 'ready', url: b.url, tokens: [], storeKind: 'none' });
    }
  } catch (err) {
    send({ type: 'error', message: String((err as Error).stack ?? err) });
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(1);
  }
  const pub = publisher!;

  // Committed events go to the coordinator in small batches.
  let batch: Published[] = [];
  const flush = setInterval(() => {
    if (batch.length) send({ type: 'published', items: batch });
    batch = [];
  }, REPORT_EVERY_MS);

  // Process figures from the start of the measured window.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let cpuAt = process.cpuUsage();
  let wallAt = now();
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);

  const profiler = windowProfiler(start.profileDir, start.profileName ?? 'fanout.cpuprofile');
  let phase = 0;
  let inFlight = 0;
  const failures: string[] = [];

  /** Issues events at `rate`/s on a fixed schedule (open loop) until `count` or the next phase. */
  function schedule(rate: number, count: number, measured: boolean, maxMs: number): Promise<Published[]> {
    const mine = ++phase;
    const t0 = now();
    const interval = 1000 / rate;
    const done: Published[] = [];
    let issued = 0;
    let settled = 0;
    return new Promise((resolve) => {
      const finished = () => issued >= count || phase !== mine || now() - t0 > maxMs;
      const check = () => {
        if (finished() && settled === issued) resolve(done);
      };
      const pump = () => {
        const t = now();
        while (!finished() && inFlight < MAX_IN_FLIGHT && t0 + issued * interval <= t) {
          const index = issued++;
          const due = t0 + index * interval;
          const d = index % start.documents;
          inFlight++;
          pub
            .publish(d)
            .then(
              ({ id, at }) => {
                const p: Published = [id, measured ? index : -1, due, at, d];
                batch.push(p);
                done.push(p);
              },
              (err: unknown) => {
                failures.push(String(err));
              },
            )
            .finally(() => {
              inFlight--;
              settled++;
              check();
            });
        }
        if (!finished()) setTimeout(pump, Math.max(0, t0 + issued * interval - now()));
        else check();
      };
      pump();
    });
  }

  process.on('message', (m: ServerCommand) => {
    void (async () => {
      try {
        if (m.type === 'warmup') {
          void schedule(m.rate, m.count, false, Number.POSITIVE_INFINITY);
        } else if (m.type === 'measure') {
          phase++; // ends a warm-up round still going
          // Let warm-up publishes still in flight land first, so the window starts clean.
          while (inFlight) await new Promise((r) => setTimeout(r, 1));
          await profiler?.start();
          loop.reset();
          cpuAt = process.cpuUsage();
          wallAt = now();
          peakRss = process.memoryUsage().rss;
          const done = await schedule(m.rate, m.count, true, m.maxMs);
          if (failures.length) throw new Error(`${failures.length} publishes failed: ${failures[0]}`);
          const lags = done.map(([, , due, at]) => at - due);
          send({
            type: 'measured',
            count: done.length,
            firstDueAt: Math.min(...done.map((p) => p[2])),
            lastCommitAt: Math.max(...done.map((p) => p[3])),
            endedAt: now(),
            writeLagP50Ms: quantile(lags, 0.5),
            writeLagP99Ms: quantile(lags, 0.99),
            writeLagMaxMs: quantile(lags, 1),
          });
        } else if (m.type === 'stats') {
          await profiler?.stop();
          const cpu = process.cpuUsage(cpuAt);
          const mem = process.memoryUsage();
          send({
            type: 'stats',
            cpuMs: (cpu.user + cpu.system) / 1000,
            wallMs: now() - wallAt,
            rssMiB: mem.rss / 2 ** 20,
            peakRssMiB: Math.max(peakRss, mem.rss) / 2 ** 20,
            heapUsedMiB: mem.heapUsed / 2 ** 20,
            loopDelayP99Ms: loop.percentile(99) / 1e6,
            loopDelayMaxMs: loop.max / 1e6,
            storeKind: gateway?.store?.kind ?? 'none',
          });
        } else if (m.type === 'stop') {
          phase++;
          clearInterval(flush);
          clearInterval(sampler);
          loop.disable();
          await pub.close();
          await gateway?.stop();
          fs.rmSync(dataDir, { recursive: true, force: true });
          process.exit(0);
        }
      } catch (err) {
        send({ type: 'error', message: String((err as Error).stack ?? err) });
      }
    })();
  });
}

void main();
