import 'reflect-metadata';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config/index.js';
import { createRenderPool, defaultRenderWorkers } from '../src/datasources/communications/engine/pool.js';
import { startGateway, type Gateway } from '../src/gateway/index.js';
import type { Database } from '../src/store/tables.js';
import { configureLogger } from '../src/logger.js';
import { registry } from '../src/telemetry/metrics.js';
import { adminUrlFromEnv, freshDatabase, type FreshDatabase } from './postgres.js';
import { processCpuMs, threadCpuMs, threadCpuSince, type ThreadRole } from './proc.js';
import { NAMES, STATEMENT, STATEMENT_VERSION, statementSnapshot } from './statement.js';

/**
 * `npm run bench` (second part), or `npm run bench:batch` alone: batch
 * generation of personalised one-page PDF account statements (DejaVu
 * Unicode font) through the real path: a notice batch on pg-boss, workers in
 * the process, each record rendered, hashed and stored with its delivery.
 * Prints documents/s, peak memory, the projection for 100,000, and how
 * responsive the process stayed meanwhile: the event-loop delay
 * (perf_hooks.monitorEventLoopDelay, sampled from the launch to the last
 * document only) and the slowest GET /healthz of a probe due every 250 ms.
 *
 * Beside it, the raw render rate: the same statement rendered on a render pool
 * of the same size (RENDER_WORKERS) in a child process, with no store, queue or delivery, before and
 * after the batch (so both see the machine's load of the moment); the batch's
 * rate is printed as a share of it (target: at least 80%).
 *
 * It runs on both stores, each in a child process of its own (so each peak RSS is its own): the
 * embedded PGlite default, then PostgreSQL on a fresh database created on the server of
 * BENCH_DATABASE_URL (default the CI machine's, as `bench:gateways`) and dropped at the end; then
 * it prints both against the targets. BENCH_STORES=pglite or =postgres runs one.
 *
 * BENCH_DOCS (default 10000) sets the size; BENCH_RAW_DOCS (default BENCH_DOCS / 4,
 * at least 200) the raw renders of each of the two raw runs; WORKER_CONCURRENCY as in the product.
 * BENCH_STATEMENTS=1 adds where the store's time went by statement (see `statementTimes`).
 */
const DOCS = Number(process.env.BENCH_DOCS ?? 10_000);
const RAW_DOCS = Number(process.env.BENCH_RAW_DOCS ?? Math.max(200, Math.round(DOCS / 4)));
const TARGET_RATE = 100_000 / 180;
const TARGET_SHARE = 0.8;
/** 1.5 GB, in MiB as RSS is printed. */
const TARGET_RSS_MIB = 1.5e9 / 2 ** 20;
const TARGET_LOOP_P99_MS = 100;
const STORES = ['pglite', 'postgres'] as const;
type StoreKind = (typeof STORES)[number];
/** The line a store's child process ends with: its figures, for the summary. */
const RESULT_PREFIX = 'BENCH_BATCH_RESULT ';

/** One store's figures, as the summary compares them with the targets. */
interface BatchResult {
  store: StoreKind;
  rate: number;
  raw: number;
  peakRssMiB: number;
  loopP99Ms: number;
  cpuMsPerDoc: number;
  completedSeconds: number;
}
/**
 * Raw render rate: `n` statements on a fresh render pool of `threads` (the product's pool, so
 * worker threads from the build), no store. Enough renders in flight to keep every thread busy.
 */
async function rawRenderRate(threads: number, n: number): Promise<{ rate: number; mode: string }> {
  const pool = createRenderPool({ size: threads });
  const version = STATEMENT_VERSION;
  try {
    // Warm-up: threads started, fonts parsed, templates compiled, as in a running gateway.
    await Promise.all(
      Array.from({ length: 4 * Math.max(1, threads) }, (_, i) =>
        pool.render(version, 'PRINT', statementSnapshot(i)),
      ),
    );
    let next = 0;
    const t0 = performance.now();
    const lane = async (): Promise<void> => {
      while (next < n) await pool.render(version, 'PRINT', statementSnapshot(next++));
    };
    await Promise.all(Array.from({ length: 4 * Math.max(1, threads) }, lane));
    return { rate: n / ((performance.now() - t0) / 1000), mode: pool.mode };
  } finally {
    await pool.close();
  }
}

