import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely, type KyselyPlugin } from 'kysely';
import { loadConfig } from '../../src/config/index.js';
import { DeliveryWorker } from '../../src/datasources/communications/delivery.js';
import { BRANDS, createOutboxChannels } from '../../src/datasources/communications/engine/index.js';
import type { CommunicationsService } from '../../src/datasources/communications/service.js';
import { seedTemplates } from '../../src/datasources/communications/seeding.js';
import { InProcessBus, Outbox } from '../../src/events/index.js';
import { openStore, type Store } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrations/index.js';
import { sliceOf, type CommunicationsDB } from '../../src/store/tables.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';

/**
 * Two delivery workers on one PostgreSQL (the communications service and the batch worker of the
 * cluster): each step of a delivery is committed once, with one event, however their passes
 * interleave. Here one worker's pass reads the pending deliveries, the other sends one of them and
 * commits it SENT, and then the first reads the confirmations due (a step of 0 ms: at once), where
 * the same delivery now is. Needs PostgreSQL: CI provides it; a plain `npm test` skips.
 */
const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const withPostgres = pgUrl ? describe : describe.skip;

/**
 * The service is called only for a delivery that fails (its exception); none fails here, so the
 * workers get none: a call would throw and fail the test.
 */
const noService = new Proxy({} as CommunicationsService, {
  get: (_, name) => {
    throw new Error(`the delivery worker called the service (${String(name)}): a delivery failed`);
  },
});

withPostgres('delivery workers side by side', () => {
  let fixture: PostgresFixture;
  let store: Store;
  let dataDir: string;
  let db: Kysely<CommunicationsDB>;

  beforeAll(async () => {
    fixture = await freshDatabase(pgUrl!);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-delivery-workers-'));
    store = await openStore(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: fixture.url }));
    await migrate(store.db as unknown as Kysely<unknown>);
    db = sliceOf<CommunicationsDB>(store.db);
    await seedTemplates(db);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await fixture?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A generated document with one PENDING web delivery, as generation leaves it. */
  async function pendingDelivery(id: string): Promise<void> {
    const version = await db
      .selectFrom('communications.template_versions')
      .select('id')
      .limit(1)
      .executeTakeFirstOrThrow();
    const brand = Object.keys(BRANDS)[0]!;
    await db
      .insertInto('communications.documents')
      .values({
        id: `doc_${id}`,
        status: 'GENERATED',
        channel: 'WEB',
        customer_id: 'cus_race',
        case_id: `case_${id}`,
        template_version_id: version.id,
        snapshot: JSON.stringify({
          customer: {
            id: 'cus_race',
            name: 'Ada Race',
            email: 'ada@example.test',
            phone: null,
            address: null,
            locale: 'en',
            brand,
            segments: [],
          },
          data: {},
          issuedAt: '2026-01-01',
        }),
        content_hash: null,
        media_type: 'application/pdf',
        reissue_of: null,
        idempotency_key: null,
        output_note: null,
        requested_by: 'test',
      })
      .execute();
    await db
      .insertInto('communications.document_parts')
      .values({
        document_id: `doc_${id}`,
        name: 'document.pdf',
        media_type: 'application/pdf',
        body: Buffer.from('%PDF-1.4\n%test\n'),
      })
      .execute();
    await db
      .insertInto('communications.deliveries')
      .values({
        id: `dlv_${id}`,
        document_id: `doc_${id}`,
        channel: 'WEB',
        status: 'PENDING',
        attempts: 0,
        address: 'web:cus_race',
        location: null,
        last_error: null,
      })
      .execute();
  }

  test('a delivery the other worker sent between a pass’s two reads is confirmed once, with one event', async () => {
    await pendingDelivery('race');
    const bus = new InProcessBus();
    const channels = createOutboxChannels(path.join(dataDir, 'outbox'));
    const other = new DeliveryWorker(db, new Outbox(db, 'communications', bus), channels, noService, 0);
    // The first read of this worker's pass (the pending deliveries) answers only once the other
    // worker's whole pass has committed.
    let first = true;
    const afterPendingRead: KyselyPlugin = {
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        if (first) {
          first = false;
          expect(await other.tick()).toBe(1);
        }
        return args.result;
      },
    };
    const slowDb = db.withPlugin(afterPendingRead);
    const worker = new DeliveryWorker(
      slowDb,
      new Outbox(slowDb, 'communications', bus),
      channels,
      noService,
      0,
    );
    await worker.tick();
    // Nothing left: the delivery is DELIVERED.
    await other.drain();
    await worker.drain();

    const { rows } = await sql<{ status: string }>`
      select payload->'delivery'->>'status' as status from communications.events
      where topic = 'DELIVERY_STATUS' and payload->>'deliveryId' = 'dlv_race' order by id`.execute(db);
    expect(rows.map((r) => r.status)).toEqual(['SENT', 'DELIVERED']);
    const delivery = await db
      .selectFrom('communications.deliveries')
      .select(['status', 'attempts'])
      .where('id', '=', 'dlv_race')
      .executeTakeFirstOrThrow();
    expect(delivery).toEqual({ status: 'DELIVERED', attempts: 1 });
  });
});
