import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';
import { subscribe } from '../support/ws.js';

/**
 * Two gateway replicas on one PostgreSQL, events through Redis (REDIS_URL):
 * a change made through one replica reaches a subscriber of the other.
 * Needs PostgreSQL and Redis: CI provides both; a plain `npm test` skips.
 */
const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const redisUrl = serviceUrl('TEST_REDIS_URL', 'Redis');
const withServices = pgUrl && redisUrl ? describe : describe.skip;

withServices('replicas with a Redis bus', () => {
  let db: PostgresFixture;
  let dataDir: string;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    db = await freshDatabase(pgUrl!);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-replicas-'));
    const env = { DATA_DIR: dataDir, DATABASE_URL: db.url, REDIS_URL: redisUrl!, DELIVERY_STEP_MS: '20' };
    // Both start on the same empty database at once: one seeds, neither fails.
    [a, b] = await Promise.all([startTestGateway(env), startTestGateway({ ...env, SEED_DEMO: 'true' })]);
  }, 120_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a document generated through one replica is seen by a subscriber of the other', async () => {
    const svc = await a.token('svc', 'service');
    const after = await b.cursor('deliveryStatusChanged');
    const watcher = await subscribe<{
      deliveryStatusChanged: {
        eventId: string;
        delivery: { status: string };
        document: { id: string; customer: { name: string } };
      };
    }>(
      b.url,
      svc,
      `subscription ($after: ID) { deliveryStatusChanged(customerId: "cus_009", after: $after) { eventId delivery { status } document { id customer { name } } } }`,
      { after },
    );
    const r = await a.gql<{ generateDocument: { id: string } }>(
      `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }`,
      {
        input: {
          customerId: 'cus_009',
          templateId: 'tpl_billing_notice',
          channel: 'PRINT',
          data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
        },
      },
      svc,
    );
    expect(r.errors).toBeUndefined();
    const steps = await watcher.waitFor(
      (x) => x.some((e) => e.deliveryStatusChanged.delivery.status === 'DELIVERED'),
      20_000,
    );
    // Every event of the customer's deliveries, each once: exactly what the table holds.
    await a.settle();
    await b.settle();
    const ids = await b.eventIds('deliveryStatusChanged', after, { customerId: 'cus_009' });
    await watcher.waitFor((x) => x.length >= ids.length, 20_000);
    await watcher.close();
    expect(watcher.received.map((e) => e.deliveryStatusChanged.eventId)).toEqual(ids);
    const mine = watcher.received.filter(
      (e) => e.deliveryStatusChanged.document.id === r.data!.generateDocument.id,
    );
    // Each step once, whichever replica's delivery worker moved it.
    expect(mine.map((e) => e.deliveryStatusChanged.delivery.status)).toEqual([
      'PENDING',
      'SENT',
      'DELIVERED',
    ]);
    expect(steps[0]!.deliveryStatusChanged.document.customer.name).toBe('Oliver Bennett');
    const customers = await b.gql<{ customers: { totalCount: number } }>(
      `{ customers { totalCount } }`,
      {},
      svc,
    );
    expect(customers.data!.customers.totalCount).toBe(60);
  });
  test('two delivery workers on one store move each delivery once, a pass at a time', async () => {
    // Documents generated through both replicas at once: both replicas' delivery workers take
    // their deliveries in passes side by side. Each step must be taken, and announced, once.
    const svc = await a.token('svc', 'service');
    const generated = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).gql<{ generateDocument: { id: string } }>(
          `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }`,
          {
            input: {
              customerId: `cus_${String((i % 20) + 1).padStart(3, '0')}`,
              templateId: 'tpl_billing_notice',
              channel: 'PRINT',
              data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
            },
          },
          svc,
        ),
      ),
    );
    expect(generated.filter((r) => r.errors)).toEqual([]);
    // Both replicas' live workers move the deliveries; wait until every one has ended. (Not
    // settle(): a replica's settle sees a command the other replica holds under its lease as due
    // only when that lease runs out, a minute on.)
    const db = a.gateway.store!.db;
    const read = async () =>
      (
        await sql<{ id: string; status: string; attempts: number }>`
          select id, status, attempts from communications.deliveries`.execute(db)
      ).rows;
    let deliveries = await read();
    for (const deadline = Date.now() + 60_000; ;) {
      if (
        deliveries.length >= 40 &&
        deliveries.every((d) => d.status === 'DELIVERED' || d.status === 'FAILED')
      )
        break;
      if (Date.now() > deadline) throw new Error(`deliveries not ended: ${JSON.stringify(deliveries)}`);
      await new Promise((r) => setTimeout(r, 50));
      deliveries = await read();
    }
    expect(deliveries.length).toBeGreaterThanOrEqual(40);
    for (const d of deliveries) expect(['DELIVERED', 'FAILED']).toContain(d.status);
    // Sent once: a delivery sent by both workers is moved by one commit only.
    expect(deliveries.filter((d) => d.attempts !== 1)).toEqual([]);
    const { rows: steps } = await sql<{ delivery_id: string; status: string; n: string }>`
      select payload->>'deliveryId' as delivery_id, payload->'delivery'->>'status' as status,
        count(*)::text as n
      from communications.events where topic = 'DELIVERY_STATUS'
      group by 1, 2`.execute(db);
    expect(steps.filter((s) => s.n !== '1')).toEqual([]);
    const stepsOf = new Map<string, string[]>();
    for (const s of steps) stepsOf.set(s.delivery_id, [...(stepsOf.get(s.delivery_id) ?? []), s.status]);
    for (const d of deliveries) {
      const expected = d.status === 'DELIVERED' ? ['DELIVERED', 'PENDING', 'SENT'] : ['FAILED', 'PENDING'];
      expect({ id: d.id, steps: (stepsOf.get(d.id) ?? []).sort() }).toEqual({ id: d.id, steps: expected });
    }
  });
});