/**
 * The raw pass in a child process of its own: its render threads' heaps would otherwise stay in
 * this process's RSS and be counted in the batch's peak.
 */
function rawRenderRateApart(threads: number, n: number): Promise<{ rate: number; mode: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [process.argv[1]!],
      { env: { ...process.env, BENCH_RAW_ONLY: JSON.stringify({ threads, n }) } },
      (err, stdout) => {
        if (err) reject(err);
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as { rate: number; mode: string });
      },
    );
  });
}

/**
 * BENCH_STATEMENTS=1: each statement's time from when its connection sent it to when the
 * connection was ready again, summed by statement text (its first 70 characters, whitespace
 * folded), for every connection in the process (Kysely's and pg-boss's). On the embedded store
 * that is mostly the store's own CPU on the main thread (PGlite runs there); on PostgreSQL, the
 * round trip. Patches pg's Query (a library seam: its submit and ready hooks are not typed).
 */
function statementTimes(): { report(top: number): string[] } {
  const times = new Map<string, { n: number; ms: number }>();
  type Hooked = { text?: string; submit(c: unknown): unknown; handleReadyForQuery(c: unknown): unknown };
  const proto = (pg as unknown as { Query: { prototype: Hooked } }).Query.prototype;
  const sent = new WeakMap<object, number>();
  const submit = proto.submit;
  const ready = proto.handleReadyForQuery;
  proto.submit = function (this: Hooked, c: unknown) {
    sent.set(this, performance.now());
    return submit.call(this, c);
  };
  proto.handleReadyForQuery = function (this: Hooked, c: unknown) {
    const t0 = sent.get(this);
    if (t0 !== undefined) {
      const key = (this.text ?? '(no text)').replace(/\s+/g, ' ').trim().slice(0, 70);
      const entry = times.get(key) ?? { n: 0, ms: 0 };
      entry.n++;
      entry.ms += performance.now() - t0;
      times.set(key, entry);
    }
    return ready.call(this, c);
  };
  return {
    report(top) {
      const all = [...times.entries()].sort((a, b) => b[1].ms - a[1].ms);
      const total = all.reduce((n, [, e]) => n + e.ms, 0);
      return [
        `  store time by statement   ${(total / 1000).toFixed(1)} s in all (sent to ready, every connection)`,
        ...all
          .slice(0, top)
          .map(
            ([k, e]) =>
              `    ${((e.ms / total) * 100).toFixed(1).padStart(5)} % ${(e.ms / 1000).toFixed(1).padStart(6)} s ${String(e.n).padStart(7)}× ${(e.ms / e.n).toFixed(2).padStart(6)} ms  ${k}`,
          ),
      ];
    },
  };
}

/**
 * The CPU time so far of each server backend connected to this database (/proc/<pid>/stat: only
 * when the server runs on this machine and its processes are readable; null otherwise).
 */
async function serverCpuMs(db: Kysely<Database>): Promise<Map<number, number> | null> {
  const { rows } = await sql<{
    pid: number;
  }>`select pid from pg_stat_activity where datname = current_database()`.execute(db);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const ms = processCpuMs(pid);
    if (ms === null) return null;
    out.set(pid, ms);
  }
  return out;
}

