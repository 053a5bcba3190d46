import pg from 'pg';
import { startJobs, type Jobs } from '../../src/jobs/index.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';

/**
 * Replicas, workers and subgraph services start together on one PostgreSQL. Each sets up the
 * job queue on start; side by side, pg-boss's queue creation deadlocked (40P01) and the replica
 * that lost failed to start. Every one of them must start, and each must be able to enqueue.
 */
const url = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const withPostgres = url ? describe : describe.skip;

withPostgres('job queue setup on PostgreSQL', () => {
  let db: PostgresFixture;
  const pools: pg.Pool[] = [];
  const started: Jobs[] = [];

  beforeAll(async () => {
    db = await freshDatabase(url!);
  });

  afterAll(async () => {
    await Promise.all(started.map((j) => j.stop()));
    await Promise.all(pools.map((p) => p.end()));
    await db?.drop();
  });

  test('six processes starting at once on a fresh database all start', async () => {
    for (let i = 0; i < 6; i++) pools.push(new pg.Pool({ connectionString: db.url, max: 4 }));
    const results = await Promise.allSettled(pools.map((pool) => startJobs({ kind: 'postgres', pool })));
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(failures).toEqual([]);

    await started[5]!.enqueueNoticeRecords([{ batchId: 'b1', customerId: 'cus_001', channel: 'EMAIL' }]);
    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    try {
      const { rows } = await check.query<{ n: string }>(
        `select count(*) as n from pgboss.job where name = 'notice-record'`,
      );
      expect(Number(rows[0]!.n)).toBe(1);
    } finally {
      await check.end();
    }
  });
});
