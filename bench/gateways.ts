import 'reflect-metadata';
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadConfig, SUBGRAPH_NAMES, type SubgraphName } from '../src/config/index.js';
import { composeSupergraph } from '../src/gateway/compose.js';
import { fetchSdl, startGateway, verifierFor, type Gateway } from '../src/gateway/index.js';
import { loadOrCreateDevKey, signDevToken } from '../src/identity/index.js';
import { configureLogger } from '../src/logger.js';
import { createApprovedCases, PAGE_QUERY, quiesce, type PageData } from './fixtures.js';
import type { LoadOptions, LoadSummary } from './load.js';
import type { PeerReady } from './peer-protocol.js';
import { adminUrlFromEnv, freshDatabase } from './postgres.js';
import { processCpuMs } from './proc.js';
import { assertFullPage, PAGE_SIZE, startDirectServer } from './run.js';
import {
  benchOptions,
  evaluate,
  roundOrder,
  summarize,
  median,
  type Goal,
  type GatewayBenchOptions,
  type TargetSummary,
} from './summary.js';

/**
 * `npm run bench:gateways`: CommsGraph's gateway side by side with two peer
 * gateways, all composed from the same running subgraph services on one
 * PostgreSQL database, measured interleaved in one run.
 *
 * - the three subgraph services (`npm run subgraph -- <name>`, compiled), each
 *   its own process, on a fresh database under BENCH_DATABASE_URL's server;
 * - our gateway in remote mode (GATEWAY_MODE=remote, its own process);
 * - Hive Gateway runtime and @apollo/gateway (bench/peer-*.ts, each its own
 *   process) on the supergraph our composition made from the same services;
 * - the in-process default gateway and direct execution, as `npm run bench`
 *   measures them, here on the same database (this process).
 *
 * Queries: the 20-case page (customer, approvals, documents, deliveries: all
 * three subgraphs) and a one-subgraph query (cases with approvals), the latter
 * also sent straight to the workflow service. Each round loads every target in
 * turn, the order rotated per round; the figures are medians over rounds.
 */

const ROOT = path.resolve(__dirname, '../..');

/** The workflow subgraph's part of the page: answerable by that service alone. */
const ONE_SUBGRAPH_QUERY = /* GraphQL */ `
  query CasesWithApprovals($first: Int) {
    cases(first: $first, kind: REGULATED_DOCUMENT) {
      edges {
        node {
          id
          title
          status
          approvals {
            stage
            decision
            decidedBy
          }
        }
      }
    }
  }
`;

type QueryKind = 'page' | 'one';

interface Target {
  key: string;
  name: string;
  query: QueryKind;
  url: string;
  /** The process answering the target's requests (null: this process), for its CPU time. */
  pid: number | null;
}

/** CPU time a measured window cost, per request answered in it. */
interface CpuPerRequest {
  /** The target's own process (the gateway, or the subgraph service hit directly). */
  targetMs: number;
  /** The three subgraph services together (0 for targets that do not call them). */
  subgraphsMs: number;
}

