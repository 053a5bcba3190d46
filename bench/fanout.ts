import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from './postgres.js';
import {
  HIST_BINS,
  HIST_STEP_MS,
  histogramMergeSparse,
  histogramPercentiles,
  now,
  type ClientCommand,
  type ClientMessage,
  type ClientResult,
  type ServerCommand,
  type ServerMessage,
  type ServerMode,
  type ServerStats,
} from './fanout-protocol.js';

/**
 * `npm run bench` (third part), or `npm run bench:fanout` alone: N graphql-ws
 * subscribers on one gateway process, each subscribed to
 * `deliveryStatusChanged`, while delivery events are published at a fixed
 * rate through the communications outbox (written, committed, published on
 * the bus, handed on by the outbox relay, filtered, authorised and resolved
 * once per group of equivalent subscriptions, sent to each). Prints publish-to-receive latency and what was lost.
 *
 * Three kinds of process, so the gateway has an event loop of its own: this
 * coordinator, the server (fanout-server.ts: the gateway and the publisher,
 * which must share the embedded store) and CLIENT_PROCS client processes
 * (fanout-client.ts). The baseline row replaces the gateway with a bare `ws`
 * server that sends one pre-serialised message per subscriber: the same
 * clients, the same machine, none of our code.
 *
 * Settings (environment, or KEY=value arguments):
 *   SUBSCRIBERS=10000 RATE=500 DURATION=10   the measured configuration (events/s, seconds)
 *   SWEEP=1000x100,10000x500                 several configurations instead, one row each
 *   MODES=gateway,baseline                   which servers each configuration runs on
 *   DOCUMENTS=1        >1: events go round robin over that many documents and each
 *                      subscriber filters on one (documentId argument) instead of all.
 *                      Unset with no SUBSCRIBERS, RATE or SWEEP: both issue-13 cases, broadcast
 *                      (every subscriber gets every event, on both servers) and filtered (10,000
 *                      subscribers each on one of 10,000 documents, 500 events/s, on the gateway)
 *   WARMUP=3           seconds of warm-up rounds before measuring: one event per document,
 *                      then wait until every subscriber has it (its subscription is live)
 *   DRAIN=10           seconds after the last publish for deliveries to arrive; later ones count as missing
 *   CLIENT_PROCS=2 CONNECT_CONCURRENCY=100   client processes; handshakes in flight per process
 *   BENCH_DATABASE_URL  PostgreSQL instead of the embedded PGlite store: a fresh database per run on
 *                       that URL's server, dropped after
 *   PROFILE_DIR         write a V8 CPU profile of each server process's window and drain there
 */

/** The p99 the target allows, and the target itself, for the verdict column. */
const TARGET = { subscribers: 10_000, rate: 500, p99Ms: 200 };

