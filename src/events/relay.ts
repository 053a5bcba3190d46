import { log } from '../logger.js';
import { OutageLog } from '../store/connection-errors.js';
import { metrics } from '../telemetry/metrics.js';
import type { BusEvent, EventBus, Topic } from './index.js';
import type { EventLog } from './log.js';

/**
 * The outbox relay: carries committed events from a subgraph's events table
 * to the subscriptions open in this process.
 *
 * Per topic, one reader per process follows the table by id (its cursor)
 * and hands every event, in id order, to each subscription of that topic
 * here. A bus message (from this process or, with Redis, any other) carries
 * the event and the id of the topic's event before it: if that is the
 * cursor, the event is passed on as it is, with no read; otherwise (a
 * message overtook another, or one never came) the reader reads the table
 * after its cursor. A timer every RELAY_POLL_MS reads it too. An event
 * committed by a process that died before it could publish, or while the
 * bus was down, is therefore still passed on, at most one poll later, by
 * every process that has subscribers for it.
 *
 * Why reading by cursor misses nothing: the Outbox hands out event ids in
 * commit order, so when an id is visible every smaller id that will ever be
 * visible already is (a rolled-back transaction's id never appears). A reader
 * that has seen id N can therefore ask for "id > N" and lose nothing, and so
 * can a client resuming `after` N, on this replica or any other.
 *
 * Cost: one indexed read per topic per RELAY_POLL_MS while the topic has
 * subscribers here, and one per gap noticed (gaps noticed during a read are
 * folded into the next one, at most one read per RELAY_MIN_GAP_MS). A topic
 * nobody here subscribes to is not read at all.
 */

/** How often a followed topic is read with no wake-up: the longest a lost publish delays an event. */
export const RELAY_POLL_MS = 1_000;
/** Least time between two reads of one topic, so a burst of events costs a few reads, not one each. */
export const RELAY_MIN_GAP_MS = 20;
const PAGE = 500;

export type RelayListener = (event: BusEvent) => void;

/**
 * A listener that wants only the events whose payload has `field` = `value`
 * (a subscription for one document, case or batch). The reader hands such an
 * event to those listeners alone, so an event costs work for its own
 * subscribers, not for every subscription of the topic in the process.
 */
export interface RelayIndex {
  field: string;
  value: string;
}

/** The events of one topic, read in id order for the listeners of this process. */
class TopicReader {
  private readonly listeners = new Set<RelayListener>();
  /** Listeners that take every event. */
  private readonly everyEvent = new Set<RelayListener>();
  /** field → value → listeners that take only events whose payload has that value. */
  private readonly byValue = new Map<string, Map<string, Set<RelayListener>>>();
  /** The last id handed to listeners; null until the first read of this activation. */
  private cursor: bigint | null = null;
  /** Where the earliest event heard before the cursor was known starts: the reader starts there. */
  private heardFrom: bigint | null = null;
  /** Bumped on every (de)activation, so a read started before it leaves the new state alone. */
  private generation = 0;
  private offBus: (() => void) | null = null;
  private poll: NodeJS.Timeout | null = null;
  private scheduled: NodeJS.Timeout | null = null;
  private reading = false;
  private again = false;
  private lastRead = 0;
  /** Told where the feed starts once the cursor is known (see `follow`). */
  private starting: Array<(cursor: bigint) => void> = [];
  /** The database away: said once, then each poll reads again from the cursor until it answers. */
  private readonly outage: OutageLog;

  constructor(
    private readonly events: EventLog,
    private readonly bus: EventBus,
    private readonly topic: Topic,
  ) {
    this.outage = new OutageLog('event relay', { source: events.source, topic });
  }

  add(listener: RelayListener, onStart?: (cursor: bigint) => void, index?: RelayIndex): () => void {
    this.listeners.add(listener);
    let bucket: Set<RelayListener>;
    if (index) {
      let values = this.byValue.get(index.field);
      if (!values) this.byValue.set(index.field, (values = new Map()));
      let found = values.get(index.value);
      if (!found) values.set(index.value, (found = new Set()));
      bucket = found;
    } else bucket = this.everyEvent;
    bucket.add(listener);
    if (this.listeners.size === 1) this.activate();
    if (onStart) {
      if (this.cursor !== null) {
        const at = this.cursor;
        queueMicrotask(() => onStart(at));
      } else this.starting.push(onStart);
    }
    return () => {
      bucket.delete(listener);
      if (index && !bucket.size) {
        const values = this.byValue.get(index.field);
        values?.delete(index.value);
        if (values && !values.size) this.byValue.delete(index.field);
      }
      if (this.listeners.delete(listener) && this.listeners.size === 0) this.deactivate();
    };
  }

  private activate(): void {
    this.generation++;
    this.cursor = null;
    this.heardFrom = null;
    this.offBus = this.bus.listen(this.events.source, this.topic, (event) => this.heard(event));
    this.poll = setInterval(() => this.wake(), RELAY_POLL_MS);
    this.poll.unref();
    this.wake();
  }

