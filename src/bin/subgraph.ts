// First: tracing patches the modules loaded after it (src/telemetry/preload.ts).
import '../telemetry/preload.js';
import 'reflect-metadata';
import { configurePolicyFrom } from '../policy/index.js';
import { drainOnSignals } from '../gateway/lifecycle.js';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { ConfigError, loadConfig, SUBGRAPH_NAMES, type SubgraphName } from '../config/index.js';
import { seedTemplates } from '../datasources/communications/seeding.js';
import { seedCustomers } from '../datasources/customers/seeding.js';
import { openBus } from '../events/index.js';
import { documentContentRoute } from '../gateway/documents.js';
import { verifierFor } from '../gateway/index.js';
import { serveGraphQL } from '../gateway/serve.js';
import { serviceTokenSource, type ServiceTokenSource } from '../identity/service-token.js';
import { configureLogger, log } from '../logger.js';
import { openStore } from '../store/db.js';
import { startJobs } from '../jobs/index.js';
import { retainEvents } from '../events/retention.js';
import { migrate } from '../store/migrations/index.js';
import { sliceOf, type CommunicationsDB, type CustomersDB, type WorkflowDB } from '../store/tables.js';
import { createCommunicationsSubgraph } from '../subgraphs/communications.js';
import { createCustomersSubgraph } from '../subgraphs/customers.js';
import { graphqlCaller, remoteCommunicationsPorts, remoteWorkflowPorts } from '../subgraphs/remote-ports.js';
import type { Subgraph } from '../subgraphs/types.js';
import { createWorkflowSubgraph } from '../subgraphs/workflow.js';
import { connectOpenText } from '../subgraphs/types.js';
import type { Route } from '../gateway/serve.js';
import { checkPortFree, PortInUseError } from '../gateway/port.js';
import { DataDirLockedError } from '../store/db.js';
import { surviveDroppedConnections } from '../store/connection-errors.js';

/**
 * `npm run subgraph -- <workflow|customers|communications>`: one subgraph as
 * its own HTTP + graphql-ws service, a plain Federation 2 subgraph any
 * gateway can compose. With the embedded store each service keeps its data
 * under DATA_DIR/<name>; the dev signing key at DATA_DIR is shared, so
 * tokens from `npm run token` work on every service.
 */
async function main(): Promise<void> {
  const name = process.argv[2] as SubgraphName | undefined;
  if (!name || !SUBGRAPH_NAMES.includes(name)) {
    process.stderr.write(`usage: npm run subgraph -- <${SUBGRAPH_NAMES.join('|')}>\n`);
    process.exit(2);
  }
  const config = loadConfig();
  surviveDroppedConnections();
  configurePolicyFrom(config);
  configureLogger({ level: config.logLevel, name });
  // Before anything slow: a taken port is said at once, in one line.
  await checkPortFree(config.port, config.host);
  // Workflow and communications call the other services; customers calls none, so needs no client
  // credentials. Asked before the store opens so missing credentials stop the start here.
  const tokens: ServiceTokenSource | null =
    name === 'customers' ? null : await serviceTokenSource(config, `subgraph:${name}`, `the ${name} service`);
  const store = await openStore({ ...config, dataDir: path.join(config.dataDir, name) });
  await migrate(store.db as Kysely<unknown>);

  const serviceToken = async () => {
    if (!tokens) throw new Error(`the ${name} service does not call other services`);
    return tokens.token();
  };
  const call = graphqlCaller(config.subgraphUrls, serviceToken);
  const bus = await openBus(config.redisUrl, store.db as Kysely<unknown>);
  // Connected mode: one set of OpenText clients for this service (none for customers, none when embedded).
  const opentext = name === 'customers' ? undefined : connectOpenText(config.opentext);

  let subgraph: Subgraph;
  let stopJobs: () => Promise<void> = async () => undefined;
  const routes: Route[] = [];
  switch (name) {
    case 'workflow':
      subgraph = await createWorkflowSubgraph({
        db: sliceOf<WorkflowDB>(store.db),
        bus,
        ports: remoteWorkflowPorts(call),
        options: {
          correspondenceStages: config.correspondenceStages,
          exceptionRouting: config.exceptionRouting,
          milestoneCommunications: config.milestoneCommunications,
          followUpWaitMs: config.followUpWaitMs,
        },
        disputePolicy: config.disputePolicy,
        deadlineCheckMs: config.deadlineCheckMs,
        opentext,
        election: store,
      });
      break;
    case 'customers':
      if (config.seedDemo) await seedCustomers(sliceOf<CustomersDB>(store.db));
      subgraph = await createCustomersSubgraph({ db: sliceOf<CustomersDB>(store.db), bus });
      break;
    case 'communications': {
      if (config.seedDemo) await seedTemplates(sliceOf<CommunicationsDB>(store.db));
      const comms = await createCommunicationsSubgraph({
        db: sliceOf<CommunicationsDB>(store.db),
        bus,
        ports: remoteCommunicationsPorts(call),
        dataDir: path.join(config.dataDir, name),
        publicUrl: '',
        deliveryStepMs: config.deliveryStepMs,
        renderWorkers: config.renderWorkers,
        followUpWaitMs: config.followUpWaitMs,
        opentext,
        election: store,
      });
      routes.push(documentContentRoute(() => comms.reader));
      const jobs = await startJobs(store, config.jobExpireSeconds);
      comms.useJobs(jobs);
      if (config.runWorkers)
        await jobs.work(config.workerConcurrency, (set) => comms.batches.processRecords(set));
      stopJobs = () => jobs.stop();
      subgraph = comms;
      break;
    }
  }

  subgraph.start();
  // Each service keeps its own events table to the retention window.
  const stopRetention = retainEvents(
    store.db as Kysely<unknown>,
    name,
    config.eventsRetentionDays,
    3_600_000,
    (err) => log.error('event purge failed', { err }),
  );
  const server = await serveGraphQL(
    {
      name: `subgraph ${name}`,
      schema: subgraph.schema,
      verifier: await verifierFor(config),
      context: (base) => subgraph.contextFor(base),
      database: () => store.ping(),
      ...(opentext ? { upstreams: () => opentext.upstreams.health.snapshot() } : {}),
      routes,
      introspection: true,
      // Whoever calls this service (a gateway that shares nothing, several replicas, a client
      // directly), identical queries of one caller in flight at once run once.
      shareQueries: true,
      graceMs: config.shutdownGraceMs,
      sockets: config.sockets,
      metrics: config.metrics,
      onStop: async () => {
        stopRetention();
        await stopJobs();
        await subgraph.stop();
        await bus.close();
        await store.close();
      },
    },
    config.port,
    config.host,
  );
  drainOnSignals(() => server.stop());
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof PortInUseError || err instanceof DataDirLockedError)
    process.stderr.write(`${err.message}\n`);
  else log.error('failed to start', { err });
  process.exit(1);
});
