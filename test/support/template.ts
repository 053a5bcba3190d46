import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { startGateway } from '../../src/gateway/index.js';

/**
 * A migrated, seeded data directory made once and copied by every test, so
 * no test pays PGlite's initdb and the seeding (several seconds) again. It
 * is made exactly as a first `npm start` makes it, and keyed by a hash of
 * the code that shapes it, so a change to migrations or seeds makes a new one.
 * Parallel Jest workers elect one builder with an atomic mkdir.
 */
const ROOT = path.resolve(__dirname, '../..');
const SHAPING = [
  'src/store/migrations/index.ts',
  'src/datasources/customers/seed/customers.ts',
  'src/datasources/customers/seeding.ts',
  'src/datasources/communications/seed/templates.ts',
  'src/datasources/communications/seeding.ts',
  'src/subgraphs/demo.ts',
];

function key(): string {
  const h = createHash('sha256');
  for (const f of SHAPING) h.update(fs.readFileSync(path.join(ROOT, f)));
  return h.digest('hex').slice(0, 16);
}

export async function templateDir(): Promise<string> {
  const base = path.join(os.tmpdir(), `commsgraph-template-${key()}`);
  const ready = path.join(base, '.ready');
  if (fs.existsSync(ready)) return base;
  const building = `${base}.building`;
  let builder = false;
  try {
    fs.mkdirSync(building);
    builder = true;
  } catch {
    /* another worker builds it */
  }
  if (builder) {
    try {
      fs.rmSync(base, { recursive: true, force: true });
      const config = loadConfig({
        DATA_DIR: base,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'error',
        DELIVERY_STEP_MS: '0',
      });
      const gateway = await startGateway(config);
      // The demo cases' generation and deliveries finish before the snapshot.
      await gateway.subgraphs!.settle();
      await gateway.stop();
      fs.writeFileSync(ready, new Date().toISOString());
    } finally {
      fs.rmSync(building, { recursive: true, force: true });
    }
    return base;
  }
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(ready)) {
    if (Date.now() > deadline) throw new Error(`template ${base} was not built in time`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return base;
}
