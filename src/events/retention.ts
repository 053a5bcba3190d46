import { sql, type Kysely } from 'kysely';
import type { SubgraphName } from '../config/index.js';

/**
 * Keeps a subgraph's events table to its retention window. Subscribers
 * resume from it (`after`), so the window is how long a subscriber may be
 * away and still miss nothing; older rows go. Returns how many rows went.
 */
export async function purgeEvents(
  db: Kysely<unknown>,
  source: SubgraphName,
  retentionDays: number,
): Promise<number> {
  const result = await sql`delete from ${sql.table(`${source}.events`)}
    where occurred_at < now() - ${`${retentionDays} days`}::interval`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/** Runs the purge now and then every `everyMs`; returns the stop function. */
export function retainEvents(
  db: Kysely<unknown>,
  source: SubgraphName,
  retentionDays: number,
  everyMs = 3_600_000,
  onError: (err: unknown) => void = () => undefined,
): () => void {
  const run = () => void purgeEvents(db, source, retentionDays).catch(onError);
  const timer = setInterval(run, everyMs);
  timer.unref();
  run();
  return () => clearInterval(timer);
}
