import type { SubgraphName } from '../config/index.js';
import type { BusEvent, EventBus, Topic } from '../events/index.js';
import type { EventLog } from '../events/log.js';
import { EventRelay, type RelayIndex } from '../events/relay.js';
import { ErrorCode, GraphQLErrorWithCode } from '../errors/index.js';
import { metrics } from '../telemetry/metrics.js';
import { traceDelivery } from '../telemetry/tracing.js';

/** The most selective of a subscription's id arguments, as a relay index; undefined when it has none. */
export function indexOf(args: Record<string, unknown>, fields: readonly string[]): RelayIndex | undefined {
  for (const field of fields) {
    const value = args[field];
    if (typeof value === 'string' && value) return { field, value };
  }
  return undefined;
}

/**
 * Events a stream holds for a subscriber that has not taken them yet. graphql-ws and the event
 * stream transport take the next event only once the previous one is written to the connection, so
 * a subscriber reading slower than its events arrive would otherwise hold the process's memory
 * without bound. Past this many, its stream ends with an error that says where to resume: the
 * events are in the table, and `after` replays them with no gap.
 */
export const MAX_QUEUED_EVENTS = 10_000;

/** Events a replay reads from the table at a time (the event log's page). */
const REPLAY_PAGE = 500;

/** The error a stream ends with when its subscriber fell `limit` events behind. */
export function subscriberTooSlow(resumeAfter: string | null, limit: number): GraphQLErrorWithCode {
  return new GraphQLErrorWithCode(
    `The subscriber fell more than ${limit} events behind; subscribe again` +
      (resumeAfter === null
        ? ' with after set to the last eventId received'
        : ` with after: "${resumeAfter}"`),
    ErrorCode.UPSTREAM_UNAVAILABLE,
    { reason: 'SUBSCRIBER_TOO_SLOW', ...(resumeAfter === null ? {} : { resumeAfter }) },
  );
}

/**
 * A subscription's source: the topic's events, filtered by the subscriber's
 * arguments. Live events come from the outbox relay (src/events/relay.ts):
 * as the bus brought them when they follow on from the last one, else read
 * from the events table; so an event reaches its subscribers even if the
 * process that committed it died before publishing, and in id order even if
 * bus messages overtook one another. With `after`, the events since that id
 * are replayed from the table first; live events arriving meanwhile wait,
 * and are passed on only past the last replayed id, so the seam has no gap
 * and no duplicate.
 *
 * The guarantee: each event of the topic committed after the subscription
 * started (or after `after`) that passes `keep`, once, in id order (which is
 * commit order, see Outbox). Dropping every id at or
 * below the last one passed on is exact, not a heuristic, because ids are
 * committed in order and both sources (replay, relay) deliver in id order.
 */
