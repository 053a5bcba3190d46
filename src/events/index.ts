import { MemPubSub, type PubSub } from '@graphql-hive/pubsub';
import { RedisPubSub } from '@graphql-hive/pubsub/redis';
import { redisClient } from '../redis.js';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { SubgraphName } from '../config/index.js';
import { log } from '../logger.js';
import { activeTraceparent } from '../telemetry/tracing.js';
import { encodeSnapshot, SNAPSHOT_KEY, type Snapshotter } from './snapshot.js';

/**
 * Events: every externally visible change is written to its subgraph's
 * `events` table in the same transaction as the change (the outbox), and is
 * published on the bus only after that transaction commits. A subscriber
 * therefore never sees an event whose change was rolled back, and the event's
 * id (increasing per table, so per stream) is the resume cursor.
 *
 * Ids are handed out in commit order (see `Outbox.transaction`), so once an
 * event is visible every event with a smaller id that will ever be visible
 * already is. Subscribers read the table after the last id they delivered
 * (src/events/relay.ts); the bus only wakes them, and a publish lost with a
 * process that died right after its commit costs latency, never an event.
 */
export type Topic =
  | 'CASE_UPDATED'
  | 'DOCUMENT_STATUS'
  | 'DELIVERY_STATUS'
  | 'EXCEPTION_RAISED'
  | 'CUSTOMER_UPDATED'
  | 'DEADLINE_ALERT'
  | 'BATCH_PROGRESS'
  | 'TEMPLATE_UPDATED'
  /** Connected mode: an Exstream job began holding, was released, or left its hold (runtime monitor). */
  | 'HELD_JOB_UPDATED';

export interface BusEvent<P extends object = Record<string, unknown>> {
  id: string;
  source: SubgraphName;
  topic: Topic;
  occurredAt: string;
  payload: P;
  /**
   * The id of the topic's event before this one ('0' for the first), set by
   * the Outbox when it publishes. A reader whose cursor is exactly there can
   * pass the event on at once; any other reader reads the table instead.
   */
  prevId?: string;
  /** The W3C traceparent of the change that caused the event, when it was traced. */
  traceparent?: string | null;
}

/** The transport between the process that commits and the processes that subscribe. */
export interface EventBus {
  publish(event: BusEvent): Promise<void>;
  /** Calls `listener` for each event of the topic until the returned function is called. */
  listen(source: SubgraphName, topic: Topic, listener: (event: BusEvent) => void): () => void;
  close(): Promise<void>;
}

const channelOf = (source: SubgraphName, topic: Topic) => `${source}:${topic}`;

/**
 * A bus over a Hive PubSub: in-memory by default, Redis in production, so a
 * change committed by one replica reaches subscribers connected to another.
 */
class PubSubBus implements EventBus {
  private readonly listeners = new Set<() => void>();
  /** Subscribes and unsubscribes under way: `close` waits for them before the connections go. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly pubsub: PubSub<Record<string, BusEvent>>) {}

  async publish(event: BusEvent): Promise<void> {
    await this.pubsub.publish(channelOf(event.source, event.topic), event);
  }

  private track(work: Promise<unknown>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /**
   * A subscription the bus could not make (Redis away, or its subscribing connection not up yet)
   * is tried again, waiting longer each time, until it is made or the listener leaves: meanwhile
   * the listener's readers still find every event in the table on their poll (relay.ts), only
   * later. A failure here was a rejection nobody handled, which ends a Node process; so was an
   * unsubscribe still running when `close` ended the connections.
   */
  listen(source: SubgraphName, topic: Topic, listener: (event: BusEvent) => void): () => void {
    const channel = channelOf(source, topic);
    let unsubscribe: (() => unknown) | null = null;
    let left = false;
    let retry: NodeJS.Timeout | null = null;
    const leave = () => {
      if (left) return;
      left = true;
      this.listeners.delete(leave);
      if (retry) clearTimeout(retry);
      if (unsubscribe) {
        const off = unsubscribe;
        this.track(
          Promise.resolve()
            .then(off)
            .catch((err: unknown) => log.debug('event bus unsubscribe failed', { channel, err })),
        );
      }
    };
    const subscribe = (failures: number): void => {
      this.track(
        Promise.resolve()
          .then(() => this.pubsub.subscribe(channel, listener))
          .then(
            (off) => {
              unsubscribe = off;
              if (left) {
                left = false;
                leave();
              }
            },
            (err: unknown) => {
              if (left) return;
              const waitMs = Math.min(1_000 * 2 ** failures, 30_000);
              log.warn('event bus subscription failed; readers poll the events table until it is made', {
                channel,
                waitMs,
                err,
              });
              retry = setTimeout(() => subscribe(failures + 1), waitMs);
              retry.unref();
            },
          ),
      );
    };
    subscribe(0);
    this.listeners.add(leave);
    return leave;
  }

