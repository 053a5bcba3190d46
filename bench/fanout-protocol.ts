/**
 * What the fan-out benchmark's processes say to each other over IPC
 * (bench/fanout.ts coordinates; fanout-server.ts holds the gateway and the
 * publisher; fanout-client.ts holds subscribers), and the latency histogram
 * they share.
 */

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes on one machine. */
export const now = (): number => performance.timeOrigin + performance.now();

/** The subscription every subscriber opens: the delivery stream, fields carried in the event itself. */
export const FANOUT_SUBSCRIPTION = /* GraphQL */ `
  subscription Fanout($documentId: ID) {
    deliveryStatusChanged(documentId: $documentId) {
      eventId
      occurredAt
      delivery {
        id
        status
        attempts
        updatedAt
      }
    }
  }
`;

export type ServerMode = 'gateway' | 'baseline';

/** The documentId of the benchmark's document number `d` (events go round robin over them). */
export const documentIdOf = (d: number): string => `doc_fanout_${d}`;

export interface ServerStart {
  type: 'start';
  mode: ServerMode;
  subscribers: number;
  /** Events with this many documents, round robin (1: every subscriber gets every event). */
  documents: number;
  databaseUrl?: string;
  /** Write a CPU profile of the measured window and drain here. */
  profileDir?: string;
  profileName?: string;
}

export type ServerCommand =
  | ServerStart
  /** One warm-up round: `count` events at `rate`/s, not measured. */
  | { type: 'warmup'; rate: number; count: number }
  /** The measured window: `count` events at `rate`/s, or as many as were issued by `maxMs`. */
  | { type: 'measure'; rate: number; count: number; maxMs: number }
  | { type: 'stats' }
  | { type: 'stop' };

/** One published event: its id, its index in the measured window (-1 in warm-up), when it was due and when it was committed. */
export type Published = [id: number, index: number, dueAt: number, committedAt: number, document: number];

export interface ServerStats {
  /** CPU time (user + system) of the server process since the measured window began, in ms. */
  cpuMs: number;
  wallMs: number;
  rssMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  /** Event-loop delay of the server process since the measured window began. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  storeKind: string;
}

export type ServerMessage =
  | { type: 'ready'; url: string; tokens: string[]; storeKind: string }
  | { type: 'published'; items: Published[] }
  | {
      type: 'measured';
      count: number;
      /** When the first window event was due and when the last was committed (`now()` times). */
      firstDueAt: number;
      lastCommitAt: number;
      /** When the schedule ended: the last commit, or later if a busy server stopped publishing at its time limit. */
      endedAt: number;
      /** Due time to commit: how late the store write finished against the schedule. */
      writeLagP50Ms: number;
      writeLagP99Ms: number;
      writeLagMaxMs: number;
    }
  | ({ type: 'stats' } & ServerStats)
  | { type: 'error'; message: string };

export interface ClientStart {
  type: 'start';
  url: string;
  tokens: string[];
  /** Per subscriber: the documentId it filters on, or null for all. */
  documents: Array<number | null>;
  /** Events the measured window will publish at most (indexes 0..window-1). */
  window: number;
  /** How many documents the events go round robin over. */
  documentCount: number;
  connectConcurrency: number;
}

export type ClientCommand =
  | ClientStart
  | { type: 'published'; items: Published[] }
  /** The window is over: `window` events were published; judge at `deadlineMs`. */
  | { type: 'drain'; deadlineMs: number; window: number }
  | { type: 'exit' };

export interface ClientResult {
  subscribers: number;
  /** Deliveries of window events received (first receipt of each). */
  received: number;
  expected: number;
  /** Window deliveries not received by the time the client judged. */
  missing: number;
  /** Window deliveries received, but after the deadline (to within 10 ms). */
  late: number;
  duplicates: number;
  outOfOrder: number;
  /** Subscribers that missed at least one window event. */
  subscribersMissing: number;
  /** Events nobody published in this run (warm-up excluded). */
  foreign: number;
  errors: number;
  closedEarly: number;
  /** Publish (after commit) to receipt, sparse (see histogramToSparse). */
  histogram: number[];
  /** Scheduled publish time to receipt: includes any delay before the event could even be written. */
  dueHistogram: number[];
  cpuMs: number;
  wallMs: number;
  /** When the last window delivery arrived (`now()` time; 0 if none did). */
  lastArrivalAt: number;
}

export type ClientMessage =
  | { type: 'connected'; connected: number; failed: number; firstError?: string }
  | {
      type: 'progress';
      /** Subscribers that have received anything. */
      warmed: number;
      /** Everything received so far (before the window: warm-up events). */
      receipts: number;
      complete: number;
      received: number;
    }
  | ({ type: 'result' } & ClientResult)
  /** The first error a subscriber saw, for the report. */
  | { type: 'note'; message: string };

/** Latency histogram: 0.1 ms bins up to 60 s (the last bin holds everything slower). */
export const HIST_BINS = 600_000;
export const HIST_STEP_MS = 0.1;

export function histogramAdd(h: Uint32Array, ms: number): void {
  const bin = Math.floor(Math.max(0, ms) / HIST_STEP_MS);
  h[Math.min(bin, HIST_BINS - 1)]!++;
}

/** Percentiles (0..1) of a histogram, in ms; the upper edge of the bin the rank falls in. */
export function histogramPercentiles(h: ArrayLike<number>, qs: number[]): number[] {
  let total = 0;
  for (let i = 0; i < h.length; i++) total += h[i]!;
  if (!total) return qs.map(() => NaN);
  const ranks = qs.map((q) => Math.max(1, Math.ceil(q * total)));
  const out = qs.map(() => NaN);
  let seen = 0;
  let next = 0;
  for (let i = 0; i < h.length && next < ranks.length; i++) {
    seen += h[i]!;
    while (next < ranks.length && seen >= ranks[next]!) out[next++] = (i + 1) * HIST_STEP_MS;
  }
  return out;
}

/** Sparse form for IPC: [bin, count, bin, count, ...]. */
export function histogramToSparse(h: Uint32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < h.length; i++) if (h[i]) out.push(i, h[i]!);
  return out;
}

export function histogramMergeSparse(into: Uint32Array, sparse: number[]): void {
  for (let i = 0; i < sparse.length; i += 2) into[sparse[i]!]! += sparse[i + 1]!;
}
