import { sql, type Kysely } from 'kysely';
import type { SubgraphName } from '../config/index.js';
import type { BusEvent, Topic } from './index.js';

/**
 * The events table read back: a subscriber that lost its connection resumes
 * `after` the last eventId it saw, and the outbox relay (relay.ts) follows it
 * to feed live subscribers.
 */
export class EventLog {
  constructor(
    private readonly db: Kysely<unknown>,
    readonly source: SubgraphName,
  ) {}

  /** The newest event id of the topic ('0' when there is none): where a live-only reader starts. */
  async newest(topic: Topic): Promise<string> {
    const { rows } = await sql<{ id: string }>`
      select coalesce(max(id), 0)::text as id from ${sql.table(`${this.source}.events`)}
      where topic = ${topic}`.execute(this.db);
    return rows[0]!.id;
  }

  /**
   * The topic's events after `afterId`, in id order. Ids follow commit order
   * (see Outbox), so paging on with the last id returned never skips one.
   * Ordered by the column, not the text alias: as text, '100' sorts before '99'.
   */
  async after(topic: Topic, afterId: string, limit = 500): Promise<BusEvent[]> {
    const { rows } = await sql<{
      id: string;
      payload: Record<string, unknown>;
      occurred_at: Date;
      traceparent: string | null;
    }>`
      select e.id::text as id, e.payload, e.occurred_at, e.traceparent from ${sql.table(`${this.source}.events`)} e
      where e.topic = ${topic} and e.id > ${afterId}::bigint
      order by e.id limit ${limit}`.execute(this.db);
    return rows.map((r) => ({
      id: r.id,
      source: this.source,
      topic,
      occurredAt: new Date(r.occurred_at).toISOString(),
      payload: r.payload,
      traceparent: r.traceparent,
    }));
  }
}