  async close(): Promise<void> {
    for (const leave of [...this.listeners]) leave();
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
    await this.pubsub.dispose();
  }
}

/** In-process bus, the embedded default. */
export class InProcessBus extends PubSubBus {
  constructor() {
    super(new MemPubSub<Record<string, BusEvent>>());
  }
}

/**
 * Redis bus (REDIS_URL): one publishing and one subscribing connection. Its channels are those of
 * one store (`openBus` names them): a message is a claim about that store's events table.
 */
export class RedisBus extends PubSubBus {
  constructor(url: string, channelPrefix: string) {
    super(
      new RedisPubSub<Record<string, BusEvent>>(
        {
          // A publish is only a wake-up now (subscribers read the events table), so
          // with Redis away it fails at once rather than holding a committed
          // mutation's answer through ioredis's retries and offline queue.
          pub: new (redisClient())(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false }),
          sub: new (redisClient())(url),
        },
        { channelPrefix },
      ),
    );
  }
}

/**
 * The bus of the processes that share this store: in-process without Redis, else Redis channels
 * named after the store (`commsgraph:<cluster system id>:<database oid>`).
 *
 * A bus message is trusted as the store's next event: the relay (relay.ts) hands an event whose
 * prevId is its cursor straight to subscribers and moves its cursor to that id, without a read.
 * Under one fixed channel name, every deployment on a Redis heard every other's events: two
 * stores' ids are alike (each counts from 1), so a reader took another store's event as its own
 * next one, passed it to its subscribers (a leak across deployments), and then skipped its own
 * events up to that id as already passed (lost for live subscribers; the cluster e2e received
 * nothing while a second cluster ran on the same Redis). Named after the store, a channel carries
 * only the events of the table its readers follow. The name comes from the database itself, so
 * every process on it agrees, however it reaches it (host names, poolers), with no setting.
 */
export async function openBus(redisUrl: string | undefined, db: Kysely<unknown>): Promise<EventBus> {
  if (!redisUrl) return new InProcessBus();
  return new RedisBus(redisUrl, `commsgraph:${await storeIdentity(db)}`);
}

/**
 * Which store this is, the same for every connection to it: the cluster's system identifier
 * (from its initdb) and the database's oid (a database dropped and made again is another store).
 */
export async function storeIdentity(db: Kysely<unknown>): Promise<string> {
  const { rows } = await sql<{ system: string; database: string }>`
    select (select system_identifier::text from pg_control_system()) as system,
           (select oid::text from pg_database where datname = current_database()) as database`.execute(db);
  const row = rows[0]!;
  return `${row.system}:${row.database}`;
}

/**
 * Emits an event inside a transaction: its row is written as the transaction's
 * last statement and it is published after commit.
 */
export type Emit = (topic: Topic, payload: Record<string, unknown>) => Promise<void>;

/**
 * First key of the transaction lock that makes event ids follow commit order
 * (the second is the schema's name hashed). Any fixed number nothing else uses.
 */
const EVENT_ORDER_LOCK = 1163284052; // 'EVNT'

/**
 * The write side of one subgraph's outbox. `transaction` runs `fn` in a
 * database transaction, collects the events it emits, writes them last, and
 * publishes them once the commit succeeded (in id order).
 *
 * The rows are written under a per-schema transaction lock, taken after
 * everything else the transaction does, so ids are allocated and committed in
 * one order: the lock is released only once the commit is visible, and the
 * next writer draws its ids after that. Without it, a transaction that drew
 * id 10 could commit after one that drew 11, and a reader that had moved its
 * cursor past 11 would never see 10. Holding the lock while inserting event
 * rows only (no other row is touched under it) cannot deadlock; the cost is
 * that event-writing commits of one schema are serialised.
 */