/** CPU time so far, in ms: this process's own (null), or another's from /proc. */
function cpuMsOf(pid: number | null): number | null {
  if (pid !== null) return processCpuMs(pid);
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

// ---------------------------------------------------------------------------
// Processes and the database
// ---------------------------------------------------------------------------

interface Child {
  name: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Keeps a child's last output lines, to show when it fails. */
function tail(proc: ChildProcess, lines: string[]): void {
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Starts a compiled entry point of ours and waits until its /readyz says ready. */
async function startService(
  name: string,
  script: string[],
  env: Record<string, string>,
  base: string,
  cwd = ROOT,
): Promise<Child> {
  const output: string[] = [];
  const proc = spawn(process.execPath, script, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  tail(proc, output);
  const child = { name, proc, stop: stopper(proc) };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`${name} exited with ${proc.exitCode}:\n${output.join('\n')}`);
    const ok = await fetch(new URL('/readyz', base)).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`${name} was not ready in 120 s:\n${output.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A peer gateway (bench/peer-*.ts) in its own process; its URL comes back over IPC. */
async function startPeer(
  name: string,
  file: string,
  supergraphFile: string,
  nodeArgs: string[] = [],
): Promise<Child & PeerReady> {
  const output: string[] = [];
  const profileDir = process.env.BENCH_PROFILE_DIR ? path.resolve(process.env.BENCH_PROFILE_DIR) : null;
  const proc = fork(path.join(__dirname, file), [supergraphFile], {
    cwd: ROOT,
    // BENCH_PROFILE_DIR: the peers are profiled too, so where each spends a request can be compared.
    execArgv: [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...nodeArgs],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  tail(proc, output);
  const ready = await new Promise<PeerReady>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start in 120 s:\n${output.join('\n')}`)),
      120_000,
    );
    proc.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as PeerReady);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output.join('\n')}`));
    });
  });
  return { name, proc, stop: stopper(proc), ...ready };
}

function pidOf(child: Child): number {
  if (child.proc.pid === undefined) throw new Error(`${child.name} has no process id`);
  return child.proc.pid;
}

// ---------------------------------------------------------------------------
// Requests and load
// ---------------------------------------------------------------------------

function requestInit(query: QueryKind, token: string): { headers: Record<string, string>; body: string } {
  return {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: query === 'page' ? PAGE_QUERY : ONE_SUBGRAPH_QUERY,
      variables: { first: PAGE_SIZE },
    }),
  };
}

async function probe(target: Target, token: string): Promise<unknown> {
  const { headers, body } = requestInit(target.query, token);
  const res = await fetch(target.url, { method: 'POST', headers, body });
  const json = (await res.json().catch(() => null)) as { data?: unknown; errors?: unknown[] } | null;
  if (!res.ok || !json || json.errors)
    throw new Error(`${target.name}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
  return json.data;
}

