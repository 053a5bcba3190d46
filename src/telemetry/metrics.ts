/**
 * Metrics for Prometheus (prom-client), served as GET /metrics in the text format by every process
 * type: on the main port for the `operations` and `admin` roles (src/policy: HTTP_ROUTE_ROLES), or
 * unauthenticated on METRICS_PORT when that is set (and then not on the main port).
 *
 * Label values are bounded: operation names beyond the first METRICS_MAX_OPERATIONS seen are
 * folded into `__other__`, error codes outside the contract into `OTHER`; subgraphs, streams and
 * topics are fixed sets. So a client sending random operation names cannot grow the series.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import client from 'prom-client';
import { isContractCode } from '../errors/index.js';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const PREFIX = 'commsgraph_';
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const buildInfo = new client.Gauge({
  name: `${PREFIX}build_info`,
  help: 'Always 1: the version of CommsGraph and of Node.js this process runs, and the process type.',
  labelNames: ['version', 'node_version', 'process'],
  registers: [registry],
});

/** Called once per process, with its type (gateway, worker, subgraph workflow, ...). */
export function describeProcess(processName: string): void {
  buildInfo.reset();
  buildInfo.set({ version: VERSION, node_version: process.versions.node, process: processName }, 1);
}
// The package's own version, read once: the nearest package.json named commsgraph above this file
// (src/telemetry in tests, dist/src/telemetry when built).
const VERSION = (() => {
  for (const up of ['../..', '../../..']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, up, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'commsgraph' && pkg.version) return pkg.version;
    } catch {
      /* not there: the next one up */
    }
  }
  return 'unknown';
})();

const requestDuration = new client.Histogram({
  name: `${PREFIX}graphql_request_duration_seconds`,
  help: 'GraphQL operations over HTTP, from receipt to response, by operation name and type.',
  labelNames: ['operation_name', 'operation_type'],
  buckets: SECONDS,
  registers: [registry],
});
const errors = new client.Counter({
  name: `${PREFIX}graphql_errors_total`,
  help: 'GraphQL errors sent to clients, by extensions.code.',
  labelNames: ['code'],
  registers: [registry],
});
const subgraphDuration = new client.Histogram({
  name: `${PREFIX}subgraph_request_duration_seconds`,
  help: 'Calls from the gateway to a subgraph (in-process or remote), by subgraph and outcome.',
  labelNames: ['subgraph', 'outcome'],
  buckets: SECONDS,
  registers: [registry],
});
const subgraphShared = new client.Counter({
  name: `${PREFIX}subgraph_requests_shared_total`,
  help: 'Remote subgraph queries answered by an identical query of the same caller already in flight (no HTTP call of their own).',
  labelNames: ['subgraph'],
  registers: [registry],
});
const queriesShared = new client.Counter({
  name: `${PREFIX}queries_shared_total`,
  help: 'Queries a subgraph service answered with the answer of an identical query of the same caller already in flight (no execution of their own).',
  registers: [registry],
});
const executions = new client.Counter({
  name: `${PREFIX}gateway_executions_total`,
  help: 'Queries and mutations the gateway ran with GATEWAY_JIT on, by engine: jit (graphql-jit, compiled once per document) or graphql-js (a document or variables graphql-jit refused).',
  labelNames: ['engine'],
  registers: [registry],
});
// Bound once: counted on every request.
const executedBy = { jit: executions.labels('jit'), 'graphql-js': executions.labels('graphql-js') };
const subscribersShed = new client.Counter({
  name: `${PREFIX}subscribers_shed_total`,
  help: "Subscribers cut off for reading slower than their events arrive: `stream` (its own stream ended with SUBSCRIBER_TOO_SLOW), `socket` (a shared stream's socket closed with 1013).",
  labelNames: ['how'],
  registers: [registry],
});
const subscriptions = new client.Gauge({
  name: `${PREFIX}subscriptions_active`,
  help: 'Subscription streams open in this process, by stream (event topic); equivalent graphql-ws subscriptions share one.',
  labelNames: ['stream'],
  registers: [registry],
});
const delivered = new client.Counter({
  name: `${PREFIX}events_delivered_total`,
  help: 'Events delivered to subscription streams, by stream (event topic); one per stream, which may serve many equivalent subscriptions.',
  labelNames: ['stream'],
  registers: [registry],
});
const relayLag = new client.Histogram({
  name: `${PREFIX}outbox_relay_lag_seconds`,
  help: "From an event's commit to the outbox relay passing it to this process's subscriptions.",
  labelNames: ['source'],
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
  registers: [registry],
});
const batchRecords = new client.Counter({
  name: `${PREFIX}batch_records_total`,
  help: 'Notice batch records processed by batch workers here, by outcome (generated, unattempted, error).',
  labelNames: ['outcome'],
  registers: [registry],
});

const storeUpkeep = new client.Histogram({
  name: `${PREFIX}store_upkeep_seconds`,
  help: "The embedded store's VACUUM and ANALYZE of one table (src/store/upkeep.ts), by operation; each holds the event loop while it runs.",
  labelNames: ['operation'],
  buckets: SECONDS,
  registers: [registry],
});
const storeXidAge = new client.Gauge({
  name: `${PREFIX}store_xid_age`,
  help: "Transactions since the embedded store's oldest database was last frozen (age of datfrozenxid); PostgreSQL needs a VACUUM before about two billion.",
  registers: [registry],
});

