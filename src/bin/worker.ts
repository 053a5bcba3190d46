// First: tracing patches the modules loaded after it (src/telemetry/preload.ts).
import '../telemetry/preload.js';
import 'reflect-metadata';
import { configurePolicyFrom } from '../policy/index.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { ConfigError, loadConfig } from '../config/index.js';
import { openBus } from '../events/index.js';
import { sendJson } from '../gateway/http.js';
import { drainOnSignals } from '../gateway/lifecycle.js';
import { serviceTokenSource } from '../identity/service-token.js';
import { startJobs } from '../jobs/index.js';
import { configureLogger, log } from '../logger.js';
import { configureMetrics, describeProcess, serveMetrics, serveMetricsRoute } from '../telemetry/metrics.js';
import { openStore } from '../store/db.js';
import { migrate } from '../store/migrations/index.js';
import { sliceOf, type CommunicationsDB } from '../store/tables.js';
import { createCommunicationsSubgraph } from '../subgraphs/communications.js';
import { graphqlCaller, remoteCommunicationsPorts } from '../subgraphs/remote-ports.js';
import { surviveDroppedConnections } from '../store/connection-errors.js';

/**
 * `npm run worker`: batch generation workers as their own process, next to
 * the services. It takes notice records from the pg-boss queue in the shared
 * PostgreSQL (DATABASE_URL; the embedded store belongs to one process) and
 * reaches customers and workflow through their services (SUBGRAPH_URLS).
 */
async function main(): Promise<void> {
  surviveDroppedConnections();
  const config = loadConfig();
  configurePolicyFrom(config);
  configureLogger({ level: config.logLevel, name: 'worker' });
  configureMetrics({ maxOperationNames: config.metrics.maxOperationNames });
  describeProcess('worker');
  if (!config.databaseUrl) {
    throw new ConfigError([
      'DATABASE_URL: a separate worker needs the shared PostgreSQL; with the embedded store, workers run inside `npm start`',
    ]);
  }
  // Before the store opens: missing client credentials in jwks mode stop the start here.
  const tokens = await serviceTokenSource(config, 'worker', 'the worker');
  const store = await openStore(config);
  await migrate(store.db as Kysely<unknown>);
  const token = () => tokens.token();
  const bus = await openBus(config.redisUrl, store.db as Kysely<unknown>);
  const communications = await createCommunicationsSubgraph({
    db: sliceOf<CommunicationsDB>(store.db),
    bus,
    ports: remoteCommunicationsPorts(graphqlCaller(config.subgraphUrls, token)),
    dataDir: path.join(config.dataDir, 'communications'),
    publicUrl: '',
    deliveryStepMs: config.deliveryStepMs,
    renderWorkers: config.renderWorkers,
  });
  const jobs = await startJobs(store, config.jobExpireSeconds);
  communications.useJobs(jobs);
  communications.start();
  await jobs.work(config.workerConcurrency, (set) => communications.batches.processRecords(set));
  let draining = false;
  const health =
    config.workerHealthPort === undefined
      ? null
      : await serveHealth(
          config.workerHealthPort,
          config.host,
          async () => {
            if (draining) return false;
            await store.ping();
            return true;
          },
          config.metrics.port === undefined,
        );
  // Metrics: on METRICS_PORT when set, else next to the probes on WORKER_HEALTH_PORT (both unauthenticated).
  const metricsServer =
    config.metrics.port === undefined ? null : await serveMetrics(config.metrics.port, config.metrics.host);
  log.info('worker running', {
    concurrency: config.workerConcurrency,
    health: health?.url,
    metrics: metricsServer?.url ?? health?.url.replace(/\/readyz$/, '/metrics'),
  });
  drainOnSignals(async () => {
    // Not ready from the first moment of the drain, so an orchestrator stops counting on it.
    draining = true;
    await jobs.stop();
    await health?.close();
    await metricsServer?.close();
    await communications.stop();
    await bus.close();
    await store.close();
  });
}

/**
 * GET /healthz (the process lives), /readyz (its store answers within a
 * second, and it is not draining) for container probes, and /metrics unless METRICS_PORT has it.
 */
async function serveHealth(
  port: number,
  host: string,
  ready: () => Promise<boolean>,
  metrics: boolean,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const route = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (route === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (metrics && route === '/metrics') {
      void serveMetricsRoute(req, res).catch(() => res.destroy());
      return;
    }
    if (route !== '/readyz') return sendJson(res, 404, { status: 'not found' });
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1_000).unref());
    void Promise.race([ready().catch(() => false), timeout]).then((ok) =>
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${actual}/readyz`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

main().catch((err) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else log.error('failed to start', { err });
  process.exit(1);
});
