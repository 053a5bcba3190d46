import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../../../src/store/db.js';

/**
 * The embedded store's pool reaches PGlite through `PGliteSocket`: what a caller of the pool sees
 * must be what a PostgreSQL server gives (values, bytea bytes, errors with their codes, a
 * transaction's rollback), and the single session must survive its clients coming and going.
 */
let dir: string;
let store: Store;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pglite-socket-'));
  store = await openStore({ dataDir: dir, databaseUrl: undefined, dbPoolMax: 1, storeUpkeepIntervalMs: 0 });
  await store.pool.query('create table parts (id int primary key, body bytea, note text)');
});

afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('values and parameters come back as from a server, Unicode and large bytea included', async () => {
  const body = Buffer.alloc(300_000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;
  await store.pool.query('insert into parts values ($1, $2, $3)', [1, body, 'Zoë Łukasiewicz 李']);
  const { rows } = await store.pool.query<{ id: number; body: Buffer; note: string }>(
    'select id, body, note from parts where id = $1',
    [1],
  );
  expect(rows).toHaveLength(1);
  expect(rows[0]!.id).toBe(1);
  expect(rows[0]!.note).toBe('Zoë Łukasiewicz 李');
  expect(Buffer.compare(rows[0]!.body, body)).toBe(0);
});

test('a failed statement reports its error and the next statement runs', async () => {
  await expect(store.pool.query('select * from no_such_table')).rejects.toMatchObject({ code: '42P01' });
  await expect(store.pool.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
  const { rows } = await store.pool.query<{ n: number }>('select 2 as n');
  expect(rows).toEqual([{ n: 2 }]);
});

test('a transaction that fails rolls back, and the session goes on', async () => {
  const client = await store.pool.connect();
  try {
    await client.query('begin');
    await client.query('insert into parts (id, note) values (2, $1)', ['rolled back']);
    await expect(client.query('insert into parts (id) values (2)')).rejects.toMatchObject({ code: '23505' });
    await client.query('rollback');
  } finally {
    client.release();
  }
  const { rows } = await store.pool.query('select id from parts where id = 2');
  expect(rows).toEqual([]);
});

test('clients come and go on the one session (the pool replaces a discarded client)', async () => {
  for (let i = 10; i < 13; i++) {
    const client = await store.pool.connect();
    await client.query('insert into parts (id) values ($1)', [i]);
    client.release(true);
  }
  const { rows } = await store.pool.query<{ n: string }>(
    'select count(*)::text as n from parts where id >= 10',
  );
  expect(rows).toEqual([{ n: '3' }]);
});

test('a client discarded inside a transaction leaves nothing of it to the next client', async () => {
  const client = await store.pool.connect();
  await client.query('begin');
  await client.query('insert into parts (id, note) values (20, $1)', ['never committed']);
  // Broken between BEGIN and COMMIT: the pool discards the client, as after a connection error.
  client.release(true);
  await store.pool.query('insert into parts (id) values (21)');
  // A server rolls back a transaction whose connection closed; the next client is on its own.
  const { rows } = await store.pool.query<{ id: number }>(
    'select id from parts where id in (20, 21) order by id',
  );
  expect(rows).toEqual([{ id: 21 }]);
  const { rows: xact } = await store.pool.query<{ xid: string | null }>(
    'select pg_current_xact_id_if_assigned()::text as xid',
  );
  expect(xact).toEqual([{ xid: null }]);
});