/** One table's upkeep on the embedded store. */
export function observeStoreUpkeep(
  operation: 'vacuum' | 'analyze' | 'vacuum_analyze',
  seconds: number,
): void {
  storeUpkeep.observe({ operation }, seconds);
}

/** The embedded store's oldest database age, read at each upkeep pass. */
export function observeStoreXidAge(age: number): void {
  storeXidAge.set(age);
}

const backlogSources = new Map<string, () => Promise<number>>();
new client.Gauge({
  name: `${PREFIX}command_backlog`,
  help: 'Durable commands (work for another subgraph) not yet carried out, by source subgraph.',
  labelNames: ['source'],
  registers: [registry],
  async collect() {
    this.reset();
    for (const [source, pending] of backlogSources) {
      // A store that does not answer leaves the gauge out for this scrape rather than failing it.
      const n = await pending().catch(() => null);
      if (n !== null) this.set({ source }, n);
    }
  },
});

const pools = new Set<pg.Pool>();
new client.Gauge({
  name: `${PREFIX}db_pool_connections`,
  help: "Database pool connections of this process's store(s): total, idle, and callers waiting for one.",
  labelNames: ['state'],
  registers: [registry],
  collect() {
    let total = 0;
    let idle = 0;
    let waiting = 0;
    for (const p of pools) {
      total += p.totalCount;
      idle += p.idleCount;
      waiting += p.waitingCount;
    }
    this.set({ state: 'total' }, total);
    this.set({ state: 'idle' }, idle);
    this.set({ state: 'waiting' }, waiting);
  },
});

/** A store's pool, observed until the returned function is called (at close). */
export function observePool(pool: pg.Pool): () => void {
  pools.add(pool);
  return () => pools.delete(pool);
}

/** A subgraph's command backlog, read at each scrape. */
export function observeCommandBacklog(source: string, pending: () => Promise<number>): () => void {
  backlogSources.set(source, pending);
  return () => {
    if (backlogSources.get(source) === pending) backlogSources.delete(source);
  };
}

let maxOperationNames = 100;
const operationNames = new Set<string>();

/** Set once at start from METRICS_MAX_OPERATIONS. */
export function configureMetrics(opts: { maxOperationNames: number }): void {
  maxOperationNames = opts.maxOperationNames;
}

/** The label for an operation name: the name while fewer than the maximum are known, else `__other__`. */
export function operationLabel(name: string | null | undefined): string {
  if (!name) return '__anonymous__';
  if (operationNames.has(name)) return name;
  if (operationNames.size >= maxOperationNames) return '__other__';
  operationNames.add(name);
  return name;
}

export const metrics = {
  request(name: string | null | undefined, type: string | undefined, seconds: number): void {
    requestDuration.observe(
      { operation_name: operationLabel(name), operation_type: type ?? 'unknown' },
      seconds,
    );
  },
  error(code: unknown): void {
    errors.inc({ code: typeof code === 'string' && isContractCode(code) ? code : 'OTHER' });
  },
  subgraphCall(subgraph: string, ok: boolean, seconds: number): void {
    subgraphDuration.observe({ subgraph, outcome: ok ? 'ok' : 'error' }, seconds);
  },
  subgraphCallShared(subgraph: string): void {
    subgraphShared.inc({ subgraph });
  },
  queryShared(): void {
    queriesShared.inc();
  },
  executed(engine: 'jit' | 'graphql-js'): void {
    executedBy[engine].inc();
  },
  subscriberShed(how: 'stream' | 'socket'): void {
    subscribersShed.inc({ how });
  },
  subscriptionOpened(stream: string): void {
    subscriptions.inc({ stream });
  },
  subscriptionClosed(stream: string): void {
    subscriptions.dec({ stream });
  },
  delivered(stream: string): void {
    delivered.inc({ stream });
  },
  relayed(source: string, occurredAt: string): void {
    const lag = (Date.now() - Date.parse(occurredAt)) / 1000;
    if (Number.isFinite(lag)) relayLag.observe({ source }, Math.max(0, lag));
  },
  batchRecord(outcome: 'generated' | 'unattempted' | 'error'): void {
    batchRecords.inc({ outcome });
  },
};

/** The text exposition of every metric of this process. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** GET /metrics answered (true) or not this request's route (false); no authentication here. */
export async function serveMetricsRoute(
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<boolean> {
  if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://localhost').pathname !== '/metrics')
    return false;
  const { contentType, body } = await metricsText();
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
  return true;
}

/**
 * METRICS_PORT: GET /metrics alone, unauthenticated, on its own port (for a network only the
 * scraper reaches). Anything else is 404.
 */
export async function serveMetrics(
  port: number,
  host: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void serveMetricsRoute(req, res).then(
      (served) => {
        if (!served) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('Not found\n');
        }
      },
      () => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${actual}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
