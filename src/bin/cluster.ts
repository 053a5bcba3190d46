import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { Redis } from 'ioredis';
import pg from 'pg';
import { z } from 'zod';
import { ConfigError, loadConfig, SUBGRAPH_NAMES, type SubgraphName } from '../config/index.js';
import { composeSupergraph } from '../gateway/compose.js';

/**
 * `npm run start:cluster`: the production topology on one machine. Three
 * subgraph services, CLUSTER_GATEWAYS remote-mode gateway replicas and
 * CLUSTER_WORKERS batch workers, on one PostgreSQL and one Redis, each its own
 * process with its output prefixed by its name. It starts them in order
 * (subgraphs, gateways, workers), each waited for, prints the URLs, passes
 * SIGINT/SIGTERM on and waits for every process to drain. If any process dies
 * on its own, the others are stopped and the cluster exits 1.
 */

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
type Level = (typeof LEVELS)[number];
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

const bool = z
  .enum(['true', 'false'])
  .default('true')
  .transform((v) => v === 'true');

/** The cluster's own settings; everything else in the environment is passed to every process. */
const Settings = z.object({
  /** Gateways on BASE, BASE+1, ...; subgraphs on BASE+101..103. 0 picks free ports at start. */
  CLUSTER_BASE_PORT: z.coerce.number().int().min(0).max(65_432).default(4000),
  CLUSTER_GATEWAYS: z.coerce.number().int().min(1).max(50).default(2),
  /** Separate `npm run worker` processes; 0 leaves batch work to the communications service. */
  CLUSTER_WORKERS: z.coerce.number().int().min(0).max(16).default(1),
  /** The interface every process listens on. */
  CLUSTER_HOST: z.string().min(1).default('127.0.0.1'),
  CLUSTER_READY_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(120_000),
  /** How long a process may take to drain before it is killed. */
  CLUSTER_STOP_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** Create the database(s) named in the URLs when missing. */
  CLUSTER_CREATE_DATABASE: bool,
  /** `pretty` (time, level, message, fields) or `json` (each process's JSON lines as they are). */
  CLUSTER_LOG_FORMAT: z.enum(['pretty', 'json']).default('pretty'),
  /** When set, each process's output is also appended to <dir>/<name>.log. */
  CLUSTER_LOG_DIR: z.string().min(1).optional(),
  /** Where the composed supergraph (with this cluster's subgraph URLs) is written; default <DATA_DIR>/supergraph.graphql. */
  CLUSTER_SUPERGRAPH_FILE: z.string().min(1).optional(),
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/commsgraph'),
  /** Per-subgraph databases; the workers use the communications one (pg-boss lives there). */
  WORKFLOW_DATABASE_URL: z.string().url().optional(),
  CUSTOMERS_DATABASE_URL: z.string().url().optional(),
  COMMUNICATIONS_DATABASE_URL: z.string().url().optional(),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z.enum(LEVELS).default('info'),
});

export interface ClusterSettings {
  basePort: number;
  gateways: number;
  workers: number;
  host: string;
  readyTimeoutMs: number;
  stopTimeoutMs: number;
  createDatabase: boolean;
  logFormat: 'pretty' | 'json';
  logDir: string | undefined;
  supergraphFile: string;
  databaseUrls: Record<SubgraphName, string>;
  redisUrl: string;
  dataDir: string;
  logLevel: Level;
}

/** Validates the cluster's settings, reporting every problem at once (ConfigError). */
export function clusterSettings(env: NodeJS.ProcessEnv): ClusterSettings {
  const parsed = Settings.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    basePort: e.CLUSTER_BASE_PORT,
    gateways: e.CLUSTER_GATEWAYS,
    workers: e.CLUSTER_WORKERS,
    host: e.CLUSTER_HOST,
    readyTimeoutMs: e.CLUSTER_READY_TIMEOUT_MS,
    stopTimeoutMs: e.CLUSTER_STOP_TIMEOUT_MS,
    createDatabase: e.CLUSTER_CREATE_DATABASE,
    logFormat: e.CLUSTER_LOG_FORMAT,
    logDir: e.CLUSTER_LOG_DIR ? path.resolve(e.CLUSTER_LOG_DIR) : undefined,
    supergraphFile: path.resolve(e.CLUSTER_SUPERGRAPH_FILE ?? path.join(dataDir, 'supergraph.graphql')),
    databaseUrls: {
      workflow: e.WORKFLOW_DATABASE_URL ?? e.DATABASE_URL,
      customers: e.CUSTOMERS_DATABASE_URL ?? e.DATABASE_URL,
      communications: e.COMMUNICATIONS_DATABASE_URL ?? e.DATABASE_URL,
    },
    redisUrl: e.REDIS_URL,
    dataDir,
    logLevel: e.LOG_LEVEL,
  };
}

