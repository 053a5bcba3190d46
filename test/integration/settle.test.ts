import fs from 'node:fs';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config/index.js';
import { CommandRelay } from '../../src/events/commands.js';
import { openStore, type Store } from '../../src/store/db.js';
import { freshDataDir } from '../support/harness.js';

/**
 * Waiting for work in flight (what tests' settle() and a draining shutdown
 * rely on): a command the live loop has claimed is hidden from other
 * claimants by its lease, and drain() used to return while it still ran.
 */
let dataDir: string;
let store: Store;

beforeAll(async () => {
  dataDir = await freshDataDir();
  store = await openStore(loadConfig({ DATA_DIR: dataDir }));
});
afterAll(async () => {
  await store?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('drain() waits for the command the live loop has in hand', async () => {
  const db = store.db as unknown as Kysely<unknown>;
  const order: string[] = [];
  let entered!: () => void;
  const inHandler = new Promise<void>((r) => (entered = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const relay = new CommandRelay(
    db,
    'workflow',
    {
      slow: async () => {
        entered();
        await released;
        order.push('command done');
      },
    },
    { pollMs: 60_000 },
  );
  await db.transaction().execute((tx) => relay.enqueue(tx, 'slow', {}));
  relay.start();
  await inHandler; // the live loop claimed it: its lease hides it from anyone else
  const drained = relay.drain().then(() => order.push('drain returned'));
  // A store round trip issued after anything drain asked: on the embedded store (one
  // connection, first come, first served) drain has had its answer when this one comes.
  await sql`select 1`.execute(db);
  await new Promise((r) => setImmediate(r));
  order.push('store answered');
  release();
  await drained;
  expect(order).toEqual(['store answered', 'command done', 'drain returned']);
  const { rows } = await sql<{ done: boolean }>`
    select done_at is not null as done from workflow.commands where kind = 'slow'`.execute(db);
  expect(rows).toEqual([{ done: true }]);
  await relay.stop();
});
