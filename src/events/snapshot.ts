import DataLoader from 'dataloader';
import type { Transaction } from 'kysely';
import type { BusEvent, Topic } from './index.js';

/**
 * Event snapshots: what the owning subgraph held about an event's entity
 * when the event was written, stored in the event's row (payload key
 * `snapshot`) by the transaction that wrote it (see Outbox).
 *
 * A subscription resolves its events from the snapshot, replayed and live
 * alike, so a subscriber resuming `after` an eventId sees each event as a
 * live subscriber saw it (a case AWAITING_APPROVAL, then APPROVED, ...), not
 * every event showing the entity as it is now. Only the subgraph's own
 * fields come from it; fields another subgraph adds (a case's documents,
 * a document's customer) are resolved through the gateway when the event
 * is delivered, as before.
 *
 * A snapshot is stated in terms of the subgraph's DataLoaders: for each
 * loader, the value it would have given for a key inside the transaction.
 * The subscription primes a fresh set of loaders with it, so every resolver
 * of the subgraph, at any depth, reads the snapshot where it has the key and
 * the store where it does not (an entity the event only refers to).
 * Append-only trails (a case's or a template's history) are not copied:
 * the snapshot keeps the newest entry's id, and the trail is read up to it.
 *
 * Events written before snapshots existed (an older store) have none; they
 * resolve from the current rows, as every event did then.
 */
export interface EventSnapshot {
  /** Loader name → key → what the loader gives for the key, as the event's transaction left it. */
  loaded: Record<string, Record<string, unknown>>;
  /** Loader name → key → the newest id an append-only trail had at the event; later entries are left out. */
  upTo?: Record<string, Record<string, string>>;
}

/**
 * A subgraph's snapshots of the entities a transaction's events are about, taken inside the
 * transaction that writes them (after everything else it did), one per event, in order.
 * Null for an event no subscription resolves. All of a transaction's events are taken at
 * that one point, so a subgraph reads the entities of many events together (a set of
 * documents written at once) and gives each event what a read of its own would give.
 */
export type Snapshotter<DB> = (
  tx: Transaction<DB>,
  events: readonly { topic: Topic; payload: Readonly<Record<string, unknown>> }[],
) => Promise<(EventSnapshot | null)[]>;

/** A Snapshotter from a snapshot of one event, taken for each event in turn. */
export function eachEvent<DB>(
  snapshot: (
    tx: Transaction<DB>,
    topic: Topic,
    payload: Readonly<Record<string, unknown>>,
  ) => Promise<EventSnapshot | null>,
): Snapshotter<DB> {
  return async (tx, events) => {
    const snapshots: (EventSnapshot | null)[] = [];
    for (const e of events) snapshots.push(await snapshot(tx, e.topic, e.payload));
    return snapshots;
  };
}

/** The payload key a snapshot is stored under. */
export const SNAPSHOT_KEY = 'snapshot';

// Rows hold Dates, which JSON turns into strings: they are tagged so they come back as Dates.
// A stored object that happens to look like a tag (customer data is free-form) is escaped.
const DATE = '$date';
const ESCAPED = '$esc';
const isTagLike = (o: object) => {
  const keys = Object.keys(o);
  return keys.length === 1 && (keys[0] === DATE || keys[0] === ESCAPED);
};

function encode(value: unknown): unknown {
  if (value instanceof Date) return { [DATE]: value.toISOString() };
  if (Array.isArray(value)) return value.map(encode);
  if (value !== null && typeof value === 'object') {
    if (Buffer.isBuffer(value)) throw new Error('event snapshots hold no binary columns');
    const out = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
    return isTagLike(value) ? { [ESCAPED]: out } : out;
  }
  return value;
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (isTagLike(o) && typeof o[DATE] === 'string') return new Date(o[DATE]);
    const inner = isTagLike(o) && ESCAPED in o ? (o[ESCAPED] as Record<string, unknown>) : o;
    return Object.fromEntries(Object.entries(inner).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

/** The snapshot as stored in the event's JSON payload. */
export function encodeSnapshot(snapshot: EventSnapshot): unknown {
  return encode(snapshot);
}

/** An event's snapshot, or null for an event written without one (see above). */
export function snapshotOf(event: BusEvent): EventSnapshot | null {
  const stored = event.payload[SNAPSHOT_KEY];
  if (stored === null || typeof stored !== 'object') return null;
  const snapshot = decode(stored) as Partial<EventSnapshot>;
  return snapshot.loaded ? { loaded: snapshot.loaded, upTo: snapshot.upTo } : null;
}

/** The time an event's state is shown at: its own with a snapshot, now without one. */
export function asOf(event: BusEvent, snapshot: EventSnapshot | null): Date | undefined {
  return snapshot ? new Date(event.occurredAt) : undefined;
}

/**
 * Primes fresh loaders with a snapshot's values. A loader the snapshot names
 * that no longer exists (renamed in a later release) is skipped: those
 * values are read from the store.
 */
export function primeLoaders(loaders: object, snapshot: EventSnapshot | null): void {
  if (!snapshot) return;
  const byName = loaders as Record<string, unknown>;
  for (const [name, values] of Object.entries(snapshot.loaded)) {
    const loader = byName[name];
    if (!(loader instanceof DataLoader)) continue;
    // DataLoader's instanceof narrowing gives <any, any>; every loader here is keyed by string.
    const keyed = loader as DataLoader<string, unknown>;
    for (const [key, value] of Object.entries(values)) keyed.prime(key, value);
  }
}

/** A trail's entries up to the snapshot's mark for `key` (all of them without one). */
export function upToMark<R extends { id: string }>(
  snapshot: EventSnapshot | null,
  loader: string,
  key: string,
  rows: R[],
): R[] {
  const mark = snapshot?.upTo?.[loader]?.[key];
  if (mark === undefined) return rows;
  const last = BigInt(mark);
  return rows.filter((r) => BigInt(r.id) <= last);
}
