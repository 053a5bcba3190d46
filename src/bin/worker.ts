import 'reflect-metadata';
import { configurePolicyFrom } from '../policy/index.js';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { ConfigError, loadConfig } from '../config/index.js';
import { InProcessBus, RedisBus } from '../events/index.js';
import { drainOnSignals } from '../gateway/lifecycle.js';
import { serviceTokenSource } from '../identity/service-token.js';
import { startJobs } from '../jobs/index.js';
import { configureLogger, log } from '../logger.js';
import { openStore } from '../store/db.js';
import { migrate } from '../store/migrations/index.js';
import { sliceOf, type CommunicationsDB } from '../store/tables.js';
import { createCommunicationsSubgraph } from '../subgraphs/communications.js';
import { graphqlCaller, remoteCommunicationsPorts } from '../subgraphs/remote-ports.js';

/**
 * `npm run worker`: batch generation workers as their own process, next to
 * the services. It takes notice records from the pg-boss queue in the shared
 * PostgreSQL (DATABASE_URL; the embedded store belongs to one process) and
 * reaches customers and workflow through their services (SUBGRAPH_URLS).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  configurePolicyFrom(config);
  configureLogger({ level: config.logLevel, name: 'worker' });
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
  const bus = config.redisUrl ? new RedisBus(config.redisUrl) : new InProcessBus();
  const communications = await createCommunicationsSubgraph({
    db: sliceOf<CommunicationsDB>(store.db),
    bus,
    ports: remoteCommunicationsPorts(graphqlCaller(config.subgraphUrls, token)),
    dataDir: path.join(config.dataDir, 'communications'),
    publicUrl: '',
    deliveryStepMs: config.deliveryStepMs,
  });
  const jobs = await startJobs(store.pool, config.jobExpireSeconds);
  communications.useJobs(jobs);
  communications.start();
  await jobs.work(config.workerConcurrency, (job) => communications.batches.processRecord(job));
  log.info('worker running', { concurrency: config.workerConcurrency });
  drainOnSignals(async () => {
    await jobs.stop();
    await communications.stop();
    await bus.close();
    await store.close();
  });
}

main().catch((err) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else log.error('failed to start', { err });
  process.exit(1);
});