export class Outbox<DB> {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly source: SubgraphName,
    private readonly bus: EventBus,
    /** The subgraph's snapshot of each event's entity, stored with the event (src/events/snapshot.ts). */
    private readonly snapshot?: Snapshotter<DB>,
  ) {}

  async transaction<T>(fn: (tx: Transaction<DB>, emit: Emit) => Promise<T>): Promise<T> {
    let written: BusEvent[] = [];
    const result = await this.db.transaction().execute(async (tx) => {
      const pending: { topic: Topic; payload: Record<string, unknown> }[] = [];
      const emit: Emit = async (topic, payload) => {
        // The payload as it is now, should the caller change the object afterwards.
        pending.push({ topic, payload: JSON.parse(JSON.stringify(payload)) as Record<string, unknown> });
      };
      const value = await fn(tx, emit);
      if (pending.length) written = await this.write(tx, pending);
      return value;
    });
    for (const event of written) {
      try {
        await this.bus.publish(event);
      } catch (err) {
        // The change is committed and its event is in the table: subscribers read it
        // from there on their next poll. Failing the caller now would only make it retry.
        log.warn('event publish failed; subscribers will read it from the events table', {
          source: this.source,
          id: event.id,
          err,
        });
      }
    }
    if (written.length || this.listeners.size) for (const l of this.listeners) l();
    return result;
  }

  private async write(
    tx: Transaction<DB>,
    pending: { topic: Topic; payload: Record<string, unknown> }[],
  ): Promise<BusEvent[]> {
    const table = sql.table(`${this.source}.events`);
    await sql`select pg_advisory_xact_lock(${EVENT_ORDER_LOCK}::int, hashtext(${this.source}))`.execute(tx);
    // The change's trace, stored with its events: each delivery's span links back to it.
    const traceparent = activeTraceparent();
    // Taken under the lock, after everything else the transaction did: an event's snapshot
    // includes every change committed before the event's id was drawn (a batch's counts
    // moved by other transactions too), so a later event never shows an older state.
    const snapshots = this.snapshot ? await this.snapshot(tx, pending) : pending.map(() => null);
    const payloads = pending.map((e, i) => {
      const snapshot = snapshots[i];
      return snapshot ? { ...e.payload, [SNAPSHOT_KEY]: encodeSnapshot(snapshot) } : e.payload;
    });
    // All of the transaction's events in one insert. Under the lock every earlier event is
    // committed (or is this transaction's own), so each topic's newest id before this insert
    // is exactly the previous event of the topic; within the insert, the previous one of the
    // same topic. A VALUES list's rows take their ids in its order; the answer is sorted by id,
    // so the rows are matched to the events whatever order RETURNING gives them in.
    const topics = [...new Set(pending.map((e) => e.topic))];
    const { rows } = await sql<{ id: string; occurred_at: Date; prev: Record<string, string> }>`
      with prev as (
        select jsonb_build_object(${sql.join(
          topics.map(
            (t) =>
              sql`${t}::text, (select coalesce(max(p.id), 0)::text from ${table} p where p.topic = ${t})`,
          ),
        )}) as ids
      )
      insert into ${table} (topic, payload, traceparent)
      values ${sql.join(
        pending.map((e, i) => sql`(${e.topic}, ${JSON.stringify(payloads[i])}::jsonb, ${traceparent})`),
      )}
      returning id::text as id, occurred_at, (select ids from prev) as prev`.execute(tx);
    const ordered = [...rows].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    const before = new Map(Object.entries(ordered[0]!.prev));
    return pending.map((e, i) => {
      const row = ordered[i]!;
      const prevId = before.get(e.topic)!;
      before.set(e.topic, row.id);
      return {
        id: row.id,
        source: this.source,
        topic: e.topic,
        occurredAt: new Date(row.occurred_at).toISOString(),
        // As stored, so a live subscriber resolves the same payload a replay reads back.
        payload: payloads[i]!,
        prevId,
        traceparent,
      };
    });
  }

  /** Called after every commit; workers use it to wake up. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
