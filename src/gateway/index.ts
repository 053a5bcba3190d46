import path from 'node:path';
import { getStitchedSchemaFromSupergraphSdl } from '@graphql-tools/federation';
import type { Executor } from '@graphql-tools/utils';
import type { GraphQLSchema } from 'graphql';
import type { Kysely } from 'kysely';
import type { Config, SubgraphName } from '../config/index.js';
import { SUBGRAPH_NAMES } from '../config/index.js';
import { openBus, type EventBus } from '../events/index.js';
import { createDevVerifier, loadOrCreateDevKey, type TokenVerifier } from '../identity/index.js';
import { createJwksVerifier } from '../identity/jwks.js';
import { cachedVerifier, VERIFIED_TOKEN_CACHE_DEFAULTS } from '../identity/verified-tokens.js';
import { log } from '../logger.js';
import { configurePolicyFrom } from '../policy/index.js';
import { seedTemplates } from '../datasources/communications/seeding.js';
import { seedCustomers } from '../datasources/customers/seeding.js';
import { openStore, type Store } from '../store/db.js';
import { migrate } from '../store/migrations/index.js';
import { sliceOf, type CommunicationsDB, type CustomersDB, type Database } from '../store/tables.js';
import { seedDemoCases } from '../subgraphs/demo.js';
import { startJobs, type Jobs } from '../jobs/index.js';
import { exclusively } from '../store/exclusive.js';
import { retainEvents } from '../events/retention.js';
import { createInProcessSubgraphs, type SubgraphSet } from '../subgraphs/inprocess.js';
import { connectOpenText } from '../subgraphs/types.js';
import type { UpstreamStates } from '../upstreams/opentext/health.js';
import { composeSupergraphCached, subgraphSdl } from './compose.js';
import { documentContentRoute, proxyDocumentRoute } from './documents.js';
import { explorerFor } from './explorer/index.js';
import { noticeReportRoute } from './reports.js';
import { inProcessExecutor, remoteExecutor } from './executors.js';
import { serveGraphQL } from './serve.js';
import { checkPortFree } from './port.js';
import { guardFor } from './rate-limit.js';
import { StartPhases, type StartTimings } from './start-phases.js';

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly supergraphSdl: string;
  readonly apiSdl: string;
  /** Present in in-process mode. */
  readonly subgraphs: SubgraphSet | null;
  readonly store: Store | null;
  /** How long the start took, and where the time went. */
  readonly timings: StartTimings;
  stop(): Promise<void>;
}

/** The stitched, executable supergraph over the given executors. */
export function stitch(supergraphSdl: string, executors: Record<string, Executor>): GraphQLSchema {
  return getStitchedSchemaFromSupergraphSdl({
    supergraphSdl,
    onSubschemaConfig(cfg) {
      const executor = executors[cfg.name.toLowerCase()];
      if (!executor) throw new Error(`no executor for subgraph ${cfg.name}`);
      cfg.executor = executor;
    },
    // Each root field goes to its subgraph as its own request. Merged into one
    // (batch: true), a refused field nulls the whole merged answer and its
    // sibling non-null root fields then fail without their own error: the
    // client saw INTERNAL_SERVER_ERROR instead of the refusal (found by the
    // hostile-input fuzz). Entity lookups are still batched per field by the
    // stitching planner; the store query count is unchanged (query-count test).
    batch: false,
  });
}

/** dev: tokens from `npm run token` (the dev key in DATA_DIR); jwks: the identity provider's tokens, and never the dev key. */
export async function verifierFor(config: Config): Promise<TokenVerifier> {
  const inner =
    config.auth.mode === 'jwks'
      ? createJwksVerifier(config.auth)
      : createDevVerifier(await loadOrCreateDevKey(config.dataDir), {
          ...config.auth,
          clockToleranceSec: config.auth.clockSkewSec,
        });
  // Every request carries its token; a token accepted a moment ago is not checked again (verified-tokens.ts).
  return cachedVerifier(inner, {
    ...VERIFIED_TOKEN_CACHE_DEFAULTS,
    clockToleranceSec: config.auth.clockSkewSec,
  });
}

/** Where the composed supergraph is remembered between starts (src/gateway/compose.ts). */
function supergraphCacheFile(config: Config): string {
  return path.join(config.dataDir, 'cache', `supergraph-${config.gatewayMode}.json`);
}