const settings = (() => {
  const args = Object.fromEntries(
    process.argv
      .slice(2)
      .map((a) => a.split('='))
      .filter((kv): kv is [string, string] => kv.length === 2),
  );
  const get = (key: string): string | undefined => args[key] ?? process.env[key];
  const num = (key: string, fallback: number): number => {
    const raw = get(key);
    const v = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${key}: a number, got ${raw}`);
    return v;
  };
  const modes = (get('MODES') ?? 'gateway,baseline').split(',').map((m) => m.trim()) as ServerMode[];
  for (const m of modes)
    if (m !== 'gateway' && m !== 'baseline') throw new Error(`MODES: gateway or baseline, got ${m}`);
  const subscribers = num('SUBSCRIBERS', 10_000);
  const rate = num('RATE', 500);
  const sweep = (get('SWEEP') ?? `${subscribers}x${rate}`).split(',').map((s) => {
    const [n, r] = s.trim().split('x').map(Number);
    if (!n || !r) throw new Error(`SWEEP: subscribersxrate, comma separated; got ${s}`);
    return { subscribers: n, rate: r };
  });
  const documents = Math.max(1, Math.round(num('DOCUMENTS', 1)));
  // With nothing chosen, the run prints every fan-out figure issue 13 asks for: the broadcast case
  // on both servers, then the filtered one on the gateway (the baseline sends what it is given, so
  // filtering would not change it).
  const defaults = get('DOCUMENTS') === undefined && !get('SWEEP') && !get('SUBSCRIBERS') && !get('RATE');
  const runs = sweep.flatMap((c) => modes.map((mode) => ({ ...c, mode, documents })));
  if (defaults && modes.includes('gateway'))
    runs.push({
      subscribers: TARGET.subscribers,
      rate: TARGET.rate,
      mode: 'gateway',
      documents: TARGET.subscribers,
    });
  return {
    runs,
    durationSec: num('DURATION', 10),
    warmupSec: num('WARMUP', 3),
    drainSec: num('DRAIN', 10),
    clientProcs: Math.max(1, Math.round(num('CLIENT_PROCS', 2))),
    connectConcurrency: Math.max(1, Math.round(num('CONNECT_CONCURRENCY', 100))),
    databaseUrl: get('BENCH_DATABASE_URL') || undefined,
    profileDir: get('PROFILE_DIR') || undefined,
  };
})();

/**
 * Broadcast (every subscriber receives every event, DOCUMENTS=1): deliveries per second one
 * gateway process must reach, nothing lost (issue 13: half of a bare ws server's 75-100k here).
 */
const BROADCAST_TARGET = 40_000;
/** How long one warm-up round may take to reach every subscriber before the run goes on regardless. */
const WARMUP_TIMEOUT_MS = 60_000;
/**
 * A server too busy to publish on schedule stops publishing after DURATION times this;
 * the window then has fewer events and the achieved rate column says so.
 */
const WINDOW_OVERRUN = 2;
/** Warm-up events/s when each subscriber filters on its own document (a round is one event per document). */
const WARMUP_FILTERED_RATE = 1000;

interface Row {
  mode: ServerMode;
  subscribers: number;
  rate: number;
  /** 1: every subscriber gets every event (broadcast); more: each filters on one of that many documents. */
  documents: number;
  connected: number;
  failedConnects: number;
  connectSec: number;
  unwarmed: number;
  published: number;
  achievedRate: number;
  writeLagP99Ms: number;
  expected: number;
  received: number;
  /** Not received within DRAIN s of the last publish: never (by the time the client judged), or late. */
  missing: number;
  late: number;
  subscribersMissing: number;
  duplicates: number;
  outOfOrder: number;
  foreign: number;
  errors: number;
  closedEarly: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  dueP99: number;
  deliveriesPerSec: number;
  server: ServerStats;
  clientCpuPct: number;
  notes: string[];
}

/** A child process with typed messages and a way to wait for the next one that matches. */
class Child<In, Out extends { type: string }> {
  private readonly waiters: Array<{ match: (m: Out) => boolean; resolve: (m: Out) => void }> = [];
  private exited: Error | null = null;
  readonly exit: Promise<void>;

  constructor(
    readonly proc: ChildProcess,
    private readonly listener: (m: Out) => void = () => undefined,
  ) {
    proc.on('message', (m: Out) => {
      this.listener(m);
      const i = this.waiters.findIndex((w) => w.match(m));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    });
    this.exit = new Promise((resolve) =>
      proc.once('exit', (code) => {
        this.exited = new Error(`${path.basename(String(proc.spawnfile))} child exited with ${code}`);
        resolve();
      }),
    );
  }

  send(m: In): void {
    if (this.proc.connected) this.proc.send(m as object);
  }

  next<T extends Out['type']>(type: T, timeoutMs = 600_000): Promise<Extract<Out, { type: T }>> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      const waiter = {
        match: (m: Out) => m.type === type,
        resolve: (m: Out) => {
          clearTimeout(timer);
          resolve(m as Extract<Out, { type: T }>);
        },
      };
      this.waiters.push(waiter);
      void this.exit.then(() => {
        clearTimeout(timer);
        reject(this.exited);
      });
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A deadline that does not keep this process alive on its own. */
const deadline = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

async function runOnce(spec: {
  mode: ServerMode;
  subscribers: number;
  rate: number;
  documents: number;
}): Promise<Row> {
  const { mode, subscribers, rate, documents } = spec;
  const window = Math.round(rate * settings.durationSec);
  const notes: string[] = [];
  const log = (s: string) =>
    console.log(
      `  [${mode} ${subscribers}x${rate}${documents > 1 ? ` over ${documents} documents` : ''}] ${s}`,
    );

  const clients: Array<Child<ClientCommand, ClientMessage>> = [];
  // The server reports what went wrong (a failed start or publish) instead of the answer awaited.
  let serverFailed: (err: Error) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (serverFailed = reject));
  failure.catch(() => undefined);
  const server = new Child<ServerCommand, ServerMessage>(
    fork(path.join(__dirname, 'fanout-server.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    (m) => {
      if (m.type === 'published') for (const c of clients) c.send(m);
      else if (m.type === 'error') serverFailed(new Error(`server: ${m.message}`));
    },
  );
  const fromServer = <T extends ServerMessage['type']>(type: T, timeoutMs?: number) =>
    Promise.race([server.next(type, timeoutMs), failure]);
  // On PostgreSQL each run gets a fresh database of its own, so no run sees another's rows.
  const fresh =
    mode === 'gateway' && settings.databaseUrl
      ? await freshDatabase(settings.databaseUrl, 'bench_fanout')
      : null;
  try {
    server.send({
      type: 'start',
      mode,
      subscribers,
      documents,
      databaseUrl: fresh?.url,
      profileDir: settings.profileDir,
      profileName: `fanout-${mode}-${subscribers}x${rate}${documents > 1 ? `-d${documents}` : ''}.cpuprofile`,
    });
    const ready = await fromServer('ready');

    // Subscribers are spread over the client processes; with DOCUMENTS > 1 each filters on one.
    const progress = new Map<number, Extract<ClientMessage, { type: 'progress' }>>();
    const t0 = now();
    for (let p = 0; p < settings.clientProcs; p++) {
      const from = Math.floor((subscribers * p) / settings.clientProcs);
      const to = Math.floor((subscribers * (p + 1)) / settings.clientProcs);
      if (to <= from) continue;
      const idx = clients.length;
      const child = new Child<ClientCommand, ClientMessage>(
        fork(path.join(__dirname, 'fanout-client.js'), [], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
        (m) => {
          if (m.type === 'progress') progress.set(idx, m);
          else if (m.type === 'note' && !notes.includes(`client: ${m.message}`))
            notes.push(`client: ${m.message}`);
        },
      );
      clients.push(child);
      child.send({
        type: 'start',
        url: ready.url,
        tokens: Array.from({ length: to - from }, (_, i) => ready.tokens[from + i] ?? ''),
        documents: Array.from({ length: to - from }, (_, i) =>
          documents > 1 ? (from + i) % documents : null,
        ),
        window,
        documentCount: documents,
        connectConcurrency: settings.connectConcurrency,
      });
    }
    const connects = await Promise.all(clients.map((c) => c.next('connected')));
    const connected = connects.reduce((a, c) => a + c.connected, 0);
    const failedConnects = connects.reduce((a, c) => a + c.failed, 0);
    const connectSec = (now() - t0) / 1000;
    for (const c of connects) if (c.firstError) notes.push(`connect: ${c.firstError}`);
    log(`${connected} subscribers connected in ${connectSec.toFixed(1)} s (${failedConnects} failed)`);

    // Warm-up, in rounds: one event per document (at most RATE/s), then wait until every
    // subscriber has it. Every subscription is then live on the server, the code paths are
    // warm, and no backlog is carried into the window.
    const sum = (k: 'warmed' | 'receipts') => [...progress.values()].reduce((a, p) => a + p[k], 0);
    const warmStart = now();
    let rounds = 0;
    let unwarmed = 0;
    while (rounds === 0 || now() - warmStart < settings.warmupSec * 1000) {
      rounds++;
      // Filtering subscribers need one event per document each round: those go out faster.
      server.send({
        type: 'warmup',
        rate: documents > 1 ? Math.max(rate, WARMUP_FILTERED_RATE) : rate,
        count: documents,
      });
      const roundStart = now();
      while (sum('receipts') < rounds * connected && now() - roundStart < WARMUP_TIMEOUT_MS) await sleep(20);
      if (sum('receipts') < rounds * connected) {
        unwarmed = connected - sum('warmed');
        notes.push(
          `warm-up round ${rounds} not delivered to everyone within ${WARMUP_TIMEOUT_MS / 1000} s (${unwarmed} subscribers had nothing)`,
        );
        break;
      }
    }
    log(
      `warm-up: ${rounds} rounds in ${((now() - warmStart) / 1000).toFixed(1)} s; measuring ${settings.durationSec} s...`,
    );

    server.send({
      type: 'measure',
      rate,
      count: window,
      maxMs: settings.durationSec * 1000 * WINDOW_OVERRUN,
    });
    const measured = await fromServer('measured');
    // Give the last 'published' batch a moment to reach the clients before they judge.
    await sleep(50);
    log(`published ${measured.count} events; waiting up to ${settings.drainSec} s for deliveries...`);
    for (const c of clients)
      c.send({
        type: 'drain',
        deadlineMs: measured.lastCommitAt + settings.drainSec * 1000,
        window: measured.count,
      });
    const results = await Promise.all(clients.map((c) => c.next('result', (settings.drainSec + 120) * 1000)));
    server.send({ type: 'stats' });
    const stats = await fromServer('stats');

    const hist = new Uint32Array(HIST_BINS);
    const dueHist = new Uint32Array(HIST_BINS);
    const total = (k: keyof ClientResult) => results.reduce((a, r) => a + (r[k] as number), 0);
    for (const r of results) {
      histogramMergeSparse(hist, r.histogram);
      histogramMergeSparse(dueHist, r.dueHistogram);
    }
    const [p50, p95, p99, max] = histogramPercentiles(hist, [0.5, 0.95, 0.99, 1]) as [
      number,
      number,
      number,
      number,
    ];
    const [dueP99] = histogramPercentiles(dueHist, [0.99]) as [number];
    const lastArrival = Math.max(...results.map((r) => r.lastArrivalAt));
    const windowStart = measured.firstDueAt;
    const received = total('received');
    const clientWall = Math.max(...results.map((r) => r.wallMs));
    return {
      mode,
      subscribers,
      rate,
      documents,
      connected,
      failedConnects,
      connectSec,
      unwarmed,
      published: measured.count,
      achievedRate: measured.count / ((measured.endedAt - measured.firstDueAt) / 1000),
      writeLagP99Ms: measured.writeLagP99Ms,
      expected: total('expected'),
      received,
      missing: total('missing') + total('late'),
      late: total('late'),
      subscribersMissing: total('subscribersMissing'),
      duplicates: total('duplicates'),
      outOfOrder: total('outOfOrder'),
      foreign: total('foreign'),
      errors: total('errors'),
      closedEarly: total('closedEarly'),
      p50,
      p95,
      p99,
      max,
      dueP99,
      deliveriesPerSec: lastArrival > windowStart ? received / ((lastArrival - windowStart) / 1000) : 0,
      server: stats,
      clientCpuPct: clientWall > 0 ? (total('cpuMs') / clientWall) * 100 : 0,
      notes,
    };
  } finally {
    for (const c of clients) c.send({ type: 'exit' });
    await Promise.all(clients.map((c) => Promise.race([c.exit, deadline(30_000)])));
    for (const c of clients) if (c.proc.exitCode === null) c.proc.kill();
    server.send({ type: 'stop' });
    await Promise.race([server.exit, deadline(60_000)]);
    if (server.proc.exitCode === null) server.proc.kill();
    await fresh?.drop().catch((err: unknown) => console.error(`could not drop database ${fresh.name}`, err));
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
/** A latency; the histogram's last bin holds everything from its ceiling up. */
const ms = (n: number, digits = 1) => (n >= HIST_BINS * HIST_STEP_MS ? '>60000' : fmt(n, digits));
const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** Which events a row's subscribers receive: all of them, or those of one document each. */
function filterLabel(r: Row): string {
  return r.documents === 1 ? 'broadcast' : `filtered over ${r.documents} documents`;
}

function verdict(r: Row): string {
  const ok =
    r.failedConnects === 0 &&
    r.missing === 0 &&
    r.duplicates === 0 &&
    r.foreign === 0 &&
    r.errors === 0 &&
    r.p99 <= TARGET.p99Ms &&
    r.achievedRate >= r.rate * 0.98;
  return ok ? 'ok' : 'FAILS';
}

function report(rows: Row[], totalSec: number): void {
  const cpus = os.cpus();
  const cols: Array<[string, number, (r: Row) => string]> = [
    ['server', 9, (r) => r.mode],
    ['subs', 7, (r) => String(r.subscribers)],
    ['ev/s', 5, (r) => String(r.rate)],
    ['filter', 8, (r) => (r.documents === 1 ? 'all' : `1/${r.documents}`)],
    ['achieved', 9, (r) => fmt(r.achievedRate)],
    ['deliveries exp.', 16, (r) => int(r.expected)],
    ['received', 12, (r) => int(r.received)],
    ['missing', 12, (r) => int(r.missing)],
    ['dup', 5, (r) => String(r.duplicates)],
    ['p50 ms', 8, (r) => ms(r.p50)],
    ['p95 ms', 8, (r) => ms(r.p95)],
    ['p99 ms', 8, (r) => ms(r.p99)],
    ['max ms', 8, (r) => ms(r.max, 0)],
    ['deliv./s', 9, (r) => int(r.deliveriesPerSec)],
    ['srv CPU', 8, (r) => `${fmt((r.server.cpuMs / r.server.wallMs) * 100)}%`],
    ['cli CPU', 8, (r) => `${fmt(r.clientCpuPct)}%`],
    ['srv RSS', 8, (r) => `${fmt(r.server.peakRssMiB)}M`],
    ['verdict', 7, (r) => verdict(r)],
  ];
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(cols[i]![1])).join(' ');
  const out = [
    '',
    `Fan-out: graphql-ws subscribers of deliveryStatusChanged on one server process, events at a fixed rate for ${settings.durationSec} s`,
    '',
    line(cols.map((c) => c[0])),
    ...rows.map((r) => line(cols.map((c) => c[2](r)))),
    '',
    'Per row: achieved = events published per second, first due to last published; deliveries exp. = subscribers x events',
    `(each subscriber must receive each one); missing = not received within ${settings.drainSec} s of the last publish;`,
    'latency = publish (outbox commit handed to the bus; baseline: just before sending) to receipt in the client process;',
    'deliv./s = deliveries received per second from the first publish to the last receipt; srv CPU = server process',
    'CPU over window and drain (100% = one core); cli CPU = all client processes together; verdict ok = the schedule',
    `was kept (>= 98%), p99 <= ${TARGET.p99Ms} ms, nothing missing, duplicated or extra, every subscriber connected.`,
    '',
  ];
  const broadcast = rows.filter((r) => r.documents === 1 && r.mode === 'gateway');
  if (broadcast.length) {
    out.push(
      `Broadcast target: >= ${int(BROADCAST_TARGET)} deliveries/s from one gateway process, nothing missing (deliv./s above;`,
      'server CPU per delivery = server CPU time over window and drain / deliveries, publishing and the store included):',
    );
    for (const r of broadcast) {
      const base = rows.find(
        (x) =>
          x.mode === 'baseline' && x.documents === 1 && x.subscribers === r.subscribers && x.rate === r.rate,
      );
      const lost = r.missing + r.duplicates + r.outOfOrder + r.foreign;
      out.push(
        `  gateway ${r.subscribers}x${r.rate}: ${int(r.deliveriesPerSec)}/s = ${fmt(r.deliveriesPerSec / BROADCAST_TARGET, 2)}x the target` +
          `, ${lost ? `${int(lost)} missing, duplicated, out of order or foreign` : 'nothing lost'}` +
          `; ${r.received ? fmt((r.server.cpuMs * 1000) / r.received, 1) : '-'} µs server CPU per delivery` +
          (base
            ? `; baseline in this run ${int(base.deliveriesPerSec)}/s (gateway/baseline ${fmt(r.deliveriesPerSec / Math.max(1, base.deliveriesPerSec), 2)})`
            : ''),
      );
    }
    out.push('');
  }
  const filtered = rows.filter((r) => r.documents > 1 && r.mode === 'gateway');
  if (filtered.length) {
    out.push(
      `Filtered target: ${int(TARGET.subscribers)} subscribers each on one document, ${TARGET.rate} events/s, p99 <= ${TARGET.p99Ms} ms, nothing lost:`,
    );
    for (const r of filtered) {
      const lost = r.missing + r.duplicates + r.outOfOrder + r.foreign;
      out.push(
        `  gateway ${r.subscribers}x${r.rate}, each on one of ${r.documents} documents: p99 ${ms(r.p99)} ms` +
          `, ${lost ? `${int(lost)} missing, duplicated, out of order or foreign` : 'nothing lost'}: ${verdict(r) === 'ok' ? 'PASS' : 'MISS'}`,
      );
    }
    out.push('');
  }
  for (const r of rows) {
    const extra = [
      `connected ${r.connected}/${r.subscribers} in ${fmt(r.connectSec, 1)} s`,
      `schedule-to-receive p99 ${ms(r.dueP99)} ms`,
      `publish lag behind schedule p99 ${fmt(r.writeLagP99Ms, 1)} ms`,
      `server event-loop delay p99 ${fmt(r.server.loopDelayP99Ms, 1)} ms (max ${fmt(r.server.loopDelayMaxMs)})`,
      `missing: ${int(r.late)} arrived late, ${int(r.missing - r.late)} never (${r.subscribersMissing} subscribers)`,
      `out of order ${r.outOfOrder}, foreign ${r.foreign}, errors ${r.errors}, closed early ${r.closedEarly}`,
    ];
    out.push(
      `  ${r.mode} ${r.subscribers}x${r.rate} ${filterLabel(r)} (${r.server.storeKind}): ${extra.join('; ')}`,
    );
    for (const n of r.notes.slice(0, 5)) out.push(`    note: ${n}`);
  }
  out.push(
    '',
    'How it was measured:',
    `  One machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${os.platform()} ${os.arch()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end.`,
    `  gateway: startGateway in its own process (in-process subgraphs, ${settings.databaseUrl ? 'PostgreSQL' : 'embedded PGlite'} store, rate limiter off:`,
    '    RATE_LIMIT_PER_MINUTE=0 and RATE_LIMIT_ANONYMOUS_PER_MINUTE=0, since each subscribe counts), one token per subscriber (role operations).',
    '    Each event: a transaction on the communications outbox emitting the DELIVERY_STATUS payload a delivery step emits',
    '    (emitDelivery), committed and published on the gateway bus by the outbox itself; the outbox relay hands it to',
    '    every subscription stream of the topic, which filters, authorises and resolves it. Subscriptions with the same',
    '    document, variables and read access share one stream and one execution; each gets the serialised result with its id.',
    '    No other writes run.',
    '  baseline: a bare ws server speaking the graphql-ws messages by hand; one JSON payload per event, one send per subscriber;',
    '    it holds the next event back while a socket has over 1 MiB unsent (rather than buffer without end), so slow clients slow it.',
    `  Clients: ${settings.clientProcs} processes of graphql-ws createClient (ws), one socket and one subscription per subscriber,`,
    '    in a row with filter "all" every subscriber receives every event; with "1/N" each filters on one of N documents',
    `    (events round robin over them); they share the ${cpus.length} cores with the server.`,
    `  Warm-up: rounds of one event per document, each waited for until every subscriber had it, for at least ${settings.warmupSec} s.`,
    `  Window: RATE x ${settings.durationSec} events issued on a fixed schedule (open loop, up to 64 in flight); a server too busy to keep`,
    `    the schedule stops after ${settings.durationSec * WINDOW_OVERRUN} s. Clock: performance.timeOrigin + performance.now() in each process.`,
    `  Target: ${TARGET.subscribers} subscribers, ${TARGET.rate} ev/s, p99 <= ${TARGET.p99Ms} ms, nothing missing. Total run ${fmt(totalSec, 0)} s.`,
  );
  console.log(out.join('\n'));
}

async function main(): Promise<void> {
  const started = now();
  const rows: Row[] = [];
  for (const spec of settings.runs) {
    console.log(
      `fan-out: ${spec.mode}, ${spec.subscribers} subscribers, ${spec.rate} events/s, ${spec.documents === 1 ? 'broadcast' : `each on one of ${spec.documents} documents`}...`,
    );
    rows.push(await runOnce(spec));
  }
  report(rows, (now() - started) / 1000);
  if (settings.profileDir) console.log(`  CPU profiles in ${settings.profileDir}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
