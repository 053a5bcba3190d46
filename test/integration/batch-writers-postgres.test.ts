import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../src/config/index.js';
import { batchProgress } from '../../src/datasources/communications/batches.js';
import type { CommunicationsDB } from '../../src/store/tables.js';
import { openStore, type Store } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrations/index.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';

/**
 * On PostgreSQL a notice batch is written by many transactions at once: the record workers'
 * sets of documents on the pool's connections, and the delivery worker's passes. Its progress
 * counters (migrations 017 and 018) must not make them queue on each other: with one counter
 * row per status, each transaction held it from its first insert to its commit, so the batch's
 * writers ran one at a time, and a delivery pass deadlocked with them. Here a second
 * connection writes and commits the batch's documents and deliveries while a first one's
 * transaction, which wrote some of the same batch, is still open; a lock wait would end the
 * second one with `lock_timeout` (55P03). The counts read afterwards are those of the
 * documents written, whichever connection wrote or moved them.
 */
const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const withPostgres = pgUrl ? describe : describe.skip;

withPostgres('a batch written side by side on PostgreSQL', () => {
  let fixture: PostgresFixture;
  let store: Store;
  let dataDir: string;
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    fixture = await freshDatabase(pgUrl!);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-batch-writers-'));
    store = await openStore(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: fixture.url }));
    await migrate(store.db as unknown as Kysely<unknown>);
    await store.pool.query(`
      insert into communications.templates (id, name, document_type, channels)
        values ('tpl_w', 'Writers', 'NOTICE', '{PRINT}');
      insert into communications.template_versions
          (id, template_id, version, status, content, data_schema, content_hash, created_by)
        values ('tpv_w', 'tpl_w', 1, 'APPROVED', '{}', '{}', 'h', 'test');
      insert into communications.notice_batches
          (id, case_id, template_version_id, segments, channels, data, requested_by, status, total)
        values ('bat_w', 'case_w', 'tpv_w', '{s}', '{PRINT}', '{}', 'test', 'RUNNING', 3);`);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await store?.close();
    await fixture?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: fixture.url });
    await c.connect();
    clients.push(c);
    // A wait for another transaction's lock fails instead of hanging the test.
    await c.query(`set lock_timeout = '5s'`);
    return c;
  };
  const writeDocument = (c: pg.Client, n: string) =>
    c.query(`
      insert into communications.documents (id, status, channel, customer_id, template_version_id, snapshot,
          requested_by, batch_id)
        values ('doc_${n}', 'GENERATED', 'PRINT', 'cus_${n}', 'tpv_w', '{}', 'test', 'bat_w');
      insert into communications.deliveries (id, document_id, channel, status)
        values ('dlv_${n}', 'doc_${n}', 'PRINT', 'PENDING');`);

  test('a second writer of the batch commits while the first is still open; the counts add up', async () => {
    const first = await connect();
    const second = await connect();
    await first.query('begin');
    await writeDocument(first, 'a');

    // While the first transaction holds its rows: two more documents, one delivered, committed.
    await second.query('begin');
    await writeDocument(second, 'b');
    await writeDocument(second, 'c');
    await second.query(`update communications.deliveries set status = 'DELIVERED' where id = 'dlv_b'`);
    await second.query('commit');

    await first.query('commit');
    // The first connection's delivery moved by the second connection.
    await second.query(`update communications.deliveries set status = 'SENT' where id = 'dlv_a'`);

    const progress = await batchProgress(store.db as unknown as Kysely<CommunicationsDB>, 'bat_w');
    expect(progress).toEqual({
      total: 3,
      generated: 3,
      failed: 0,
      delivered: 1,
      deliveryFailed: 0,
      byChannel: [
        { channel: 'PRINT', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 1 },
        { channel: 'PRINT', documentStatus: 'GENERATED', deliveryStatus: 'PENDING', count: 1 },
        { channel: 'PRINT', documentStatus: 'GENERATED', deliveryStatus: 'SENT', count: 1 },
      ],
    });
  }, 60_000);
});
