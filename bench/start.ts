import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase, type FreshDatabase } from './postgres.js';
import { processCpuMs } from './proc.js';

/**
 * `npm run bench:start` (and the last part of `npm run bench`): how long `npm start` takes to be
 * ready (issue 13, item 4: a restart on an existing data directory reaches /readyz in 3 s).
 *
 * It runs the built server as `npm start` does once its build check has passed
 * (`node dist/src/main.js`), on a fresh temporary DATA_DIR: first the first start (migrations
 * and demo seeding), then BENCH_START_RUNS (default 5) restarts on the same directory, each
 * stopped with SIGTERM (the drain) before the next. Each start is timed from the spawn to the
 * first 200 from GET /readyz, polled every 10 ms on a port chosen beforehand; the server's own
 * figure (`startMs`, from its process start to listening) and where its time went (`phases`)
 * are read from its "CommsGraph is up" log line (stderr). Node's own start (`node -e ''`) is timed too,
 * as the floor no start goes below.
 *
 * BENCH_START_BASELINE=<path to another build's dist/src/main.js> interleaves that build's starts
 * with this one's (each on its own data directory), so a ratio between two builds is measured
 * under the same load. BENCH_DATABASE_URL runs the store on PostgreSQL instead of PGlite: a fresh
 * database for each build on that URL's server, dropped after.
 */
const TARGET_MS = 3000;
const RUNS = Number(process.env.BENCH_START_RUNS ?? 5);
const POLL_MS = 10;
const TIMEOUT_MS = 180_000;

interface Start {
  /** Spawn to the first 200 from /readyz. */
  readyMs: number;
  /** CPU time (user + system) the server had used when /readyz first answered 200; null off Linux. */
  cpuMs: number | null;
  /** The server's own: process start to listening. */
  startMs: number | null;
  phases: Record<string, number>;
  /** SIGTERM to exit. */
  stopMs: number;
}

interface Build {
  label: string;
  main: string;
  dataDir: string;
  first: Start | null;
  restarts: Start[];
  /** Its own fresh database when the run is on PostgreSQL (BENCH_DATABASE_URL). */
  database?: FreshDatabase;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function serverEnv(dataDir: string, port: number, databaseUrl: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' };
  // What `npm start` does by default (PGlite, in-process bus); nothing from the caller's shell.
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.NODE_ENV;
  delete env.SEED_DEMO;
  env.LOG_LEVEL = 'info';
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  return env;
}

async function startOnce(main: string, dataDir: string, databaseUrl: string | undefined): Promise<Start> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [main], {
    env: serverEnv(dataDir, port, databaseUrl),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  let exited: number | null = null;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code ?? -1;
      resolve();
    }),
  );
  let readyMs: number | null = null;
  while (readyMs === null) {
    if (exited !== null) throw new Error(`server exited (${exited}) before ready:\n${err || out}`);
    if (performance.now() - t0 > TIMEOUT_MS) {
      child.kill('SIGKILL');
      throw new Error(`not ready within ${TIMEOUT_MS} ms:\n${err || out}`);
    }
    if ((await readyz(port)) === 200) readyMs = performance.now() - t0;
    else await sleep(POLL_MS);
  }
  const cpuMs = processCpuMs(child.pid);
  const up = await (async () => {
    // The line is written before the server answers; give its pipe a moment to deliver it.
    for (let i = 0; i < 100; i++) {
      // The logs go to stderr (JSON lines).
      const line = err.split('\n').find((l) => l.includes('"CommsGraph is up"'));
      if (line) return JSON.parse(line) as { startMs?: number; phases?: Record<string, number> };
      await sleep(POLL_MS);
    }
    return null;
  })();
  const s0 = performance.now();
  child.kill('SIGTERM');
  await exit;
  if (exited !== 0) throw new Error(`server did not stop cleanly (${exited}):\n${err}`);
  return {
    readyMs,
    cpuMs,
    startMs: up?.startMs ?? null,
    phases: up?.phases ?? {},
    stopMs: performance.now() - s0,
  };
}

async function bareNode(): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
  return performance.now() - t0;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (x: number) => `${Math.round(x)} ms`;
const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function phaseTable(starts: Start[]): string {
  const names = [...new Set(starts.flatMap((s) => Object.keys(s.phases)))];
  return names.map((n) => `${n} ${Math.round(median(starts.map((s) => s.phases[n] ?? 0)))}`).join(', ');
}