/** GraphQL requests the subgraph services have answered so far, from their /metrics. */
async function subgraphRequests(urls: Record<SubgraphName, string>, token: string): Promise<number> {
  const counts = await Promise.all(
    SUBGRAPH_NAMES.map(async (n) => {
      const res = await fetch(new URL('/metrics', urls[n]), {
        headers: { authorization: `Bearer ${token}` },
      });
      if (!res.ok) throw new Error(`subgraph ${n} /metrics: HTTP ${res.status}`);
      return (await res.text())
        .split('\n')
        .filter((l) => l.startsWith('commsgraph_graphql_request_duration_seconds_count'))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Subgraph requests one query through a target costs: sequential requests, so nothing else is counted. */
async function subgraphRequestsPer(
  target: Target,
  token: string,
  urls: Record<SubgraphName, string>,
): Promise<number> {
  const times = 10;
  const before = await subgraphRequests(urls, token);
  for (let i = 0; i < times; i++) await probe(target, token);
  return ((await subgraphRequests(urls, token)) - before) / times;
}

function load(
  target: Target,
  token: string,
  o: GatewayBenchOptions,
  subgraphPids: readonly number[],
): Promise<LoadSummary & { cpu: CpuPerRequest | null }> {
  const options: LoadOptions = {
    url: target.url,
    ...requestInit(target.query, token),
    connections: o.connections,
    durationSec: o.durationSec,
    warmupSec: o.warmupSec,
  };
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'load.js'), [JSON.stringify(options)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let summary: (LoadSummary & { cpu: CpuPerRequest | null }) | null = null;
    // CPU time of the target and of the subgraph services over the measured part only: the load
    // generator says when it starts measuring, and its summary comes the moment it ends.
    const sample = () => ({
      target: cpuMsOf(target.pid),
      subgraphs: target.pid === null ? null : subgraphPids.map(cpuMsOf),
    });
    let before: ReturnType<typeof sample> | null = null;
    child.on('message', (m) => {
      if ((m as { measuring?: boolean }).measuring) {
        before = sample();
        return;
      }
      const after = sample();
      const load = m as LoadSummary;
      const n = load.totalRequests;
      const diff = (a: number | null | undefined, b: number | null | undefined) =>
        a === null || a === undefined || b === null || b === undefined ? null : a - b;
      const targetMs = before ? diff(after.target, before.target) : null;
      const subMs =
        before?.subgraphs && after.subgraphs
          ? after.subgraphs.reduce<number | null>((sum, a, i) => {
              const d = diff(a, before!.subgraphs![i]);
              return sum === null || d === null ? null : sum + d;
            }, 0)
          : 0;
      // The subgraph service hit directly is one of the three: its time is the target's, not twice.
      const direct = target.pid !== null && subgraphPids.includes(target.pid);
      summary = {
        ...load,
        cpu:
          targetMs === null || subMs === null || n === 0
            ? null
            : { targetMs: targetMs / n, subgraphsMs: (direct ? subMs - targetMs : subMs) / n },
      };
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      summary ? resolve(summary) : reject(new Error(`load generator for ${target.name} exited with ${code}`)),
    );
  });
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

const GOALS: Goal[] = [
  {
    kind: 'throughput',
    label: 'page: ours / Hive Gateway req/s',
    of: 'page:ours',
    over: 'page:hive',
    atLeast: 1.3,
  },
  {
    kind: 'throughput',
    label: 'page: ours / @apollo/gateway req/s',
    of: 'page:ours',
    over: 'page:apollo',
    atLeast: 3,
  },
  { kind: 'p99-below', label: 'page: ours p99 / Hive Gateway p99', of: 'page:ours', below: 'page:hive' },
  { kind: 'p99-below', label: 'page: ours p99 / @apollo/gateway p99', of: 'page:ours', below: 'page:apollo' },
  {
    kind: 'throughput',
    label: 'one subgraph: workflow direct / ours',
    of: 'one:workflow',
    over: 'one:ours',
    atLeast: 1,
  },
  {
    kind: 'throughput',
    label: 'one subgraph: workflow direct / Hive Gateway',
    of: 'one:workflow',
    over: 'one:hive',
    atLeast: 1,
  },
  {
    kind: 'throughput',
    label: 'one subgraph: workflow direct / @apollo/gateway',
    of: 'one:workflow',
    over: 'one:apollo',
    atLeast: 1,
  },
  {
    kind: 'throughput',
    label: 'page: in-process default / direct execution',
    of: 'page:inprocess',
    over: 'page:direct',
    atLeast: 0.8,
  },
];

const fmt = (n: number, digits = 0) => n.toFixed(digits);

function table(
  title: string,
  targets: Target[],
  summaries: Map<string, TargetSummary>,
  ours: string,
  fanout: Map<string, number>,
  cpu: Map<string, CpuPerRequest[]>,
  underLoad: Map<string, number[]>,
): string[] {
  const row = (cells: string[]) =>
    cells[0]!.padEnd(50) +
    cells
      .slice(1)
      .map((c, i) => c.padStart(WIDTHS[i]!))
      .join('');
  const base = summaries.get(ours);
  // BENCH_ONLY may leave a query, or our gateway, out of the rounds.
  if (!base || !targets.length) return [];
  return [
    title,
    row([
      'target',
      'req/s',
      'min-max',
      'p99 ms',
      'max p99',
      'x ours',
      'requests',
      'subgraph req/op',
      'under load',
      'CPU ms/req',
      'subgraphs CPU',
    ]),
    ...targets.map((t) => {
      const s = summaries.get(t.key)!;
      const calls = fanout.get(t.key);
      return (
        row([
          t.name,
          fmt(s.rps),
          `${fmt(s.rpsMin)}-${fmt(s.rpsMax)}`,
          fmt(s.p99Ms),
          fmt(s.p99MaxMs),
          fmt(s.rps / base.rps, 2),
          String(s.requests),
          calls === undefined ? '-' : fmt(calls, 1),
          (underLoad.get(t.key) ?? []).length ? fmt(median(underLoad.get(t.key)!), 2) : '-',
          ...cpuCells(cpu.get(t.key) ?? []),
        ]) + (s.failures ? `  WARNING ${s.failures} failed` : '')
      );
    }),
    '',
  ];
}
const WIDTHS = [8, 12, 9, 9, 8, 10, 17, 12, 12, 15];

/** Median CPU ms per request over rounds: the target's process, then the subgraph services'. */
function cpuCells(rounds: readonly CpuPerRequest[]): [string, string] {
  if (!rounds.length) return ['-', '-'];
  return [fmt(median(rounds.map((r) => r.targetMs)), 2), fmt(median(rounds.map((r) => r.subgraphsMs)), 2)];
}

function gitCommit(dir = ROOT): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const o = benchOptions(process.env);
  const adminUrl = adminUrlFromEnv();
  const profileDir = process.env.BENCH_PROFILE_DIR ? path.resolve(process.env.BENCH_PROFILE_DIR) : null;
  // BENCH_BASELINE: another checkout, built, whose remote gateway runs beside ours on the same
  // services and is loaded in the same rounds (a change against its base, paired round by round
  // on one machine state instead of across runs minutes apart).
  const baselineDir = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : null;
  if (baselineDir && !fs.existsSync(path.join(baselineDir, 'dist/src/main.js')))
    throw new Error(`BENCH_BASELINE=${baselineDir}: no dist/src/main.js there (build it first)`);
  // BENCH_ONLY: the target keys loaded in the rounds (page:ours,page:hive,...); every target still
  // answers the probes. Shorter runs when only some figures are wanted.
  const only = process.env.BENCH_ONLY
    ? new Set(process.env.BENCH_ONLY.split(',').map((k) => k.trim()))
    : null;
  // BENCH_TWIN_NODE_ARGS: a twin of each gateway (ours, Hive Gateway, @apollo/gateway) started with
  // these node flags and loaded in the same rounds (keys page:ours-twin and so on): what a flag or a
  // preload does to each gateway, paired round by round.
  const twinArgs = process.env.BENCH_TWIN_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? null;
  const loadBefore = os.loadavg();
  configureLogger({ level: 'error' });

  const fresh = await freshDatabase(adminUrl, 'bench_gateways');
  const { name: database, url: databaseUrl, version: pgVersion } = fresh;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-bench-gateways-'));
  const children: Child[] = [];
  let inprocess: Gateway | null = null;
  let direct: { url: string; close(): Promise<void> } | null = null;
  try {
    // 1. The in-process default on the new database: migrates, seeds the demo, then the bench's cases.
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      DELIVERY_STEP_MS: '0',
      SEED_DEMO: 'true',
      // Measuring the gateways' own work: the per-identity rate limit would answer most requests 429.
      RATE_LIMIT_PER_MINUTE: '0',
    });
    console.log(`database ${database} on ${new URL(adminUrl).host}; migrating and seeding...`);
    inprocess = await startGateway(config);
    const subgraphs = inprocess.subgraphs!;
    console.log(`creating ${o.cases} approved cases and generating their documents...`);
    await createApprovedCases(subgraphs, { count: o.cases, label: 'bench' });
    await quiesce(subgraphs);
    direct = await startDirectServer(subgraphs, await verifierFor(config));
    const key = await loadOrCreateDevKey(config.dataDir);
    const token = await signDevToken(key, { sub: 'bench.operations', roles: ['operations'] }, config.auth);

    // 2. The subgraph services on the same database and data directory (so the same dev key).
    const ports = Object.fromEntries(
      await Promise.all(SUBGRAPH_NAMES.map(async (n) => [n, await freePort()])),
    ) as Record<SubgraphName, number>;
    const urls = Object.fromEntries(
      SUBGRAPH_NAMES.map((n) => [n, `http://127.0.0.1:${ports[n]}/graphql`]),
    ) as Record<SubgraphName, string>;
    const env = {
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DELIVERY_STEP_MS: '0',
      SEED_DEMO: 'false',
      RATE_LIMIT_PER_MINUTE: '0',
      SUBGRAPH_URLS: SUBGRAPH_NAMES.map((n) => `${n}=${urls[n]}`).join(','),
    };
    console.log('starting the subgraph services...');
    const services = await Promise.all(
      SUBGRAPH_NAMES.map((n) =>
        startService(
          `subgraph ${n}`,
          ['dist/src/bin/subgraph.js', n],
          { ...env, PORT: String(ports[n]) },
          urls[n],
        ),
      ),
    );
    children.push(...services);
    const subgraphPids = services.map(pidOf);
    const workflowService = services[SUBGRAPH_NAMES.indexOf('workflow')]!;

    // 3. The gateways over them: ours in remote mode, and the peers on the supergraph our composition makes.
    const gatewayPort = await freePort();
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}/graphql`;
    const sdls = await Promise.all(
      SUBGRAPH_NAMES.map(async (name) => ({
        name,
        url: urls[name],
        sdl: await fetchSdl(name, urls[name]),
      })),
    );
    const supergraphFile = path.join(dataDir, 'supergraph.graphql');
    fs.writeFileSync(supergraphFile, composeSupergraph(sdls).supergraphSdl);
    console.log('starting the gateways...');
    const [ours, hive, apollo] = await Promise.all([
      startService(
        'CommsGraph gateway (remote)',
        // BENCH_PROFILE_DIR: a CPU profile of our gateway's process, written there when it stops.
        [
          ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
          // BENCH_NODE_ARGS: node flags for our gateway's process only (a flag tried against BENCH_BASELINE).
          ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(/\s+/).filter(Boolean) : []),
          'dist/src/main.js',
        ],
        { ...env, GATEWAY_MODE: 'remote', PORT: String(gatewayPort) },
        gatewayUrl,
      ),
      startPeer('Hive Gateway', 'peer-hive.js', supergraphFile),
      startPeer('@apollo/gateway', 'peer-apollo.js', supergraphFile),
    ]);
    children.push(ours, hive, apollo);
    const baselinePort = baselineDir ? await freePort() : 0;
    const baselineUrl = `http://127.0.0.1:${baselinePort}/graphql`;
    const baseline = baselineDir
      ? await startService(
          'CommsGraph gateway (remote), baseline build',
          [path.join(baselineDir, 'dist/src/main.js')],
          { ...env, GATEWAY_MODE: 'remote', PORT: String(baselinePort) },
          baselineUrl,
          baselineDir,
        )
      : null;
    if (baseline) children.push(baseline);
    const baselineName = `  baseline ${baselineDir ? gitCommit(baselineDir) : ''} (BENCH_BASELINE)`;
    const twinPort = twinArgs ? await freePort() : 0;
    const twinUrl = `http://127.0.0.1:${twinPort}/graphql`;
    const twins = twinArgs
      ? await Promise.all([
          startService(
            'CommsGraph gateway (remote), twin',
            [...twinArgs, 'dist/src/main.js'],
            { ...env, GATEWAY_MODE: 'remote', PORT: String(twinPort) },
            twinUrl,
          ),
          startPeer('Hive Gateway, twin', 'peer-hive.js', supergraphFile, twinArgs),
          startPeer('@apollo/gateway, twin', 'peer-apollo.js', supergraphFile, twinArgs),
        ])
      : null;
    if (twins) children.push(...twins);
    const twinTargets = (query: QueryKind): Target[] => {
      if (!twins) return [];
      const [oursTwin, hiveTwin, apolloTwin] = twins;
      const tag = ` twin (${twinArgs!.join(' ')})`.slice(0, 40);
      return [
        { key: `${query}:ours-twin`, name: `ours${tag}`, query, url: twinUrl, pid: pidOf(oursTwin) },
        { key: `${query}:hive-twin`, name: `Hive${tag}`, query, url: hiveTwin.url, pid: pidOf(hiveTwin) },
        {
          key: `${query}:apollo-twin`,
          name: `Apollo${tag}`,
          query,
          url: apolloTwin.url,
          pid: pidOf(apolloTwin),
        },
      ];
    };

    const targets: Target[] = [
      {
        key: 'page:ours',
        name: 'CommsGraph gateway, remote mode',
        query: 'page',
        url: gatewayUrl,
        pid: pidOf(ours),
      },
      ...(baseline
        ? [
            {
              key: 'page:baseline',
              name: baselineName,
              query: 'page' as const,
              url: baselineUrl,
              pid: pidOf(baseline),
            },
          ]
        : []),
      ...twinTargets('page'),
      { key: 'page:hive', name: hive.version, query: 'page', url: hive.url, pid: pidOf(hive) },
      { key: 'page:apollo', name: apollo.version, query: 'page', url: apollo.url, pid: pidOf(apollo) },
      {
        key: 'page:inprocess',
        name: 'CommsGraph gateway, in-process default',
        query: 'page',
        url: inprocess.url,
        pid: null,
      },
      {
        key: 'page:direct',
        name: 'direct execution (no gateway, as npm run bench)',
        query: 'page',
        url: direct.url,
        pid: null,
      },
      {
        key: 'one:ours',
        name: 'CommsGraph gateway, remote mode',
        query: 'one',
        url: gatewayUrl,
        pid: pidOf(ours),
      },
      ...(baseline
        ? [
            {
              key: 'one:baseline',
              name: baselineName,
              query: 'one' as const,
              url: baselineUrl,
              pid: pidOf(baseline),
            },
          ]
        : []),
      ...twinTargets('one'),
      { key: 'one:hive', name: hive.version, query: 'one', url: hive.url, pid: pidOf(hive) },
      { key: 'one:apollo', name: apollo.version, query: 'one', url: apollo.url, pid: pidOf(apollo) },
      {
        key: 'one:workflow',
        name: 'workflow subgraph service, direct',
        query: 'one',
        url: urls.workflow,
        pid: pidOf(workflowService),
      },
    ];

    // 4. Every target answers each query fully and alike; otherwise the comparison means nothing.
    const answers = new Map<string, unknown>();
    for (const t of targets) answers.set(t.key, await probe(t, token));
    for (const t of targets) {
      const reference = t.query === 'page' ? 'page:inprocess' : 'one:workflow';
      if (t.query === 'page') assertFullPage(t.name, answers.get(t.key) as PageData);
      if (!isDeepStrictEqual(answers.get(t.key), answers.get(reference)))
        throw new Error(`${t.name} answered the ${t.query} query differently from ${reference}`);
    }
    const oneEdges = (answers.get('one:workflow') as { cases: { edges: unknown[] } }).cases.edges.length;
    if (oneEdges !== PAGE_SIZE)
      throw new Error(`one-subgraph query: ${oneEdges} cases, expected ${PAGE_SIZE}`);
    // How many subgraph requests each query costs through each target (the in-process ones make none over HTTP).
    const fanout = new Map<string, number>();
    for (const t of targets.filter((x) => x.key !== 'page:inprocess' && x.key !== 'page:direct'))
      fanout.set(t.key, await subgraphRequestsPer(t, token, urls));
    const setupSec = (Date.now() - started) / 1000;

    // 5. Interleaved rounds.
    const results = new Map<string, LoadSummary[]>(targets.map((t) => [t.key, []]));
    const cpu = new Map<string, CpuPerRequest[]>(targets.map((t) => [t.key, []]));
    // Subgraph requests per query under load: lower than in sequence when a gateway lets identical
    // queries in flight at once share a subgraph call.
    const underLoad = new Map<string, number[]>(targets.map((t) => [t.key, []]));
    const loaded = only ? targets.filter((t) => only.has(t.key)) : targets;
    if (!loaded.length) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY}: no such target`);
    for (let round = 0; round < o.rounds; round++) {
      for (const t of roundOrder(loaded, round)) {
        console.log(
          `round ${round + 1}/${o.rounds}: ${t.query === 'page' ? 'page' : 'one subgraph'} via ${t.name} (${o.warmupSec} s warm-up + ${o.durationSec} s)...`,
        );
        const remote = fanout.has(t.key);
        const callsBefore = remote ? await subgraphRequests(urls, token) : 0;
        const { cpu: cpuPerRequest, ...summary } = await load(t, token, o, subgraphPids);
        results.get(t.key)!.push(summary);
        if (cpuPerRequest) cpu.get(t.key)!.push(cpuPerRequest);
        if (remote)
          underLoad
            .get(t.key)!
            .push(
              ((await subgraphRequests(urls, token)) - callsBefore) /
                (summary.totalRequests + summary.warmupRequests),
            );
      }
    }
    const loadAfter = os.loadavg();
    const summaries = new Map(
      [...results].filter(([, rounds]) => rounds.length).map(([k, rounds]) => [k, summarize(rounds)]),
    );

    const cpus = os.cpus();
    // Goals whose targets were all loaded (BENCH_ONLY may leave some out).
    const goals = evaluate(
      GOALS.filter((g) => [g.of, g.kind === 'throughput' ? g.over : g.below].every((k) => summaries.has(k))),
      summaries,
    );
    // With a baseline or twins: each round's figures side by side, the pairing the medians hide.
    type Pair = [string, string];
    const twinPairs: Pair[] = [
      ['ours-twin', 'ours'],
      ['hive-twin', 'hive'],
      ['apollo-twin', 'apollo'],
    ];
    const pairKeys: Pair[] = [
      ...(baseline ? [['ours', 'baseline'] as Pair] : []),
      ...(twins ? twinPairs : []),
    ];
    const pairs = (['page', 'one'] as const).flatMap((q) =>
      pairKeys.flatMap(([a, b]) => {
        const ra = results.get(`${q}:${a}`) ?? [];
        const rb = results.get(`${q}:${b}`) ?? [];
        if (!ra.length || ra.length !== rb.length) return [];
        const cpuA = cpu.get(`${q}:${a}`)!;
        const cpuB = cpu.get(`${q}:${b}`)!;
        const ratios = ra.map((r, i) => r.requestsPerSecMean / rb[i]!.requestsPerSecMean);
        return [
          `${q} query, round by round, ${a} / ${b}: req/s (ratio), CPU ms/req`,
          ...ra.map(
            (r, i) =>
              `  round ${i + 1}: ${fmt(r.requestsPerSecMean)} / ${fmt(rb[i]!.requestsPerSecMean)} (${fmt(ratios[i]!, 3)}x), CPU ${cpuA[i] ? fmt(cpuA[i].targetMs, 2) : '-'} / ${cpuB[i] ? fmt(cpuB[i].targetMs, 2) : '-'} ms`,
          ),
          `  median ratio ${fmt(median(ratios), 3)}x; ${a} ahead in ${ratios.filter((x) => x > 1).length} of ${ratios.length} rounds`,
          '',
        ];
      }),
    );
    const lines = [
      '',
      ...table(
        `Page query: cases(first: ${PAGE_SIZE}, kind: REGULATED_DOCUMENT) with customer, approvals, documents, deliveries (all three subgraphs)`,
        targets.filter((t) => t.query === 'page' && summaries.has(t.key)),
        summaries,
        'page:ours',
        fanout,
        cpu,
        underLoad,
      ),
      ...table(
        `One-subgraph query: the same ${PAGE_SIZE} cases with approvals (workflow only)`,
        targets.filter((t) => t.query === 'one' && summaries.has(t.key)),
        summaries,
        'one:ours',
        fanout,
        cpu,
        underLoad,
      ),
      ...pairs,
      'Targets (issue 13)',
      `${'goal'.padEnd(50)}${'ratio'.padStart(8)}${'wanted'.padStart(10)}  result`,
      ...goals.map(
        (g) =>
          `${g.label.padEnd(50)}${`${fmt(g.ratio, 2)}x`.padStart(8)}${g.wanted.padStart(10)}  ${g.pass ? 'PASS' : `MISS (${g.short})`}`,
      ),
      '',
      'How it was measured:',
      `  ${new Date().toISOString()}, commit ${gitCommit()}, node ${process.version}, ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB.`,
      `  loadavg before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')} (1/5/15 min; the machine may be shared).`,
      `  ${o.rounds} rounds; each round loads every target in turn (order rotated per round) for ${o.warmupSec} s unreported warm-up + ${o.durationSec} s,`,
      `  autocannon 9 in a child process, ${o.connections} connections, 1 request in flight each. req/s and p99 are medians over rounds; min-max and max p99 over rounds.`,
      `  Database: PostgreSQL ${pgVersion} at ${new URL(adminUrl).host}, fresh database ${database} (dropped after), ${o.cases} approved cases with documents delivered, plus the demo data.`,
      '  Processes: the three subgraph services (dist/src/bin/subgraph.js), our remote-mode gateway (dist/src/main.js, GATEWAY_MODE=remote),',
      '  Hive Gateway (createGatewayRuntime on node:http) and @apollo/gateway (@apollo/server standalone) each in its own process; the peers',
      '  run the supergraph our composition made from the services, forwarding the Authorization header. The in-process default gateway and',
      '  direct execution (bench/run.ts) run in this process on the same database.',
      '  Every request carries an operations bearer token that each subgraph service (and each of our gateways) verifies; all security',
      '  checks on; per-identity rate limit off (RATE_LIMIT_PER_MINUTE=0), as in npm run bench. Answers checked equal across targets first.',
      '  subgraph req/op: GraphQL requests the three services answered (their /metrics) over 10 sequential requests of the query, / 10;',
      "  under load: the same over a round's load (warm-up included), median over rounds: below it when identical queries of one",
      '  caller in flight at once share a subgraph call (Hive Gateway and, for queries, CommsGraph do; @apollo/gateway does not).',
      "  CPU ms/req: user + system CPU time of the target's process (/proc/<pid>/stat) over the measured seconds, per request answered;",
      "  subgraphs CPU: the same for the three subgraph services together (the others' when one is the target). For the in-process",
      '  default and direct execution the target is this bench process (process.cpuUsage), which runs both, subgraphs included.',
      `  Setup ${fmt(setupSec, 1)} s, total ${fmt((Date.now() - started) / 1000, 1)} s.`,
    ];
    console.log(lines.join('\n'));
    if ([...summaries.values()].some((s) => s.failures)) process.exitCode = 1;
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await direct?.close().catch(() => undefined);
    await inprocess?.stop().catch((err: unknown) => console.error('gateway stop failed', err));
    await fresh.drop().catch((err: unknown) => console.error(`could not drop database ${database}`, err));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
