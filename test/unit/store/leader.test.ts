import pg from 'pg';
import { electLeader, leaderLockKey, type Leadership } from '../../../src/store/leader.js';
import { waitUntil } from '../../support/harness.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../../support/services.js';

/**
 * Leader election on PostgreSQL: two replicas (two pools on one database), one leads; when the
 * leader's connection is killed it stands down and the other takes over; the old one competes again.
 */
const url = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const withPostgres = url ? describe : describe.skip;

test('lock keys are stable 32-bit integers per name', () => {
  // FNV-1a of "a" is 0xe40c292c: a fixed value, so replicas of any version agree.
  expect(leaderLockKey('a')).toBe(0xe40c292c | 0);
  expect(leaderLockKey('exstream-runtime-monitor')).not.toBe(leaderLockKey('workflow-poller'));
});

test('on PGlite (one process per data directory) the process leads at once, until stopped', async () => {
  const events: string[] = [];
  const leader = await electLeader(
    { kind: 'pglite', pool: new pg.Pool() },
    {
      name: 'solo',
      onElected: (signal) => {
        events.push('elected');
        signal.addEventListener('abort', () => events.push('aborted'));
      },
    },
  );
  await waitUntil(async () => events.includes('elected'), Date.now() + 5_000);
  expect(leader.leading).toBe(true);
  await leader.stop();
  expect(leader.leading).toBe(false);
  expect(events).toEqual(['elected', 'aborted']);
});

withPostgres('on PostgreSQL', () => {
  let fixture: PostgresFixture;
  const pools: pg.Pool[] = [];
  const leaders: Leadership[] = [];
  beforeAll(async () => {
    fixture = await freshDatabase(url!);
  });
  afterAll(async () => {
    await Promise.all(leaders.map((l) => l.stop()));
    await Promise.all(pools.map((p) => p.end()));
    await fixture?.drop();
  });

  const replica = async (name: string, running: Set<string>, id: string): Promise<Leadership> => {
    const pool = new pg.Pool({ connectionString: fixture.url, max: 2 });
    pools.push(pool);
    const l = await electLeader(
      { kind: 'postgres', pool },
      {
        name,
        checkMs: 50,
        onElected: (signal) =>
          new Promise<void>((resolve) => {
            running.add(id);
            signal.addEventListener('abort', () => {
              running.delete(id);
              resolve();
            });
          }),
      },
    );
    leaders.push(l);
    return l;
  };

  test('one of two replicas leads; a dropped connection hands over; stop releases', async () => {
    const running = new Set<string>();
    const a = await replica('election-a', running, 'a');
    const b = await replica('election-a', running, 'b');
    await waitUntil(async () => running.size === 1, Date.now() + 10_000);
    // Both have made their first attempt (electLeader resolves after it): exactly one leads.
    expect([a.leading, b.leading].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = a.leading ? [a, b] : [b, a];
    const followerId = a.leading ? 'b' : 'a';

    // The leader's session is killed, as a server restart or network loss would. pg_locks spans
    // the whole cluster: only this test's database, or other test files' leaders die too.
    const admin = new pg.Client({ connectionString: fixture.url });
    await admin.connect();
    try {
      await admin.query(
        `select pg_terminate_backend(pid) from pg_locks
         where locktype = 'advisory' and classid = $1 and granted
           and database = (select oid from pg_database where datname = current_database())`,
        [0x4c454144],
      );
    } finally {
      await admin.end();
    }
    await waitUntil(async () => follower.leading && running.has(followerId), Date.now() + 10_000);
    expect(leader.leading).toBe(false);
    expect([...running]).toEqual([followerId]);

    // Stopping the new leader releases the lock: the old one regains it.
    await follower.stop();
    await waitUntil(async () => leader.leading, Date.now() + 10_000);
    expect([...running]).toEqual([followerId === 'a' ? 'b' : 'a']);
  });

  test('different names are different elections', async () => {
    const running = new Set<string>();
    await replica('election-x', running, 'x');
    await replica('election-y', running, 'y');
    await waitUntil(async () => running.size === 2, Date.now() + 10_000);
  });
});
