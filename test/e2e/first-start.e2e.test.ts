import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';
import { ensureBuilt, nodeStart, type RunningProduct } from './server.js';

const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

/** The demo store's cases, as the README's demo table lists them. */
const DEMO_CASES = 12;

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The server process until it exits by itself (a start that must fail). */
function runToExit(env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-first-start-'));

describe('a start that cannot succeed says why at once, in one line', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('a taken port: exit code 1, one plain line, and no store was opened', async () => {
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as net.AddressInfo).port;
    const dataDir = tmp();
    try {
      const exit = await runToExit({ PORT: String(port), DATA_DIR: dataDir });
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe(
        `PORT ${port} on 127.0.0.1 is already in use; stop what uses it or set PORT to another port\n`,
      );
      // Checked before the embedded store was created, let alone migrated and seeded.
      expect(fs.existsSync(path.join(dataDir, 'pg'))).toBe(false);
    } finally {
      squatter.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a data directory another server holds: exit code 1, one plain line', async () => {
    const dataDir = tmp();
    const first = await nodeStart(dataDir);
    try {
      const exit = await runToExit({ PORT: '0', DATA_DIR: dataDir });
      expect(exit.code).toBe(1);
      const lines = exit.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        `DATA_DIR ${dataDir} is in use by process ${first.proc.pid}; stop it or choose another DATA_DIR`,
      );
    } finally {
      await first.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});

const adminUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const withPostgres = adminUrl ? describe : describe.skip;

withPostgres('demo seeding survives a kill -9 on first start (PostgreSQL)', () => {
  let db: PostgresFixture;
  let client: pg.Client;
  let product: RunningProduct | null = null;

  beforeAll(async () => {
    await ensureBuilt();
    db = await freshDatabase(adminUrl!);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  }, 180_000);
  afterAll(async () => {
    await product?.stop();
    await client?.end();
    await db?.drop();
  });

  const count = async (): Promise<number> => {
    const r = await client
      .query<{ n: string }>('select count(*) as n from workflow.cases')
      .catch(() => ({ rows: [{ n: '0' }] })); // not migrated yet
    return Number(r.rows[0]!.n);
  };

  it('the next start finishes the demo data, without duplicates; a third start adds nothing', async () => {
    const dataDir = tmp();
    const env = { DATABASE_URL: db.url, PORT: '0', DATA_DIR: dataDir, SEED_DEMO: 'true' };
    const first = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => first.once('exit', r));
    // Killed mid-seeding: once some demo cases exist and before all do.
    let seen = await count();
    while (seen < 3) {
      if (first.exitCode !== null) throw new Error('the first start ended before seeding');
      await new Promise((r) => setImmediate(r));
      seen = await count();
    }
    first.kill('SIGKILL');
    await exited;
    const interruptedAt = await count();
    expect(seen).toBeLessThan(DEMO_CASES);
    expect(interruptedAt).toBeLessThan(DEMO_CASES);

    product = await nodeStart(dataDir, env);
    // Exception cases are opened by background work; wait for the demo's last one.
    for (let n = await count(); n < DEMO_CASES; n = await count()) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const duplicates = await client.query(
      `select started_by, title, count(*) from workflow.cases
        where kind <> 'GENERATION_EXCEPTION' group by started_by, title having count(*) > 1`,
    );
    expect(duplicates.rows).toEqual([]);
    expect(await count()).toBe(DEMO_CASES);
    await product.stop();

    product = await nodeStart(dataDir, env);
    expect(await count()).toBe(DEMO_CASES);
  }, 300_000);
});
