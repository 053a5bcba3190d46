import 'reflect-metadata';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { createRenderer } from '../src/datasources/communications/engine/index.js';
import { createRenderPool } from '../src/datasources/communications/engine/pool.js';
import { configureLogger } from '../src/logger.js';
import { STATEMENT_VERSION, statementSnapshot } from './statement.js';

/**
 * `npm run bench:render`: the raw render cost of the batch's one-page PDF statement (bench/
 * statement.ts), with no store, queue or delivery. On a shared machine wall-clock rates swing
 * with the load, so the figure to compare builds by is the CPU time per statement in one thread
 * (process.cpuUsage over the renders, which also counts the process's garbage-collector threads).
 *
 * Prints, for BENCH_RENDER_DOCS statements (default 300) after a warm-up of 20:
 * - in one thread (the caller's): ms CPU per statement, and the statements/s that makes on one
 *   core, beside the wall-clock rate;
 * - on the render pool of BENCH_RENDER_THREADS worker threads (default 2, as RENDER_WORKERS),
 *   8 renders in flight: the wall-clock rate and ms CPU per statement of the whole process;
 * - a digest of the statements' content hashes (fixed issue date), the same for every build that
 *   renders the same bytes;
 * - the 1-minute load average before and after.
 */
const N = Number(process.env.BENCH_RENDER_DOCS ?? 300);
const THREADS = Number(process.env.BENCH_RENDER_THREADS ?? 2);
const TARGET_RATE = 100_000 / 180;
const ISSUED_AT = '2026-12-05T10:00:00Z';
const WARM_UP = 20;

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

async function inThread(): Promise<{ cpu: number; wall: number; digest: string }> {
  const renderer = createRenderer();
  for (let i = 0; i < WARM_UP; i++)
    await renderer.render(STATEMENT_VERSION, 'PRINT', statementSnapshot(i, ISSUED_AT));
  const hash = createHash('sha256');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const result = await renderer.render(STATEMENT_VERSION, 'PRINT', statementSnapshot(i, ISSUED_AT));
    hash.update(result.contentHash);
  }
  return {
    cpu: cpuMs(cpu0) / N,
    wall: (performance.now() - t0) / N,
    digest: hash.digest('hex').slice(0, 16),
  };
}

async function onPool(): Promise<{ rate: number; cpu: number; mode: string }> {
  const pool = createRenderPool({ size: THREADS });
  try {
    const lanes = 8;
    await Promise.all(
      Array.from({ length: Math.max(WARM_UP, lanes) }, (_, i) =>
        pool.render(STATEMENT_VERSION, 'PRINT', statementSnapshot(i, ISSUED_AT)),
      ),
    );
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const lane = async (): Promise<void> => {
      while (next < N) await pool.render(STATEMENT_VERSION, 'PRINT', statementSnapshot(next++, ISSUED_AT));
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    const seconds = (performance.now() - t0) / 1000;
    return { rate: N / seconds, cpu: cpuMs(cpu0) / N, mode: pool.mode };
  } finally {
    await pool.close();
  }
}

async function main(): Promise<void> {
  configureLogger({ level: 'error' });
  const loadBefore = os.loadavg()[0]!;
  const one = await inThread();
  const pool = await onPool();
  const loadAfter = os.loadavg()[0]!;
  console.log(`Raw render of the account statement (${N} statements after ${WARM_UP} warm-up, no store)`);
  console.log(
    `  one thread     ${one.cpu.toFixed(2)} ms CPU/statement = ${(1000 / one.cpu).toFixed(1)}/s per core (wall ${one.wall.toFixed(2)} ms/statement)`,
  );
  console.log(
    `  pool           ${pool.rate.toFixed(1)}/s on ${THREADS} thread(s) (${pool.mode}), ${pool.cpu.toFixed(2)} ms CPU/statement, whole process`,
  );
  console.log(
    `  target         ${TARGET_RATE.toFixed(0)}/s: needs at most ${((THREADS * 1000) / TARGET_RATE).toFixed(2)} ms CPU/statement on ${THREADS} fully free cores`,
  );
  console.log(`  content digest ${one.digest}`);
  console.log(
    `  load average   ${loadBefore.toFixed(2)} -> ${loadAfter.toFixed(2)} (1 min, ${os.cpus().length} cores)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
