import fs from 'node:fs';
import { sql } from 'kysely';
import { freshDataDir, startTestGateway, waitUntil, type TestGateway } from '../support/harness.js';

/** The events tables keep EVENTS_RETENTION_DAYS of events; older ones go, at start and hourly. */
let dataDir: string;
let t: TestGateway | null = null;
afterAll(async () => {
  await t?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('events older than the retention window are purged; newer ones stay for resuming subscribers', async () => {
  dataDir = await freshDataDir();
  t = await startTestGateway({ DATA_DIR: dataDir });
  const db = t.gateway.store!.db;
  await sql`insert into workflow.events (topic, payload, occurred_at) values
    ('CASE_UPDATED', '{"caseId":"old"}', now() - interval '10 days'),
    ('CASE_UPDATED', '{"caseId":"recent"}', now() - interval '1 day')`.execute(db);
  await sql`insert into communications.events (topic, payload, occurred_at) values
    ('DELIVERY_STATUS', '{"deliveryId":"old"}', now() - interval '10 days')`.execute(db);
  await t.stop();
  t = null;

  t = await startTestGateway({ DATA_DIR: dataDir, EVENTS_RETENTION_DAYS: '7' });
  const reopened = t.gateway.store!.db;
  // The purge runs as the gateway starts, in the background: wait until the old event went.
  await waitUntil(async () => {
    const { rows } = await sql<{
      n: string;
    }>`select count(*)::text as n from workflow.events where payload->>'caseId' = 'old'`.execute(reopened);
    return rows[0]!.n === '0';
  }, Date.now() + 30_000);
  const left = await sql<{
    case_id: string;
  }>`select payload->>'caseId' as case_id from workflow.events where payload->>'caseId' in ('old', 'recent')`.execute(
    reopened,
  );
  expect(left.rows.map((r) => r.case_id)).toEqual(['recent']);
  const comms = await sql<{
    n: string;
  }>`select count(*)::text as n from communications.events where payload->>'deliveryId' = 'old'`.execute(
    reopened,
  );
  expect(comms.rows[0]!.n).toBe('0');
  // Seeded events of the first start (minutes old) are all still there.
  const seeded = await sql<{ n: string }>`select count(*)::text as n from workflow.events`.execute(reopened);
  expect(Number(seeded.rows[0]!.n)).toBeGreaterThan(1);
});
