import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import {
  FANOUT_SUBSCRIPTION,
  HIST_BINS,
  documentIdOf,
  histogramAdd,
  histogramToSparse,
  now,
  type ClientCommand,
  type ClientMessage,
  type ClientStart,
} from './fanout-protocol.js';

/**
 * Subscribers of the fan-out benchmark, forked by bench/fanout.ts: one
 * graphql-ws client (one socket, one subscription) per subscriber, as a
 * browser would open it. It learns from the coordinator which event ids were
 * published, in which order and when, and counts per subscriber what arrived:
 * each window event once, nothing missing, nothing extra, in id order, with
 * the publish-to-receipt time of every delivery in a histogram.
 */

type Payload = { deliveryStatusChanged?: { eventId?: string } };

const send = (m: ClientMessage) => process.send!(m);

/** A subscription error: GraphQL errors, an Error, or the socket's close event. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  const close = err as { code?: unknown; reason?: unknown };
  if (typeof close?.code === 'number') return `socket closed: ${close.code} ${String(close.reason ?? '')}`;
  return JSON.stringify(err).slice(0, 300);
}
const PROGRESS_EVERY_MS = 250;
const ARRIVAL_SLOT_MS = 10;

function run(start: ClientStart): void {
  const n = start.tokens.length;
  const W = start.window;
  const bytesPer = Math.ceil(W / 8) || 1;
  const seen = new Uint8Array(n * bytesPer);
  const received = new Uint32Array(n);
  const duplicates = new Uint32Array(n);
  const lastId = new Float64Array(n).fill(-1);
  const warmed = new Uint8Array(n);
  // Until the window is over, as if all of it will be published; then what actually was.
  const expectedOf = (count: number) => {
    const D = start.documentCount;
    return start.documents.map((d) => (d === null ? count : Math.floor(count / D) + (d < count % D ? 1 : 0)));
  };
  let expected = expectedOf(W);
  const commitAt = new Float64Array(W);
  const dueAt = new Float64Array(W);
  const docOf = new Int32Array(W);
  const indexOf = new Map<number, number>();
  const hist = new Uint32Array(HIST_BINS);
  const dueHist = new Uint32Array(HIST_BINS);
  let pending: number[] = []; // subscriber, id, time; for ids the coordinator has not named yet
  let warmedCount = 0;
  let complete = 0;
  let receipts = 0;
  let totalReceived = 0;
  let outOfOrder = 0;
  let wrongDocument = 0;
  let errors = 0;
  let firstError: string | undefined;
  let closedEarly = 0;
  let lastArrival = 0;
  // Window deliveries per 10 ms of arrival time, to count those that came after the deadline
  // even when this process (or the coordinator) only got round to judging later.
  const arrivalBase = now();
  const arrivals = new Map<number, number>();
  let cpuAt: NodeJS.CpuUsage | null = null;
  let wallAt = 0;
  const clients: Client[] = [];

  const account = (sub: number, id: number, index: number, t: number) => {
    if (index < 0) return; // warm-up
    const doc = start.documents[sub];
    if (doc != null && docOf[index] !== doc) {
      wrongDocument++;
      return;
    }
    const byte = sub * bytesPer + (index >> 3);
    const bit = 1 << (index & 7);
    if (seen[byte]! & bit) {
      duplicates[sub]!++;
      return;
    }
    seen[byte]! |= bit;
    received[sub]!++;
    totalReceived++;
    histogramAdd(hist, t - commitAt[index]!);
    histogramAdd(dueHist, t - dueAt[index]!);
    if (t > lastArrival) lastArrival = t;
    const slot = Math.floor((t - arrivalBase) / ARRIVAL_SLOT_MS);
    arrivals.set(slot, (arrivals.get(slot) ?? 0) + 1);
    if (received[sub] === expected[sub]) complete++;
    void id;
  };
  const countComplete = () => {
    complete = 0;
    for (let s = 0; s < n; s++) if (received[s]! >= expected[s]!) complete++;
  };

  const onNext = (sub: number, result: FormattedExecutionResult<Payload, unknown>) => {
    const t = now();
    const eventId = result.data?.deliveryStatusChanged?.eventId;
    if (result.errors?.length || !eventId) {
      errors++;
      firstError ??= JSON.stringify(result.errors ?? result).slice(0, 300);
      return;
    }
    const id = Number(eventId);
    receipts++;
    if (!warmed[sub]) {
      warmed[sub] = 1;
      warmedCount++;
    }
    if (id < lastId[sub]!) outOfOrder++;
    else lastId[sub] = id;
    const index = indexOf.get(id);
    if (index === undefined) pending.push(sub, id, t);
    else account(sub, id, index, t);
  };

  const open = (sub: number) =>
    new Promise<boolean>((resolve) => {
      const token = start.tokens[sub];
      let up = false;
      const doc = start.documents[sub];
      const client = createClient({
        url: start.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: true,
        connectionAckWaitTimeout: 120_000,
        on: {
          connected: () => {
            up = true;
            resolve(true);
          },
          closed: (e) => {
            if (up) closedEarly++;
            else {
              firstError ??= `closed before ack: ${(e as { code?: number; reason?: string }).code} ${(e as { reason?: string }).reason ?? ''}`;
              resolve(false);
            }
          },
        },
      });
      clients.push(client);
      client.subscribe<Payload>(
        { query: FANOUT_SUBSCRIPTION, variables: doc == null ? {} : { documentId: documentIdOf(doc) } },
        {
          next: (r) => onNext(sub, r),
          error: (err) => {
            errors++;
            firstError ??= describe(err);
          },
          complete: () => undefined,
        },
      );
    });

  void (async () => {
    let next = 0;
    let connected = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: Math.min(start.connectConcurrency, n) }, async () => {
        while (next < n) {
          if (await open(next++)) connected++;
          else failed++;
        }
      }),
    );
    send({ type: 'connected', connected, failed, firstError });
  })();

  const progress = setInterval(
    () => send({ type: 'progress', warmed: warmedCount, receipts, complete, received: totalReceived }),
    PROGRESS_EVERY_MS,
  );

  process.on('message', (m: ClientCommand) => {
    if (m.type === 'published') {
      for (const [id, index, due, at, doc] of m.items) {
        indexOf.set(id, index);
        if (index >= 0) {
          if (!cpuAt) {
            cpuAt = process.cpuUsage();
            wallAt = now();
          }
          commitAt[index] = at;
          dueAt[index] = due;
          docOf[index] = doc;
        }
      }
      if (pending.length) {
        const waiting = pending;
        pending = [];
        for (let i = 0; i < waiting.length; i += 3) {
          const [sub, id, t] = [waiting[i]!, waiting[i + 1]!, waiting[i + 2]!];
          const index = indexOf.get(id);
          if (index === undefined) pending.push(sub, id, t);
          else account(sub, id, index, t);
        }
      }
    } else if (m.type === 'drain') {
      expected = expectedOf(m.window);
      countComplete();
      const finish = () => {
        clearInterval(progress);
        let missing = 0;
        let late = 0;
        for (const [slot, count] of arrivals)
          if (arrivalBase + slot * ARRIVAL_SLOT_MS >= m.deadlineMs) late += count;
        let subscribersMissing = 0;
        let dup = 0;
        for (let s = 0; s < n; s++) {
          const gap = expected[s]! - received[s]!;
          missing += gap;
          if (gap) subscribersMissing++;
          dup += duplicates[s]!;
        }
        const cpu = process.cpuUsage(cpuAt ?? undefined);
        send({
          type: 'result',
          subscribers: n,
          received: totalReceived,
          expected: expected.reduce((a, b) => a + b, 0),
          missing,
          late,
          duplicates: dup,
          outOfOrder,
          subscribersMissing,
          foreign: pending.length / 3 + wrongDocument,
          errors,
          closedEarly,
          histogram: histogramToSparse(hist),
          dueHistogram: histogramToSparse(dueHist),
          cpuMs: (cpu.user + cpu.system) / 1000,
          wallMs: now() - wallAt,
          lastArrivalAt: lastArrival,
        });
        if (firstError) send({ type: 'note', message: firstError });
      };
      const wait = () => {
        if (complete >= n || now() >= m.deadlineMs) finish();
        else setTimeout(wait, 20);
      };
      wait();
    } else if (m.type === 'exit') {
      // The sockets go with the process; the server sees them close.
      process.exit(0);
    }
  });
}

process.once('message', (m: ClientCommand) => {
  if (m.type === 'start') run(m);
});
