import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL server a benchmark creates its fresh database on: `BENCH_DATABASE_URL`, or the
 * CI machine's (trust auth, database `test`). The benchmarks never write into that database
 * itself: each run creates one of its own there and drops it at the end, so runs on a shared
 * server cannot see each other's rows and every run starts from the same empty store.
 */
export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function adminUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.BENCH_DATABASE_URL || DEFAULT_ADMIN_URL;
}

export function databaseUrlFor(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface FreshDatabase {
  name: string;
  url: string;
  /** The server's `server_version`. */
  version: string;
  /** Drops it (with force: a benchmark's processes may still hold connections when it fails). */
  drop(): Promise<void>;
}

/** A new, empty database named `<prefix>_<random>` on the admin URL's server. */
export async function freshDatabase(adminUrl: string, prefix: string): Promise<FreshDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const version = await withAdmin(adminUrl, async (c) => {
    await c.query(`create database ${name}`);
    const r = await c.query<{ server_version: string }>('show server_version');
    return r.rows[0]?.server_version ?? 'unknown';
  });
  return {
    name,
    url: databaseUrlFor(adminUrl, name),
    version,
    drop: () =>
      withAdmin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(
        () => undefined,
      ),
  };
}