/** Key of the session advisory lock that serialises demo seeding across replicas ("DEMO" in ASCII). */
const DEMO_SEED_LOCK = 0x44454d4f;

export async function startGateway(config: Config, overrides: { bus?: EventBus } = {}): Promise<Gateway> {
  const phases = new StartPhases();
  configurePolicyFrom(config);
  // Before anything slow (store, migrations, seeding, composition): a taken port is said at once.
  await checkPortFree(config.port, config.host);
  const verifier = await verifierFor(config);
  phases.mark('config');
  if (config.gatewayMode === 'remote') return startRemoteGateway(config, verifier, phases);

  // The store shared by the in-process subgraphs, migrated (seeded further down).
  const store = await openStore(config);
  phases.mark('storeOpen');
  let bus: EventBus;
  try {
    await migrate(store.db as Kysely<unknown>);
    bus = overrides.bus ?? (await openBus(config.redisUrl, store.db as Kysely<unknown>));
  } catch (err) {
    await store.close();
    throw err;
  }
  phases.mark('migrations');
  let subgraphs: SubgraphSet | null = null;
  let jobs: Jobs | null = null;
  // Connected mode: one set of OpenText clients for the process (nothing when embedded).
  const opentext = connectOpenText(config.opentext);
  try {
    subgraphs = await createInProcessSubgraphs({
      db: store.db as Kysely<Database>,
      bus,
      dataDir: config.dataDir,
      publicUrl: '',
      deliveryStepMs: config.deliveryStepMs,
      renderWorkers: config.renderWorkers,
      workflow: {
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
    phases.mark('subgraphs');
    const { supergraphSdl, apiSdl } = composeSupergraphCached(
      subgraphs.all.map((s) => ({ name: s.name, url: `inprocess://${s.name}`, sdl: subgraphSdl(s.schema) })),
      supergraphCacheFile(config),
    );
    phases.mark('composition');
    const executors = Object.fromEntries(subgraphs.all.map((s) => [s.name, inProcessExecutor(s)]));
    const schema = stitch(supergraphSdl, executors);
    phases.mark('stitching');

    // The demo's templates go in before the subgraphs start: in connected mode the catalogue's
    // first refresh starts with them, and a communication the graph already has keeps its
    // document type (docs/opentext.md, "What maps to what"). Mirrored first, the demo's claim
    // letter would take the type of its name (claim_decision_letter), which no default
    // correspondence rule allows, and the demo cases could not start.
    const seededTemplates = config.seedDemo
      ? await exclusively(store, DEMO_SEED_LOCK, () => seedTemplates(sliceOf<CommunicationsDB>(store.db)))
      : 0;
    subgraphs.all.forEach((s) => s.start());
    phases.mark('subgraphsStart');
    if (config.seedDemo) {
      const set = subgraphs;
      // Every start finishes what an interrupted first start left (src/subgraphs/demo.ts); replicas
      // starting together on one PostgreSQL take turns, so the second finds the first's cases.
      await exclusively(store, DEMO_SEED_LOCK, async () => {
        // Connected mode: the demo cases use the catalogue's templates; read it once first, so
        // that the seeding does not race the catalogue's first refresh (nothing to do embedded).
        await set.communications.catalogue
          .refresh()
          .catch((err: unknown) => log.warn('template catalogue not read before seeding', { err }));
        const customers = await seedCustomers(sliceOf<CustomersDB>(store.db));
        const templates = seededTemplates;
        const steps = await seedDemoCases(set);
        if (customers || templates || steps) log.info('seeded demo data', { customers, templates, steps });
      });
    }
    phases.mark('seeding');
    const stopRetention = SUBGRAPH_NAMES.map((name) =>
      retainEvents(store.db as Kysely<unknown>, name, config.eventsRetentionDays, 3_600_000, (err) =>
        log.error('event purge failed', { err }),
      ),
    );
    jobs = await startJobs(store, config.jobExpireSeconds);
    subgraphs.communications.useJobs(jobs);
    if (config.runWorkers) {
      const batches = subgraphs.communications.batches;
      await jobs.work(config.workerConcurrency, (set) => batches.processRecords(set));
    }
    phases.mark('jobs');
    const set = subgraphs;
    const queue = jobs;
    const guard = guardFor(config);
    const running = await serveGraphQL(
      {
        name: 'gateway',
        guard,
        schema,
        verifier,
        database: () => store.ping(),
        ...(opentext ? { upstreams: () => opentext.upstreams.health.snapshot() } : {}),
        routes: [documentContentRoute(() => set.communications.reader), noticeReportRoute(() => schema)],
        explorer: explorerFor(config),
        introspection: config.security.introspection,
        security: config.security,
        jit: config.gatewayJit,
        // The subgraphs run here: equivalent subscriptions share one execution (shared-subscriptions.ts).
        shareSubscriptions: true,
        graceMs: config.shutdownGraceMs,
        sockets: config.sockets,
        metrics: config.metrics,
        onStop: async () => {
          // Workers finish the records in hand before the subgraphs and the store go.
          stopRetention.forEach((stop) => stop());
          await queue.stop();
          try {
            await Promise.all(set.all.map((s) => s.stop()));
            await bus.close();
            await store.close();
          } finally {
            await guard.rateLimits?.close();
          }
        },
      },
      config.port,
      config.host,
    );
    phases.mark('serve');
    return {
      url: running.url,
      port: running.port,
      supergraphSdl,
      apiSdl,
      subgraphs: set,
      store,
      timings: phases.done(),
      stop: () => running.stop(),
    };
  } catch (err) {
    await jobs?.stop();
    if (subgraphs) await Promise.all(subgraphs.all.map((s) => s.stop()));
    await bus.close();
    await store.close();
    throw err;
  }
}

/** Remote mode: the subgraphs are services at SUBGRAPH_URLS. */
async function startRemoteGateway(
  config: Config,
  verifier: TokenVerifier,
  phases: StartPhases,
): Promise<Gateway> {
  const urls = config.subgraphUrls as Record<SubgraphName, string>;
  const sdls = await Promise.all(
    SUBGRAPH_NAMES.map(async (name) => ({ name, url: urls[name], sdl: await fetchSdl(name, urls[name]) })),
  );
  phases.mark('subgraphs');
  const { supergraphSdl, apiSdl } = composeSupergraphCached(sdls, supergraphCacheFile(config));
  phases.mark('composition');
  const remotes = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, remoteExecutor(name, urls[name])]));
  const schema = stitch(
    supergraphSdl,
    Object.fromEntries(Object.entries(remotes).map(([n, r]) => [n, r.executor])),
  );
  const guard = guardFor(config);
  // What the subgraph services last said of their OpenText upstreams (their /readyz bodies).
  const upstreams: UpstreamStates = {};
  const server = await serveGraphQL(
    {
      name: 'gateway',
      guard,
      schema,
      verifier,
      ready: async () => {
        const answers = await Promise.all(
          SUBGRAPH_NAMES.map((n) =>
            fetch(new URL('/readyz', urls[n])).then(
              async (r) => {
                // The services' OpenText upstreams, reported by the gateway too (one place to look).
                const body = (await r.json().catch(() => null)) as { upstreams?: UpstreamStates } | null;
                if (body?.upstreams) Object.assign(upstreams, body.upstreams);
                return r.ok;
              },
              () => false,
            ),
          ),
        );
        return answers.every(Boolean);
      },
      upstreams: () => ({ ...upstreams }),
      routes: [proxyDocumentRoute(urls.communications), noticeReportRoute(() => schema)],
      explorer: explorerFor(config),
      introspection: config.security.introspection,
      security: config.security,
      jit: config.gatewayJit,
      graceMs: config.shutdownGraceMs,
      sockets: config.sockets,
      onStop: async () => {
        try {
          await Promise.all(Object.values(remotes).map((r) => r.dispose()));
        } finally {
          await guard.rateLimits?.close();
        }
      },
    },
    config.port,
    config.host,
  );
  phases.mark('serve');
  return {
    url: server.url,
    port: server.port,
    supergraphSdl,
    apiSdl,
    subgraphs: null,
    store: null,
    timings: phases.done(),
    stop: () => server.stop(),
  };
}

/** A subgraph's SDL, waiting for it to come up (services start in any order). */
export async function fetchSdl(name: string, url: string, attempts = 60): Promise<string> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ _service { sdl } }' }),
      });
      const body = (await res.json()) as { data?: { _service?: { sdl?: string } } };
      const sdl = body.data?._service?.sdl;
      if (sdl) return sdl;
      last = new Error(`no SDL in answer: ${JSON.stringify(body).slice(0, 200)}`);
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`subgraph ${name} at ${url} did not answer: ${String(last)}`);
}
