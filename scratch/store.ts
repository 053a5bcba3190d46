import { openStore } from '../src/store/db.js';
import { migrate } from '../src/store/migrations/index.js';
async function main() {
  const t0 = Date.now();
  const s = await openStore({ dataDir: '/tmp/cg-scratch', databaseUrl: undefined, dbPoolMax: 1 });
  console.log('open', Date.now() - t0);
  await migrate(s.db as never);
  console.log('migrated', Date.now() - t0);
  const r = await s.db.selectFrom('workflow.events').selectAll().execute();
  console.log(r);
  await s.close();
}
main().catch((e) => { console.error(e); process.exit(1); });