export type Role = 'subgraph' | 'gateway' | 'worker';

export interface ProcessPlan {
  name: string;
  role: Role;
  /** The script under dist/src and its arguments. */
  script: string;
  args: string[];
  /** Set for HTTP processes: their GraphQL URL. */
  url: string | null;
  env: Record<string, string>;
}

/** Every process of the cluster with its environment, in start order. Ports must already be chosen. */
export function planCluster(
  s: ClusterSettings,
  ports: { subgraphs: Record<SubgraphName, number>; gateways: number[] },
): ProcessPlan[] {
  // Processes reach each other on loopback when they listen on every interface.
  const reach = s.host === '0.0.0.0' || s.host === '::' ? '127.0.0.1' : s.host;
  const urlOf = (port: number) => `http://${reach.includes(':') ? `[${reach}]` : reach}:${port}/graphql`;
  const subgraphUrls = SUBGRAPH_NAMES.map((n) => `${n}=${urlOf(ports.subgraphs[n])}`).join(',');
  // Children log at info (debug if asked) whatever LOG_LEVEL says: the cluster
  // reads their lines (the worker's readiness) and filters what it prints.
  const common = {
    DATA_DIR: s.dataDir,
    HOST: s.host,
    REDIS_URL: s.redisUrl,
    SUBGRAPH_URLS: subgraphUrls,
    LOG_LEVEL: s.logLevel === 'debug' ? 'debug' : 'info',
  };
  const plans: ProcessPlan[] = SUBGRAPH_NAMES.map((name) => ({
    name,
    role: 'subgraph',
    script: 'bin/subgraph.js',
    args: [name],
    url: urlOf(ports.subgraphs[name]),
    env: {
      ...common,
      PORT: String(ports.subgraphs[name]),
      DATABASE_URL: s.databaseUrls[name],
      // With separate workers, the communications service only enqueues batch records.
      RUN_WORKERS: s.workers > 0 ? 'false' : 'true',
    },
  }));
  ports.gateways.forEach((port, i) =>
    plans.push({
      name: `gateway-${i + 1}`,
      role: 'gateway',
      script: 'main.js',
      args: [],
      url: urlOf(port),
      env: { ...common, PORT: String(port), GATEWAY_MODE: 'remote' },
    }),
  );
  for (let i = 0; i < s.workers; i++) {
    plans.push({
      name: s.workers === 1 ? 'worker' : `worker-${i + 1}`,
      role: 'worker',
      script: 'bin/worker.js',
      args: [],
      url: null,
      env: { ...common, DATABASE_URL: s.databaseUrls.communications },
    });
  }
  return plans;
}

