import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Tests that need the machine's PostgreSQL run in CI (`.ci/run` starts it and
 * sets TEST_DATABASE_URL) and skip, saying why, in a plain `npm test`.
 * Under CI=true a missing service is a failure, never a silent skip.
 */
export interface PostgresFixture {
  url: string;
  drop(): Promise<void>;
}

/**
 * The URL of a service the test needs, from the environment `.ci/run` sets.
 * Unset in a plain `npm test`: the caller skips (this says why). Unset
 * under CI=true: an error, since CI must run these tests.
 */
export function serviceUrl(variable: 'TEST_DATABASE_URL' | 'TEST_REDIS_URL', what: string): string | null {
  const url = process.env[variable];
  if (url) return url;
  if (process.env.CI === 'true') throw new Error(`${what} is required in CI but ${variable} is not set`);
  console.warn(`Skipping ${what} tests: ${variable} is not set (bash .ci/run starts ${what} and sets it).`);
  return null;
}

/** A database of its own for one test file, dropped afterwards. */
export async function freshDatabase(adminUrl: string): Promise<PostgresFixture> {
  const name = `commsgraph_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        // pg's Pool.end() resolves before its sockets have closed: a forced drop at once would
        // terminate connections still closing, and a pool without an 'error' listener turns that
        // into an unhandled error in the test file. Wait (a condition, bounded) for them to go.
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
          const { rows } = await c.query<{ n: string }>(
            'select count(*) as n from pg_stat_activity where datname = $1',
            [name],
          );
          if (rows[0]!.n === '0') break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
