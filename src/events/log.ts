import { sql, type Kysely } from 'kysely';
import type { SubgraphName } from '../config/index.js';
import type { BusEvent, Topic } from './index.js';

/**
 * The events table read back: a subscriber that lost its connection resumes
 * `after` the last eventId it saw, from the same rows the bus published.
 */
export class EventLog {
  constructor(
    private readonly db: Kysely<unknown>,
    private readonly source: SubgraphName,
  ) {}

  async after(topic: Topic, afterId: string, limit = 500): Promise<BusEvent[]> {
    const { rows } = await sql<{ id: string; payload: Record<string, unknown>; occurred_at: Date }>`
      select id::text as id, payload, occurred_at from ${sql.table(`${this.source}.events`)}
      where topic = ${topic} and id > ${afterId}::bigint order by id limit ${limit}`.execute(this.db);
    return rows.map((r) => ({
      id: r.id,
      source: this.source,
      topic,
      occurredAt: new Date(r.occurred_at).toISOString(),
      payload: r.payload,
    }));
  }
}
