import type { Store } from './db.js';

/**
 * Runs `work` while holding a PostgreSQL session advisory lock on its own connection, so that
 * replicas starting together on one database take turns at it. PGlite is one process with one
 * connection (the data directory is locked): nothing to serialise there, and holding its only
 * connection would starve `work`.
 */
export async function exclusively<T>(
  store: Pick<Store, 'kind' | 'pool'>,
  key: number,
  work: () => Promise<T>,
): Promise<T> {
  if (store.kind !== 'postgres') return work();
  const client = await store.pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [key]);
    try {
      return await work();
    } finally {
      await client.query('select pg_advisory_unlock($1)', [key]);
    }
  } finally {
    client.release();
  }
}