export function streamOf(
  bus: EventBus,
  source: SubgraphName,
  topic: Topic,
  keep: (e: BusEvent) => boolean,
  resume?: { log: EventLog; after: string | null },
  /** The payload field and value `keep` requires, if any: the relay then hands over only those events. */
  index?: RelayIndex,
  maxQueued = MAX_QUEUED_EVENTS,
): AsyncIterableIterator<BusEvent> {
  const after = resume?.after ?? null;
  metrics.subscriptionOpened(topic);
  const queue: BusEvent[] = [];
  const waiting: Array<{ resolve: (r: IteratorResult<BusEvent>) => void; reject: (err: unknown) => void }> =
    [];
  let done = false;
  // With the events table at hand every stream starts by reading it (see below); live events wait meanwhile.
  let replaying = resume !== undefined;
  let last = after === null ? -1n : BigInt(after);
  const held: BusEvent[] = [];
  let failure: unknown = null;
  /** The id of the last event handed to the subscriber: where it resumes if it falls behind. */
  let handedOut: string | null = after;

  const deliver = (e: BusEvent) => {
    const id = BigInt(e.id);
    if (id <= last) return; // seen already, in the replay or live
    last = id;
    if (!keep(e)) return;
    const w = waiting.shift();
    if (w) w.resolve({ value: e, done: false });
    else if (queue.length < maxQueued) queue.push(e);
    else {
      // What it has not taken is dropped with the stream; it resumes from the table.
      failure = subscriberTooSlow(handedOut, maxQueued);
      metrics.subscriberShed('stream');
      finish();
    }
  };
  /** Live events held during the replay were dropped (too many): the replay reads them from the table. */
  let heldDropped = false;
  const onEvent = (e: BusEvent) => {
    if (done) return;
    if (!replaying) deliver(e);
    else if (held.length < maxQueued) held.push(e);
    else {
      held.length = 0;
      heldDropped = true;
    }
  };
  /** Events a replay reads at a time: a page, or less when the stream has room for fewer. */
  const page = Math.max(1, Math.min(REPLAY_PAGE, Math.floor(maxQueued / 2)));
  const hasRoom = () => queue.length + page <= maxQueued;
  /** Wakes a replay waiting for the subscriber to take what it read (`room`). */
  let wakeReplay: (() => void) | null = null;
  const room = (): Promise<void> =>
    hasRoom() || done ? Promise.resolve() : new Promise<void>((r) => (wakeReplay = r));
  let feedStart: (cursor: bigint) => void = () => undefined;
  const started = new Promise<bigint>((resolve) => (feedStart = resolve));
  // Without a log (no caller does that today) there is only the bus: live events as published.
  const unsubscribe = resume
    ? EventRelay.for(resume.log, bus).follow(topic, onEvent, feedStart, index)
    : bus.listen(source, topic, onEvent);
  const finish = (): IteratorResult<BusEvent> => {
    if (!done) {
      done = true;
      metrics.subscriptionClosed(topic);
      unsubscribe();
      for (const w of waiting.splice(0)) w.resolve({ value: undefined, done: true });
      queue.length = 0;
      held.length = 0;
      wakeReplay?.();
    }
    return { value: undefined, done: true };
  };
  if (resume) {
    // Reads the table from `last` to its end, a page at a time, each page only once the subscriber
    // has taken most of the one before: a subscriber resuming far back is paced by its own reading,
    // not held in memory whole. Live events dropped while it read are read again (`heldDropped`).
    const replay = async () => {
      for (;;) {
        await room();
        if (done) return;
        heldDropped = false;
        const events = await resume.log.after(topic, last.toString(), page);
        for (const e of events) deliver(e);
        if (events.length < page && !heldDropped) break;
      }
    };
    void (async () => {
      try {
        // Without `after`, the stream starts at the newest event as it is read now: the
        // relay's reader may have started later than that (a new reader starts where
        // the table stands at its first read), and what lies between comes from the
        // table below, so an event committed once this subscription is under way is
        // never skipped, even one whose publish was lost.
        if (after === null) {
          last = BigInt(await resume.log.newest(topic));
          // Nothing handed out yet: a subscriber that falls behind resumes from where it started.
          handedOut ??= last.toString();
        } else await replay();
        // The live feed starts after some id; if that is past what the replay
        // read (a new reader starts at the newest id, read meanwhile), the
        // events in between come from the table too, before the held ones.
        const from = await started;
        if (!done && from > last) await replay();
        // Live events held meanwhile join the stream only if there is room for them all; if not,
        // they are dropped and read from the table at the subscriber's pace. No await between
        // this check and the switch to live: nothing held can be dropped unseen.
        while (!done && (heldDropped || queue.length + held.length > maxQueued)) {
          held.length = 0;
          heldDropped = true;
          await replay();
        }
        replaying = false;
        held.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
        for (const e of held.splice(0)) deliver(e);
      } catch (err) {
        // The subscriber gets the error (masked as unexpected), and nothing is left following the topic.
        failure = err;
        const pending = waiting.splice(0);
        finish();
        for (const w of pending) w.reject(err);
      }
    })();
  }
  /** Each event handed to the subscriber: counted, and a span linked to the change that caused it. */
  const delivering = (e: BusEvent): BusEvent => {
    handedOut = e.id;
    metrics.delivered(topic);
    traceDelivery(topic, e.id, e.traceparent);
    return e;
  };
  return {
    next: () => {
      if (failure) return Promise.reject(failure);
      if (queue.length) {
        const e = queue.shift()!;
        if (wakeReplay && hasRoom()) {
          const wake = wakeReplay;
          wakeReplay = null;
          wake();
        }
        return Promise.resolve({ value: delivering(e), done: false });
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise<IteratorResult<BusEvent>>((resolve, reject) =>
        waiting.push({ resolve, reject }),
      ).then((r) => (r.done ? r : { value: delivering(r.value), done: false }));
    },
    return: () => Promise.resolve(finish()),
    throw: (err?: unknown) => {
      finish();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