/** Checks each process's environment with the same validation the process itself runs, before any starts. */
export function configProblems(envs: Array<Record<string, string>>, base: NodeJS.ProcessEnv): string[] {
  const problems = new Set<string>();
  for (const env of envs) {
    try {
      loadConfig({ ...base, ...env });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      err.problems.forEach((x) => problems.add(x));
    }
  }
  return [...problems];
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function choosePorts(s: ClusterSettings) {
  if (s.basePort > 0) {
    return {
      subgraphs: {
        workflow: s.basePort + 101,
        customers: s.basePort + 102,
        communications: s.basePort + 103,
      },
      gateways: Array.from({ length: s.gateways }, (_, i) => s.basePort + i),
    };
  }
  // Subgraph URLs go to every process at start, so even "any port" has to be chosen up front.
  const subgraphs = {
    workflow: await freePort(s.host),
    customers: await freePort(s.host),
    communications: await freePort(s.host),
  };
  const gateways: number[] = [];
  for (let i = 0; i < s.gateways; i++) gateways.push(await freePort(s.host));
  return { subgraphs, gateways };
}

/** Connects to the database, creating it first if it is missing and that is allowed. */
async function ensureDatabase(url: string, create: boolean): Promise<'exists' | 'created'> {
  const probe = new pg.Client({ connectionString: url });
  // A connection that drops emits 'error' as well as failing the awaited call; the call says it.
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.end();
    return 'exists';
  } catch (err) {
    await probe.end().catch(() => undefined);
    // 3D000: invalid_catalog_name, the database does not exist.
    if ((err as { code?: string }).code !== '3D000' || !create) {
      throw new Error(`PostgreSQL at ${redact(url)}: ${(err as Error).message}`, { cause: err });
    }
  }
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/^[A-Za-z_][A-Za-z0-9_-]{0,62}$/.test(name)) {
    throw new Error(`PostgreSQL at ${redact(url)}: will not create a database named "${name}"`);
  }
  const adminUrl = new URL(url);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    await admin.query(`create database "${name}"`);
  } catch (err) {
    // 42P04: duplicate_database, another start created it first.
    if ((err as { code?: string }).code !== '42P04') {
      throw new Error(`PostgreSQL at ${redact(url)}: cannot create the database: ${(err as Error).message}`, {
        cause: err,
      });
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
  return 'created';
}

async function pingRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // reported by the rejected connect below
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis at ${redact(url)}: ${(err as Error).message}`, { cause: err });
  } finally {
    redis.disconnect();
  }
}

/** A URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}

/** Prints lines, each with its process's name, through one writer so lines never interleave mid-line. */
class Output {
  private readonly width: number;
  private readonly files = new Map<string, fs.WriteStream>();

  constructor(
    private readonly s: ClusterSettings,
    names: string[],
  ) {
    this.width = Math.max('cluster'.length, ...names.map((n) => n.length));
    if (s.logDir) fs.mkdirSync(s.logDir, { recursive: true });
  }

  private prefix(name: string): string {
    return `[${name.padEnd(this.width)}]`;
  }

  /** The cluster's own messages. */
  say(text: string, stream: 'out' | 'err' = 'err'): void {
    const line = `${this.prefix('cluster')} ${text}\n`;
    (stream === 'out' ? process.stdout : process.stderr).write(line);
  }

  /** One line of a process's output: filtered by LOG_LEVEL, formatted, and kept in its log file. */
  child(name: string, line: string): void {
    if (this.s.logDir) {
      let file = this.files.get(name);
      if (!file) {
        file = fs.createWriteStream(path.join(this.s.logDir, `${name}.log`), { flags: 'a' });
        this.files.set(name, file);
      }
      file.write(`${line}\n`);
    }
    const entry = parseEntry(line);
    if (entry && ORDER[entry.level] < ORDER[this.s.logLevel]) return;
    const text = this.s.logFormat === 'json' || !entry ? line : pretty(entry);
    process.stderr.write(
      text
        .split('\n')
        .map((l) => `${this.prefix(name)} ${l}`)
        .join('\n') + '\n',
    );
  }

  close(): Promise<void> {
    return Promise.all(
      [...this.files.values()].map((f) => new Promise<void>((resolve) => f.end(() => resolve()))),
    ).then(() => undefined);
  }
}

interface Entry {
  t?: string;
  level: Exclude<Level, 'silent'>;
  msg: string;
  fields: Record<string, unknown>;
}

function parseEntry(line: string): Entry | null {
  if (!line.startsWith('{')) return null;
  try {
    const json = JSON.parse(line) as Record<string, unknown>;
    const { t, level, msg, proc: _proc, ...fields } = json;
    if (typeof msg !== 'string' || typeof level !== 'string' || !(level in ORDER)) return null;
    return { t: typeof t === 'string' ? t : undefined, level: level as Entry['level'], msg, fields };
  } catch {
    return null;
  }
}

/** `12:00:01.234 INFO  gateway listening url=http://...`, with an error's stack on the lines below. */
function pretty(e: Entry): string {
  const time = e.t ? e.t.slice(11, 23) : '';
  const parts: string[] = [];
  let stack = '';
  for (const [k, v] of Object.entries(e.fields)) {
    if (v && typeof v === 'object' && 'stack' in v && typeof v.stack === 'string') {
      stack = `\n${v.stack}`;
      parts.push(`${k}=${JSON.stringify((v as { message?: unknown }).message ?? '')}`);
    } else {
      parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
  }
  return `${time} ${e.level.toUpperCase().padEnd(5)} ${e.msg}${parts.length ? ` ${parts.join(' ')}` : ''}${stack}`;
}

interface Running {
  plan: ProcessPlan;
  proc: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exited: Promise<number | string>;
  exit: number | string | null;
  /** Resolves when the worker announced it runs. */
  announced: Promise<void>;
}

class Cluster {
  private readonly running: Running[] = [];
  private stopping: Promise<boolean> | null = null;
  private failed = false;

  constructor(
    private readonly s: ClusterSettings,
    private readonly out: Output,
    private readonly onUnexpectedExit: (r: Running) => void,
  ) {}

  spawn(plan: ProcessPlan): Running {
    const proc = spawn(process.execPath, [path.join(__dirname, '..', plan.script), ...plan.args], {
      env: { ...process.env, ...plan.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let announce: () => void = () => undefined;
    const announced = new Promise<void>((resolve) => (announce = resolve));
    const r: Running = {
      plan,
      proc,
      exit: null,
      announced,
      exited: new Promise((resolve) =>
        proc.once('exit', (code, signal) => {
          r.exit = code ?? signal ?? 'unknown';
          resolve(r.exit);
        }),
      ),
    };
    for (const stream of [proc.stdout!, proc.stderr!]) {
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        if (line.includes('"msg":"worker running"')) announce();
        this.out.child(plan.name, line);
      });
    }
    proc.once('error', (err) => this.out.say(`${plan.name} could not start: ${err.message}`));
    void r.exited.then((code) => {
      const how = typeof code === 'number' ? `with code ${code}` : `on ${code}`;
      if (this.stopping) {
        this.out.say(`${plan.name} exited ${how}`);
      } else {
        this.out.say(`${plan.name} exited unexpectedly ${how}; stopping the others`);
        this.onUnexpectedExit(r);
      }
    });
    this.running.push(r);
    return r;
  }

  /** Resolves when the process is ready: /readyz answers 200, or the worker says it runs. */
  async ready(r: Running): Promise<void> {
    const deadline = Date.now() + this.s.readyTimeoutMs;
    const gone = r.exited.then((code) => {
      throw new Error(`${r.plan.name} exited (${code}) before it was ready`);
    });
    gone.catch(() => undefined);
    if (!r.plan.url) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${r.plan.name} not running after ${this.s.readyTimeoutMs} ms`)),
          this.s.readyTimeoutMs,
        );
      });
      try {
        await Promise.race([r.announced, gone, late]);
      } finally {
        clearTimeout(timer);
      }
      return;
    }
    const readyz = new URL('/readyz', r.plan.url).toString();
    for (;;) {
      if (r.exit !== null) await gone;
      const ok = await fetch(readyz, { signal: AbortSignal.timeout(5_000) }).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) {
        throw new Error(`${r.plan.name} not ready at ${readyz} after ${this.s.readyTimeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * Stops everything, front to back: gateways and workers first (they stop
   * taking work and finish what they hold, which needs the subgraphs), then
   * the subgraph services. Resolves true if every process exited 0.
   */
  stop(): Promise<boolean> {
    return (this.stopping ??= (async () => {
      const front = this.running.filter((r) => r.plan.role !== 'subgraph');
      const back = this.running.filter((r) => r.plan.role === 'subgraph');
      for (const stage of [front, back]) await Promise.all(stage.map((r) => this.stopOne(r)));
      return !this.failed && this.running.every((r) => r.exit === 0);
    })());
  }

  /** A second signal: no more waiting. */
  kill(): void {
    for (const r of this.running) if (r.exit === null) r.proc.kill('SIGKILL');
  }

  markFailed(): void {
    this.failed = true;
  }

  private async stopOne(r: Running): Promise<void> {
    if (r.exit !== null) return;
    r.proc.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.out.say(`${r.plan.name} still running after ${this.s.stopTimeoutMs} ms; killing it`);
      r.proc.kill('SIGKILL');
    }, this.s.stopTimeoutMs);
    await r.exited;
    clearTimeout(timer);
  }
}

/** Writes the supergraph composed from the running subgraphs, for Apollo Router or Hive Gateway. */
async function writeSupergraph(plans: ProcessPlan[], file: string): Promise<void> {
  const subgraphs = await Promise.all(
    plans
      .filter((p) => p.role === 'subgraph')
      .map(async (p) => {
        const res = await fetch(p.url!, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ _service { sdl } }' }),
        });
        const body = (await res.json()) as { data?: { _service?: { sdl?: string } } };
        const sdl = body.data?._service?.sdl;
        if (!sdl) throw new Error(`${p.name} returned no SDL`);
        return { name: p.name, url: p.url!, sdl };
      }),
  );
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${composeSupergraph(subgraphs).supergraphSdl.trim()}\n`);
}

async function main(): Promise<number> {
  let settings: ClusterSettings;
  try {
    settings = clusterSettings(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // The settings every process shares are checked too, so one run reports everything.
    const shared = configProblems([{ GATEWAY_MODE: 'inprocess', SUBGRAPH_URLS: '' }], process.env);
    process.stderr.write(`${new ConfigError([...new Set([...err.problems, ...shared])]).message}\n`);
    return 2;
  }
  const s = settings;
  const ports = await choosePorts(s);
  const plans = planCluster(s, ports);
  const problems = configProblems(
    plans.map((p) => p.env),
    process.env,
  );
  if (problems.length) {
    process.stderr.write(`${new ConfigError(problems).message}\n`);
    return 2;
  }
  const out = new Output(
    s,
    plans.map((p) => p.name),
  );
  const started = Date.now();

  try {
    for (const url of new Set(Object.values(s.databaseUrls))) {
      if ((await ensureDatabase(url, s.createDatabase)) === 'created')
        out.say(`created database ${redact(url)}`);
    }
    await pingRedis(s.redisUrl);
  } catch (err) {
    out.say((err as Error).message);
    return 1;
  }

  let settle: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (settle = resolve));
  let stopping = false;
  const shutdown = (why: string, failed: boolean) => {
    if (failed) cluster.markFailed();
    if (stopping) return;
    stopping = true;
    out.say(`stopping (${why})`);
    void cluster.stop().then((clean) => {
      out.say(clean ? 'stopped; every process exited 0' : 'stopped; not every process exited cleanly');
      settle(clean ? 0 : 1);
    });
  };
  const cluster: Cluster = new Cluster(s, out, (r) => shutdown(`${r.plan.name} exited`, true));

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (!stopping) return shutdown(signal, false);
      out.say(`${signal} while stopping: killing every process`);
      cluster.kill();
    });
  }

  try {
    out.say(
      `starting ${plans.length} processes (DATA_DIR ${s.dataDir}, PostgreSQL ${[...new Set(Object.values(s.databaseUrls))].map(redact).join(', ')}, Redis ${redact(s.redisUrl)})`,
    );
    // Subgraph services one at a time (each migrates its database on start),
    // then the gateways together (they compose the subgraphs), then workers.
    for (const role of ['subgraph', 'gateway', 'worker'] as const) {
      const group = plans.filter((p) => p.role === role);
      if (role === 'subgraph') {
        for (const p of group) if (!stopping) await cluster.ready(cluster.spawn(p));
      } else if (!stopping) {
        await Promise.all(group.map((p) => cluster.ready(cluster.spawn(p))));
      }
    }
    if (!stopping) {
      await writeSupergraph(plans, s.supergraphFile).catch((err: Error) =>
        out.say(`could not write the supergraph: ${err.message}`),
      );
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const width = Math.max(...plans.map((p) => p.name.length));
      const lines = [
        `ready in ${seconds}s`,
        ...plans.map((p) => `  ${p.name.padEnd(width)}  ${p.url ?? 'batch worker (no HTTP)'}`),
        `  supergraph: ${s.supergraphFile}`,
        `  tokens:     DATA_DIR=${s.dataDir} npm run --silent token -- --sub NAME --roles ROLE1,ROLE2`,
        '  Ctrl-C stops every process (a second Ctrl-C kills them).',
      ];
      for (const line of lines) out.say(line, 'out');
    }
  } catch (err) {
    shutdown(`start failed: ${(err as Error).message}`, true);
  }
  const code = await finished;
  await out.close();
  return code;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
