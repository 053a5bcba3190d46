import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';
import {
  firstFlow,
  flowTokens,
  rejectionGeneratesNothing,
  servesHealthAndExplorer,
  wsRefusesBadTokens,
  type FlowTarget,
} from './flow.js';

/**
 * The production topology on one machine, as `npm run start:cluster` runs it:
 * three subgraph services, two gateway replicas and a batch worker on a real
 * PostgreSQL and Redis. The foundation's first flow (./flow.ts, the same steps
 * first-flow.e2e runs against `npm start`) sends its mutations to gateway 1
 * while its graphql-ws subscribers listen on gateway 2. Then SIGTERM to the
 * cluster: every process drains and exits 0.
 * Needs PostgreSQL and Redis: CI provides both; a plain `npm test` skips.
 */
const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const redisUrl = serviceUrl('TEST_REDIS_URL', 'Redis');
const withServices = pgUrl && redisUrl ? describe : describe.skip;

const ROOT = path.resolve(__dirname, '../..');
const PROCESSES = ['workflow', 'customers', 'communications', 'gateway-1', 'gateway-2', 'worker'];

withServices('npm run start:cluster', () => {
  let db: PostgresFixture;
  let dataDir: string;
  let cluster: ChildProcess;
  let exited: Promise<number | null>;
  let output = '';
  let ready = '';
  const urls: Record<string, string> = {};
  let target: FlowTarget;

  beforeAll(async () => {
    // What `npm run start:cluster` builds before it starts.
    await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
    db = await freshDatabase(pgUrl!);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-cluster-'));
    cluster = spawn(process.execPath, [path.join(ROOT, 'dist/src/bin/cluster.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl!,
        DATA_DIR: dataDir,
        // Free ports, chosen by the cluster when it starts.
        CLUSTER_BASE_PORT: '0',
        CLUSTER_HOST: '127.0.0.1',
        CLUSTER_READY_TIMEOUT_MS: '180000',
        LOG_LEVEL: 'info',
        DELIVERY_STEP_MS: '50',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a failed run can clean up everything it started.
      detached: true,
    });
    exited = new Promise((resolve) => cluster.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cluster did not start:\n${output}${ready}`)), 300_000);
      // The ready block goes to stdout, the logs to stderr: each stream is read whole on its own.
      cluster.stdout!.on('data', (chunk: Buffer) => {
        ready += chunk.toString();
        for (const m of ready.matchAll(/^\[cluster\s*\]\s+(\S+)\s+(http:\S+)$/gm)) urls[m[1]!] = m[2]!;
        if (/^\[cluster\s*\] {3}Ctrl-C/m.test(ready)) {
          clearTimeout(timer);
          resolve();
        }
      });
      cluster.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`cluster exited with ${code}:\n${output}${ready}`));
      });
    });
    target = {
      url: urls['gateway-1']!,
      subscriberUrl: urls['gateway-2']!,
      dataDir,
      // The communications service and the worker share this outbox under DATA_DIR.
      emailOutbox: path.join(dataDir, 'communications', 'outbox', 'email'),
      tokens: await flowTokens(dataDir),
    };
  }, 420_000);

  afterAll(async () => {
    // Only if a test failed before the cluster was stopped.
    if (cluster?.exitCode === null && cluster.signalCode === null) {
      process.kill(-cluster.pid!, 'SIGKILL');
      await exited;
    }
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('starts three subgraph services, two gateway replicas and a worker', () => {
    expect(Object.keys(urls).sort()).toEqual(
      ['communications', 'customers', 'gateway-1', 'gateway-2', 'workflow'].sort(),
    );
    expect(urls['gateway-1']).not.toBe(urls['gateway-2']);
    expect(ready).toMatch(/^\[cluster\s*\]\s+worker\s+batch worker/m);
    // Each process's lines carry its name.
    expect(output).toMatch(/^\[gateway-2\s*\] .*gateway listening/m);
    expect(output).toMatch(/^\[worker\s*\] .*worker running/m);
  });

  test('serves health, readiness and the API explorer', () => servesHealthAndExplorer(target));

  test('the first flow on gateway 1, watched over graphql-ws on gateway 2', async () => {
    await firstFlow(target);
  });

  test('a rejection generates nothing', () => rejectionGeneratesNothing(target));

  test('graphql-ws refuses a bad token with 4401 and a token without a role with 4403', () =>
    wsRefusesBadTokens(target));

  test('SIGTERM to the cluster drains every process; each exits 0, then the cluster', async () => {
    process.kill(cluster.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    for (const name of PROCESSES) {
      expect(output).toMatch(new RegExp(`^\\[cluster\\s*\\] ${name} exited with code 0$`, 'm'));
    }
    expect(output).toMatch(/stopped; every process exited 0/);
  }, 120_000);
});