async function main(): Promise<void> {
  const builds: Build[] = [
    {
      label: 'this build',
      main: path.join(__dirname, '..', 'src', 'main.js'),
      dataDir: '',
      first: null,
      restarts: [],
    },
  ];
  if (process.env.BENCH_START_BASELINE) {
    builds.push({
      label: 'baseline',
      main: path.resolve(process.env.BENCH_START_BASELINE),
      dataDir: '',
      first: null,
      restarts: [],
    });
  }
  for (const b of builds) {
    if (!fs.existsSync(b.main)) throw new Error(`${b.main} not found: build first (npm run build)`);
    b.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-start-bench-'));
    // On PostgreSQL each build gets a fresh database, so its first start is a first start.
    if (process.env.BENCH_DATABASE_URL)
      b.database = await freshDatabase(process.env.BENCH_DATABASE_URL, 'bench_start');
  }
  const loadBefore = loadavg();
  console.log(`start bench: ${builds.map((b) => `${b.label} ${b.main}`).join('; ')}`);
  const nodeRuns: number[] = [];
  try {
    for (const b of builds) {
      b.first = await startOnce(b.main, b.dataDir, b.database?.url);
      console.log(
        `  ${b.label}: first start ${ms(b.first.readyMs)} to /readyz (phases ${phaseTable([b.first])})`,
      );
    }
    for (let i = 0; i < RUNS; i++) {
      nodeRuns.push(await bareNode());
      for (const b of builds) {
        const s = await startOnce(b.main, b.dataDir, b.database?.url);
        b.restarts.push(s);
        console.log(
          `  ${b.label}: restart ${i + 1}: ${ms(s.readyMs)} to /readyz, ${s.cpuMs ?? '?'} ms CPU (listening at ${s.startMs} ms of the process; stop ${ms(s.stopMs)})`,
        );
      }
    }
  } finally {
    for (const b of builds) {
      fs.rmSync(b.dataDir, { recursive: true, force: true });
      await b.database
        ?.drop()
        .catch((err: unknown) => console.error(`could not drop database ${b.database?.name}`, err));
    }
  }
  const loadAfter = loadavg();
  const cpus = os.cpus();
  const out: string[] = [''];
  out.push(
    `Start time (spawn of \`node dist/src/main.js\` to the first 200 from /readyz, polled every ${POLL_MS} ms; ${process.env.BENCH_DATABASE_URL ? 'PostgreSQL' : 'PGlite'} store, demo seeding on)`,
  );
  for (const b of builds) {
    const restarts = b.restarts.map((s) => s.readyMs);
    out.push(`  ${b.label}:`);
    out.push(
      `    first start (fresh DATA_DIR, migrations and seeding)  ${ms(b.first!.readyMs)} (${b.first!.cpuMs ?? '?'} ms CPU)`,
    );
    out.push(
      `    restart (same DATA_DIR), ${RUNS} runs                   median ${ms(median(restarts))}, max ${ms(Math.max(...restarts))}`,
    );
    const cpu = b.restarts.flatMap((s) => (s.cpuMs === null ? [] : [s.cpuMs]));
    if (cpu.length) {
      out.push(
        `    restart CPU time to ready (user + system)              median ${ms(median(cpu))}, max ${ms(Math.max(...cpu))}`,
      );
    }
    out.push(
      `    restart median / 3 s target                            ${(median(restarts) / TARGET_MS).toFixed(2)}${median(restarts) <= TARGET_MS ? ' (met)' : ` (missed by ${ms(median(restarts) - TARGET_MS)})`}`,
    );
    out.push(`    restart phases, median ms: ${phaseTable(b.restarts)}`);
    out.push(`    first start phases, ms:    ${phaseTable([b.first!])}`);
  }
  if (builds.length === 2) {
    const [a, base] = builds as [Build, Build];
    out.push(
      `  restart median, this build / baseline (interleaved): ${(median(a.restarts.map((s) => s.readyMs)) / median(base.restarts.map((s) => s.readyMs))).toFixed(2)}`,
    );
  }
  out.push(`  node's own start (\`node -e ''\`), median of ${RUNS}: ${ms(median(nodeRuns))}`);
  out.push(
    `  measured on ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${os.platform()} ${os.arch()}, node ${process.version}; load average ${loadBefore} before, ${loadAfter} after`,
  );
  console.log(out.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