/** One store's batch, in this process: prints its block and returns its figures. */
async function runOne(kind: StoreKind, databaseUrl: string | undefined): Promise<BatchResult> {
  configureLogger({ level: 'error' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-batch-bench-'));
  const concurrency = process.env.WORKER_CONCURRENCY ?? '4';
  let gateway: Gateway | null = null;
  const loadBefore = os.loadavg();
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  const threads =
    process.env.RENDER_WORKERS !== undefined ? Number(process.env.RENDER_WORKERS) : defaultRenderWorkers();
  try {
    console.log(`  raw render: ${RAW_DOCS} statements on ${threads} render thread(s), no store...`);
    const rawBefore = await rawRenderRateApart(threads, RAW_DOCS);
    console.log(`  raw render rate ${rawBefore.rate.toFixed(1)}/s (${rawBefore.mode})`);
    gateway = await startGateway(
      loadConfig({
        DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'error',
        SEED_DEMO: 'true',
        WORKER_CONCURRENCY: concurrency,
        RENDER_WORKERS: process.env.RENDER_WORKERS,
        // The embedded store's upkeep runs as it does in production unless this says otherwise.
        STORE_UPKEEP_INTERVAL_MS: process.env.STORE_UPKEEP_INTERVAL_MS,
        DATABASE_URL: databaseUrl,
        RATE_LIMIT_PER_MINUTE: '0',
      }),
    );
    const db = gateway.store!.db;
    const phase = (what: string) => console.log(`  ${what}`);
    phase(`gateway up on ${gateway.store!.kind}; adding ${DOCS} customers...`);
    // Fixture: DOCS customers in a segment of their own, and the case the batch belongs to.
    const customers = Array.from({ length: DOCS }, (_, i) => ({
      id: `bench_${String(i).padStart(6, '0')}`,
      name: `${NAMES[i % NAMES.length]} ${i}`,
      email: null,
      phone: null,
      address: JSON.stringify({
        line1: `${i} Harbour Street`,
        city: 'Dublin',
        postcode: 'D02 XK83',
        country: 'IE',
      }),
      preferred_channel: 'PRINT',
      segments: ['bench'],
      locale: i % 2 ? 'pl-PL' : 'en-IE',
      brand: i % 2 ? 'contoso' : 'northwind',
    }));
    for (let i = 0; i < customers.length; i += 1000)
      await db
        .insertInto('customers.customers')
        .values(customers.slice(i, i + 1000))
        .execute();
    await sql`insert into workflow.cases (id, kind, status, title, started_by) values ('case_bench', 'MANDATORY_NOTICE', 'APPROVED', 'Batch benchmark', 'bench')`.execute(
      db,
    );
    const data = STATEMENT.sampleData;

    // The histogram records a delay when its timer fires after another fire: started just
    // before the launch, with a few idle fires first, so a stall from the launch on counts.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    await new Promise((r) => setTimeout(r, 50));
    phase('launching the batch...');
    const batches = gateway.subgraphs!.communications.batches;
    const memoryBefore = process.memoryUsage().rss;
    peakRss = memoryBefore;
    // Statements the batch costs: the store's own counter (every Kysely statement) plus those
    // pg-boss sends through the pool (its fetches and completions), from the launch to the last
    // document (the delivery worker's steps of that time included).
    const store = gateway.store!;
    let bossStatements = 0;
    const poolQuery = store.pool.query.bind(store.pool) as (...args: unknown[]) => unknown;
    // A counting wrapper around pg.Pool's overloaded query (a library seam: its overloads do not
    // survive a spread of `unknown[]`, hence the casts).
    (store.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      bossStatements++;
      return poolQuery(...args);
    };
    const statementsBefore = store.stats.queries;
    const timing = process.env.BENCH_STATEMENTS === '1' ? statementTimes() : null;
    const pgBefore = kind === 'postgres' ? await serverCpuMs(db) : null;
    const threadsBefore = threadCpuMs();
    const upkeepBefore = await upkeepSoFar();
    const cpuBefore = process.cpuUsage();
    const t0 = Date.now();
    const { batchId } = await batches.launch({
      caseId: 'case_bench',
      templateVersionId: 'tpl_account_statement_v1',
      segments: ['bench'],
      channels: ['PRINT'],
      data,
      requestedBy: 'bench',
    });
    const queued = Date.now() - t0;
    // Responsiveness while the batch runs: a liveness probe with a 1 s timeout must not fail.
    const healthz = new URL('/healthz', gateway.url).href;
    // The prober shares the loop it measures: a probe is timed from when it was due (250 ms
    // after the previous answer), so a stall that delays its sending counts as it would for
    // a prober outside the process.
    let probing = true;
    let slowestProbe = 0;
    let probes = 0;
    let probesOver1s = 0;
    const probe = (async () => {
      while (probing) {
        const due = performance.now() + 250;
        await new Promise((r) => setTimeout(r, 250));
        const res = await fetch(healthz);
        await res.text();
        const took = performance.now() - due;
        slowestProbe = Math.max(slowestProbe, took);
        probes++;
        if (took > 1000) probesOver1s++;
      }
    })();
    let done = 0;
    let last = 0;
    while (done < DOCS) {
      await new Promise((r) => setTimeout(r, 1000));
      const { rows } = await sql<{
        n: string;
        failed: string;
      }>`select count(*)::text as n, count(*) filter (where status = 'FAILED')::text as failed
        from communications.documents where batch_id = ${batchId}`.execute(db);
      done = Number(rows[0]!.n);
      if (Date.now() - last > 10_000) {
        last = Date.now();
        console.log(
          `  ${done}/${DOCS} documents after ${((Date.now() - t0) / 1000).toFixed(0)} s (${rows[0]!.failed} failed)`,
        );
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const threadsAfter = threadCpuMs();
    const pgAfter = kind === 'postgres' ? await serverCpuMs(db) : null;
    const statements = store.stats.queries - statementsBefore + bossStatements;
    // The histogram records a stall when its timer next fires: give it that turn, or a stall
    // that lasted to the end of the batch would not be counted at all.
    await new Promise((r) => setTimeout(r, 50));
    loop.disable();
    probing = false;
    await probe;
    // The rest of the batch's work (deliveries, its end) happens after its last document: the
    // statements and CPU per document are counted again once the batch has COMPLETED.
    for (let waited = 0; waited < 300; waited++) {
      const row = await db
        .selectFrom('communications.notice_batches')
        .select('status')
        .where('id', '=', batchId)
        .executeTakeFirst();
      if (row?.status === 'COMPLETED') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const completedSeconds = (Date.now() - t0) / 1000;
    const cpuToEnd = process.cpuUsage(cpuBefore);
    const upkeepAfter = await upkeepSoFar();
    const statementsToEnd = store.stats.queries - statementsBefore + bossStatements;
    const ms = (ns: number) => `${(ns / 1e6).toFixed(0)} ms`;
    const rate = DOCS / seconds;
    const loadAfterBatch = os.loadavg();
    console.log(`  raw render again after the batch...`);
    const rawAfter = await rawRenderRateApart(threads, RAW_DOCS);
    const raw = (rawBefore.rate + rawAfter.rate) / 2;
    const { rows: size } = await sql<{
      bytes: string;
    }>`select coalesce(sum(length(body)), 0)::text as bytes from communications.document_parts p
      join communications.documents d on d.id = p.document_id where d.batch_id = ${batchId}`.execute(db);
    const projected = 100_000 / rate;
    console.log('');
    console.log(
      `batch generation: ${DOCS} one-page PDF statements (DejaVu, Unicode names), ${gateway.store!.kind}, WORKER_CONCURRENCY=${concurrency}, rendering ${gateway.subgraphs!.communications.renderMode} (RENDER_WORKERS=${process.env.RENDER_WORKERS ?? 'default'})`,
    );
    console.log(
      `  documents/s               ${rate.toFixed(1)} (${((rate / TARGET_RATE) * 100).toFixed(1)}% of the ${TARGET_RATE.toFixed(0)}/s target: 100,000 in 3 min)`,
    );
    console.log(
      `  raw render rate           ${raw.toFixed(1)}/s (mean of ${rawBefore.rate.toFixed(1)} before and ${rawAfter.rate.toFixed(1)} after the batch; ${RAW_DOCS} renders each, same statement, ${threads} thread(s) ${rawBefore.mode}, no store, in a child process)`,
    );
    console.log(
      `  batch / raw render        ${((rate / raw) * 100).toFixed(1)}% (target: at least 80%); raw render is ${((raw / TARGET_RATE) * 100).toFixed(1)}% of ${TARGET_RATE.toFixed(0)}/s`,
    );
    console.log(`  wall time                 ${seconds.toFixed(1)} s (queueing ${queued} ms of it)`);
    console.log(
      `  per document              ${(statements / DOCS).toFixed(1)} SQL statements (store counter + pg-boss's), ${((cpu.user + cpu.system) / 1000 / DOCS).toFixed(1)} ms CPU of the process (all threads), to the last document`,
    );
    console.log(
      `  per document, to the end  ${(statementsToEnd / DOCS).toFixed(1)} SQL statements, ${((cpuToEnd.user + cpuToEnd.system) / 1000 / DOCS).toFixed(1)} ms CPU, to the batch's COMPLETED (every delivery ended) at ${completedSeconds.toFixed(1)} s`,
    );
    console.log(
      `  peak RSS                  ${(peakRss / 2 ** 20).toFixed(0)} MiB (${(memoryBefore / 2 ** 20).toFixed(0)} MiB before the batch)`,
    );
    console.log(
      `  stored PDF bytes          ${(Number(size[0]!.bytes) / 2 ** 20).toFixed(1)} MiB (${(Number(size[0]!.bytes) / DOCS / 1024).toFixed(1)} KiB each)`,
    );
    console.log(
      `  event-loop delay          p99 ${ms(loop.percentile(99))}, max ${ms(loop.max)}, mean ${ms(loop.mean)} (during the batch, ${loop.count} samples)`,
    );
    console.log(
      `  slowest GET /healthz      ${slowestProbe.toFixed(0)} ms from when it was due; ${probesOver1s} of ${probes} probes over 1 s`,
    );
    console.log(
      `  projection for 100,000    ${(projected / 60).toFixed(1)} min at this rate (target: at most 3 min)`,
    );
    console.log(
      `  load average              ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before; ${loadAfterBatch.map((l) => l.toFixed(2)).join(' ')} after the batch`,
    );
    if (threadsBefore && threadsAfter) {
      const byRole = threadCpuSince(threadsBefore, threadsAfter);
      const per = (role: ThreadRole) => `${((byRole.get(role) ?? 0) / DOCS).toFixed(2)} ms`;
      console.log(
        `  CPU per document, thread  main ${per('main')} (${kind === 'pglite' ? 'the event loop: the PGlite store, ' : 'the event loop: '}the queue, our code), render ${per('worker threads')}, V8 helpers ${per('V8 helpers')}, other ${per('other')}; to the last document, /proc/self/task`,
      );
      console.log(
        `  main thread busy          ${(((byRole.get('main') ?? 0) / 1000 / seconds) * 100).toFixed(0)} % of the wall time to the last document (100 % = it sets the pace)`,
      );
    }
    if (pgBefore && pgAfter) {
      let ms = 0;
      for (const [pid, after] of pgAfter) ms += after - (pgBefore.get(pid) ?? 0);
      console.log(
        `  PostgreSQL server CPU     ${(ms / DOCS).toFixed(2)} ms per document (its ${pgAfter.size} backends on this database, /proc; on the same cores), to the last document`,
      );
    } else if (kind === 'postgres') {
      console.log(
        `  PostgreSQL server CPU     not measured (its backends' /proc entries are not readable from here)`,
      );
    }
    if (kind === 'pglite') {
      const upkeep = upkeepBetween(upkeepBefore, upkeepAfter);
      console.log(
        `  store upkeep              ${upkeep.count} tables vacuumed or analyzed, ${(upkeep.seconds * 1000).toFixed(0)} ms on the event loop in all, the longest ${upkeep.longest} (STORE_UPKEEP_INTERVAL_MS=${process.env.STORE_UPKEEP_INTERVAL_MS ?? 'default'}), to COMPLETED`,
      );
    }
    if (timing) for (const line of timing.report(15)) console.log(line);
    console.log(
      `  measured on               ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), node ${process.version}, in one process (gateway, workers, delivery${kind === 'pglite' ? ' and store' : '; the PostgreSQL server is another process on the same cores, its CPU not counted above'})`,
    );
    return {
      store: kind,
      rate,
      raw,
      peakRssMiB: peakRss / 2 ** 20,
      loopP99Ms: loop.percentile(99) / 1e6,
      cpuMsPerDoc: (cpu.user + cpu.system) / 1000 / DOCS,
      completedSeconds,
    };
  } finally {
    clearInterval(sampler);
    await gateway?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One store's batch in a child process of its own; its output passes through, its figures come back. */
function runApart(store: StoreKind, databaseUrl: string | undefined): Promise<BatchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [process.argv[1]!], {
      env: { ...process.env, BENCH_BATCH_CHILD: JSON.stringify({ store, databaseUrl }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let result: BatchResult | null = null;
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(RESULT_PREFIX))
        result = JSON.parse(line.slice(RESULT_PREFIX.length)) as BatchResult;
      else console.log(line);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (result && code === 0) resolve(result);
      else
        reject(
          new Error(`the ${store} batch ended with exit code ${code} and ${result ? 'a' : 'no'} result`),
        );
    });
  });
}

function storesFromEnv(): StoreKind[] {
  const wanted = (process.env.BENCH_STORES ?? STORES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((s) => !(STORES as readonly string[]).includes(s));
  if (unknown.length || !wanted.length)
    throw new Error(`BENCH_STORES: expected a list of ${STORES.join(', ')}; got ${process.env.BENCH_STORES}`);
  return wanted as StoreKind[];
}

/** Both stores against item 3's targets, one line a target. */
function summary(results: BatchResult[], skipped: Map<StoreKind, string>): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const verdict = (ok: boolean, short: string) => (ok ? 'PASS' : `MISS (${short})`);
  const lines = ['', 'Targets (issue 13, item 3), this run:'];
  for (const r of results) {
    const share = r.rate / r.raw;
    lines.push(
      `  ${r.store.padEnd(9)} ${r.rate.toFixed(1)}/s = ${(r.rate / TARGET_RATE).toFixed(2)}x of ${TARGET_RATE.toFixed(0)}/s: ${verdict(r.rate >= TARGET_RATE, `${((TARGET_RATE / r.rate - 1) * 100).toFixed(0)} % more needed`)}`,
      `  ${''.padEnd(9)} batch / raw render ${pct(share)} (wanted >= 80 %): ${verdict(share >= TARGET_SHARE, `${((TARGET_SHARE - share) * 100).toFixed(1)} points short`)}`,
      `  ${''.padEnd(9)} peak RSS ${r.peakRssMiB.toFixed(0)} MiB (wanted <= ${TARGET_RSS_MIB.toFixed(0)} MiB = 1.5 GB): ${verdict(r.peakRssMiB <= TARGET_RSS_MIB, `${(r.peakRssMiB - TARGET_RSS_MIB).toFixed(0)} MiB over`)}`,
      `  ${''.padEnd(9)} event-loop p99 ${r.loopP99Ms.toFixed(0)} ms (wanted <= ${TARGET_LOOP_P99_MS}): ${verdict(r.loopP99Ms <= TARGET_LOOP_P99_MS, `${(r.loopP99Ms - TARGET_LOOP_P99_MS).toFixed(0)} ms over`)}`,
      `  ${''.padEnd(9)} raw render on its own ${r.raw.toFixed(1)}/s = ${(r.raw / TARGET_RATE).toFixed(2)}x of ${TARGET_RATE.toFixed(0)}/s (the rate the batch would have with no store, queue or delivery)`,
    );
  }
  for (const [store, why] of skipped) lines.push(`  ${store.padEnd(9)} not run: ${why}`);
  return lines;
}

async function main(): Promise<void> {
  if (process.env.BENCH_RAW_ONLY) {
    const { threads, n } = JSON.parse(process.env.BENCH_RAW_ONLY) as { threads: number; n: number };
    console.log(JSON.stringify(await rawRenderRate(threads, n)));
    return;
  }
  if (process.env.BENCH_BATCH_CHILD) {
    const { store, databaseUrl } = JSON.parse(process.env.BENCH_BATCH_CHILD) as {
      store: StoreKind;
      databaseUrl?: string;
    };
    const result = await runOne(store, databaseUrl);
    console.log(RESULT_PREFIX + JSON.stringify(result));
    return;
  }
  const results: BatchResult[] = [];
  const skipped = new Map<StoreKind, string>();
  for (const store of storesFromEnv()) {
    if (store === 'pglite') {
      console.log('Batch on the embedded PGlite store (the default):');
      results.push(await runApart(store, undefined));
      continue;
    }
    const adminUrl = adminUrlFromEnv();
    let fresh: FreshDatabase;
    try {
      fresh = await freshDatabase(adminUrl, 'bench_batch');
    } catch (err) {
      // No server there: say so and go on (npm run bench carries on with the other parts).
      skipped.set(
        store,
        `no database could be created on ${new URL(adminUrl).host} (${(err as Error).message})`,
      );
      continue;
    }
    console.log('');
    console.log(
      `Batch on PostgreSQL ${fresh.version} at ${new URL(adminUrl).host}, fresh database ${fresh.name} (dropped after):`,
    );
    try {
      results.push(await runApart(store, fresh.url));
    } finally {
      await fresh.drop().catch((err: unknown) => console.error(`could not drop database ${fresh.name}`, err));
    }
  }
  for (const line of summary(results, skipped)) console.log(line);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

interface UpkeepTotals {
  count: number;
  seconds: number;
  /** Cumulative bucket counts by upper bound (seconds). */
  buckets: Map<number, number>;
}

/** The embedded store's upkeep so far (src/store/upkeep.ts), from its histogram. */
async function upkeepSoFar(): Promise<UpkeepTotals> {
  const totals: UpkeepTotals = { count: 0, seconds: 0, buckets: new Map() };
  const metric = registry.getSingleMetric('commsgraph_store_upkeep_seconds');
  if (!metric) return totals;
  for (const v of (await metric.get()).values) {
    // A histogram's values carry which series they are (prom-client's MetricValueWithName; the
    // shared `get()` type leaves it out).
    const name = (v as { metricName?: string }).metricName ?? '';
    if (name.endsWith('_count')) totals.count += v.value;
    else if (name.endsWith('_sum')) totals.seconds += v.value;
    else if (name.endsWith('_bucket') && v.labels.le !== '+Inf') {
      const le = Number(v.labels.le);
      totals.buckets.set(le, (totals.buckets.get(le) ?? 0) + v.value);
    }
  }
  return totals;
}

/** Between two readings: tables done, their seconds, and a bound on the longest (its bucket). */
function upkeepBetween(
  before: UpkeepTotals,
  after: UpkeepTotals,
): { count: number; seconds: number; longest: string } {
  const count = after.count - before.count;
  let longest = count === 0 ? '0 ms' : 'over 30 s';
  for (const [le, n] of [...after.buckets].sort((a, b) => a[0] - b[0]))
    if (count > 0 && n - (before.buckets.get(le) ?? 0) === count) {
      longest = `${(le * 1000).toFixed(0)} ms or less`;
      break;
    }
  return { count, seconds: after.seconds - before.seconds, longest };
}
