import { MemPubSub, type PubSub } from '@graphql-hive/pubsub';
import { RedisPubSub } from '@graphql-hive/pubsub/redis';
import { Redis } from 'ioredis';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { SubgraphName } from '../config/index.js';

/**
 * Events: every externally visible change is written to its subgraph's
 * `events` table in the same transaction as the change (the outbox), and is
 * published on the bus only after that transaction commits. A subscriber
 * therefore never sees an event whose change was rolled back, and the event's
 * id (increasing per table, so per stream) is the resume cursor.
 */
export type Topic =
  | 'CASE_UPDATED'
  | 'DOCUMENT_STATUS'
  | 'DELIVERY_STATUS'
  | 'EXCEPTION_RAISED'
  | 'CUSTOMER_UPDATED'
  | 'DEADLINE_ALERT'
  | 'BATCH_PROGRESS'
  | 'TEMPLATE_UPDATED';

export interface BusEvent<P extends object = Record<string, unknown>> {
  id: string;
  source: SubgraphName;
  topic: Topic;
  occurredAt: string;
  payload: P;
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
  private readonly unsubscribers = new Set<() => void>();

  constructor(private readonly pubsub: PubSub<Record<string, BusEvent>>) {}

  async publish(event: BusEvent): Promise<void> {
    await this.pubsub.publish(channelOf(event.source, event.topic), event);
  }

  listen(source: SubgraphName, topic: Topic, listener: (event: BusEvent) => void): () => void {
    let off: (() => void) | null = null;
    let cancelled = false;
    const done = () => {
      cancelled = true;
      this.unsubscribers.delete(done);
      off?.();
    };
    void Promise.resolve(this.pubsub.subscribe(channelOf(source, topic), listener)).then((unsubscribe) => {
      off = () => void unsubscribe();
      if (cancelled) off();
    });
    this.unsubscribers.add(done);
    return done;
  }

  async close(): Promise<void> {
    for (const off of [...this.unsubscribers]) off();
    await this.pubsub.dispose();
  }
}

/** In-process bus, the embedded default. */
export class InProcessBus extends PubSubBus {
  constructor() {
    super(new MemPubSub<Record<string, BusEvent>>());
  }
}

/** Redis bus (REDIS_URL): one publishing and one subscribing connection. */
export class RedisBus extends PubSubBus {
  constructor(url: string, channelPrefix = 'commsgraph') {
    super(
      new RedisPubSub<Record<string, BusEvent>>(
        { pub: new Redis(url), sub: new Redis(url) },
        { channelPrefix },
      ),
    );
  }
}

/** Emits an event inside a transaction; it is published after commit. */
export type Emit = (topic: Topic, payload: Record<string, unknown>) => Promise<BusEvent>;

/**
 * The write side of one subgraph's outbox. `transaction` runs `fn` in a
 * database transaction, collects the events it emits, and publishes them once
 * the commit succeeded (in id order).
 */
export class Outbox<DB> {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly source: SubgraphName,
    private readonly bus: EventBus,
  ) {}

  async transaction<T>(fn: (tx: Transaction<DB>, emit: Emit) => Promise<T>): Promise<T> {
    const pending: BusEvent[] = [];
    const table = sql.table(`${this.source}.events`);
    const result = await this.db.transaction().execute(async (tx) => {
      const emit: Emit = async (topic, payload) => {
        const { rows } = await sql<{ id: string; occurred_at: Date }>`
          insert into ${table} (topic, payload) values (${topic}, ${JSON.stringify(payload)}::jsonb)
          returning id, occurred_at`.execute(tx);
        const row = rows[0]!;
        const event: BusEvent = {
          id: String(row.id),
          source: this.source,
          topic,
          occurredAt: new Date(row.occurred_at).toISOString(),
          payload,
        };
        pending.push(event);
        return event;
      };
      return fn(tx, emit);
    });
    for (const event of pending) await this.bus.publish(event);
    if (pending.length || this.listeners.size) for (const l of this.listeners) l();
    return result;
  }

  /** Called after every commit; workers use it to wake up. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