  private deactivate(): void {
    this.generation++;
    this.cursor = null;
    this.starting = [];
    this.offBus?.();
    this.offBus = null;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    if (this.scheduled) clearTimeout(this.scheduled);
    this.scheduled = null;
  }

  /**
   * A bus message. The event right after the cursor (the publisher says which
   * event came before it) is passed on at once, with no read: the usual case,
   * as fast as the bus. One already passed on is ignored. Anything else (it
   * overtook an earlier event on its way, or the cursor is not known yet)
   * is a reason to read the table.
   */
  private heard(event: BusEvent): void {
    const id = BigInt(event.id);
    const before = event.prevId !== undefined ? BigInt(event.prevId) : id - 1n;
    if (this.cursor !== null) {
      if (id <= this.cursor) return;
      if (before === this.cursor) {
        this.pass(event);
        return;
      }
    } else if (this.heardFrom === null || before < this.heardFrom) {
      // Committed after the first subscriber came, maybe before the newest id is read: keep it.
      this.heardFrom = before;
    }
    this.wake();
  }

  /** Hands the event to the listeners that want it; only ever the event after the cursor. */
  private pass(event: BusEvent): void {
    this.cursor = BigInt(event.id);
    metrics.relayed(this.events.source, event.occurredAt);
    // Copied before calling: a listener may unsubscribe (itself or others) while being called.
    const targets = [...this.everyEvent];
    for (const [field, values] of this.byValue) {
      const value = event.payload[field];
      const wanting = typeof value === 'string' ? values.get(value) : undefined;
      if (wanting) targets.push(...wanting);
    }
    for (const listener of targets) {
      try {
        listener(event);
      } catch (err) {
        log.error('event listener failed', { topic: this.topic, id: event.id, err });
      }
    }
  }

  private wake(): void {
    if (!this.listeners.size) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    const wait = Math.max(0, this.lastRead + RELAY_MIN_GAP_MS - Date.now());
    this.scheduled = setTimeout(() => {
      this.scheduled = null;
      void this.read();
    }, wait);
  }

  private async read(): Promise<void> {
    const generation = this.generation;
    this.reading = true;
    this.again = false;
    try {
      if (this.cursor === null) {
        // A new reader starts at the newest event: its subscribers asked for what happens next.
        const newest = BigInt(await this.events.newest(this.topic));
        if (generation !== this.generation) return;
        this.cursor = this.heardFrom !== null && this.heardFrom < newest ? this.heardFrom : newest;
        const at = this.cursor;
        for (const started of this.starting.splice(0)) started(at);
      }
      for (;;) {
        const page = await this.events.after(this.topic, this.cursor.toString(), PAGE);
        if (generation !== this.generation) return;
        // Events the bus passed on while this read was under way are skipped here.
        for (const event of page) if (BigInt(event.id) > this.cursor) this.pass(event);
        if (page.length < PAGE) break;
      }
      this.outage.ok();
    } catch (err) {
      // The store is away (or shutting down): the next wake-up or poll reads again from the
      // cursor, so nothing committed meanwhile is lost, and nothing already passed on repeats.
      if (generation === this.generation && !this.outage.failed(err))
        log.warn('reading events failed; retrying', { source: this.events.source, topic: this.topic, err });
    } finally {
      this.reading = false;
      this.lastRead = Date.now();
      if (this.again) this.wake();
    }
  }
}

const relays = new WeakMap<EventLog, WeakMap<EventBus, EventRelay>>();

/** The relay of one subgraph's events table in this process, shared by all its subscriptions. */
export class EventRelay {
  private readonly readers = new Map<Topic, TopicReader>();

  private constructor(
    private readonly events: EventLog,
    private readonly bus: EventBus,
  ) {}

  /** One relay per events table and bus in a process, so each topic is read once for everyone. */
  static for(events: EventLog, bus: EventBus): EventRelay {
    let byBus = relays.get(events);
    if (!byBus) relays.set(events, (byBus = new WeakMap()));
    let relay = byBus.get(bus);
    if (!relay) byBus.set(bus, (relay = new EventRelay(events, bus)));
    return relay;
  }

  /**
   * Calls `listener` with each event of the topic committed from about now on,
   * in id order, each once, until the returned function is called. `onStart`
   * learns the id the feed starts after: every event the listener gets has a
   * larger id, so a subscriber replaying from the table reads up to at least
   * that id itself (a new reader starts at the newest id it finds, which may
   * be later than a replay running at the same time has read).
   */
  follow(
    topic: Topic,
    listener: RelayListener,
    onStart?: (cursor: bigint) => void,
    index?: RelayIndex,
  ): () => void {
    let reader = this.readers.get(topic);
    if (!reader) this.readers.set(topic, (reader = new TopicReader(this.events, this.bus, topic)));
    return reader.add(listener, onStart, index);
  }
}
