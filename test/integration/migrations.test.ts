import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config/index.js';
import { openStore, type Store } from '../../src/store/db.js';
import { migrate, migrations } from '../../src/store/migrations/index.js';

/**
 * A start on a current store skips the migrator (one query, issue 13 item 4); anything else still
 * goes through it, so what it does and reports is unchanged.
 */
describe('migrations on a store that has them (PGlite)', () => {
  let dataDir: string;
  let store: Store;
  let db: Kysely<unknown>;
  const executed = async () =>
    (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows.map(
      (r) => r.name,
    );

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-migrations-'));
    store = await openStore(loadConfig({ DATA_DIR: dataDir }));
    db = store.db as unknown as Kysely<unknown>;
    await migrate(db);
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a second run finds every migration done and changes nothing', async () => {
    const before = await executed();
    expect(before).toEqual(Object.keys(migrations).sort());
    await migrate(db);
    expect(await executed()).toEqual(before);
  });

  test('a migration this build does not know is still the migrator’s to refuse', async () => {
    await sql`insert into kysely_migration (name, timestamp) values ('999_from_a_newer_build', '2026-12-05T00:00:00Z')`.execute(
      db,
    );
    try {
      await expect(migrate(db)).rejects.toThrow(/999_from_a_newer_build/);
    } finally {
      await sql`delete from kysely_migration where name = '999_from_a_newer_build'`.execute(db);
    }
  });
});
