import DataLoader from 'dataloader';
import type { GraphQLSchema } from 'graphql';
import type { TemplateCatalogueHistory } from '../context/index.js';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { BaseContext, CommunicationsContext } from '../context/index.js';
import { DeliveryWorker } from '../datasources/communications/delivery.js';
import {
  createOutboxChannels,
  createRenderPool,
  defaultRenderWorkers,
  type DeliveryChannels,
  type Renderer,
} from '../datasources/communications/engine/index.js';
import type { CommunicationsPorts } from '../datasources/communications/ports.js';
import { CommunicationsReader, communicationsLoaders } from '../datasources/communications/reader.js';
import { CommunicationsService } from '../datasources/communications/service.js';
import { ExstreamRenderer } from '../datasources/communications/exstream-renderer.js';
import { NoticeBatches } from '../datasources/communications/batches.js';
import { communicationsSnapshots } from '../datasources/communications/snapshot.js';
import type { JobQueue } from '../jobs/index.js';
import { TemplateLifecycle } from '../datasources/communications/templates.js';
import {
  createTemplateCatalogue,
  type TemplateCatalogue,
} from '../datasources/communications/catalogue/index.js';
import { CommandRelay } from '../events/commands.js';
import { Outbox, type EventBus } from '../events/index.js';
import { EventLog } from '../events/log.js';
import {
  CaseCommunicationsResolver,
  CustomerCommunicationsResolver,
  DeliveryStatusEventResolver,
  DocumentResolver,
  GenerationExceptionResolver,
} from '../resolvers/communications/document.resolver.js';
import { TemplateResolver, TemplateVersionResolver } from '../resolvers/communications/template.resolver.js';
import { CaseNoticeResolver, NoticeBatchResolver } from '../resolvers/communications/batch.resolver.js';
import { communicationsReferences } from '../resolvers/communications/communications.reference.js';
import { TemplateTrailResolver } from '../resolvers/communications/trail.resolver.js';
import { TemplateTrail } from '../datasources/communications/trail.js';
import { HeldJobResolver } from '../resolvers/communications/held-job.resolver.js';
import { startRuntimeMonitor, type MonitorHandle } from '../datasources/communications/runtime-monitor.js';
import type { Store } from '../store/db.js';
import type { CommunicationsDB } from '../store/tables.js';
import { CaseCommunications, CustomerCommunications } from '../schema/communications/types.js';
import { buildFederatedSchema } from './build.js';
import { earliest, type OpenTextConnection, type Subgraph } from './types.js';

export interface CommunicationsSubgraph extends Subgraph<CommunicationsContext> {
  readonly service: CommunicationsService;
  readonly reader: CommunicationsReader;
  readonly batches: NoticeBatches;
  /** Where templates come from: the graph's own (embedded) or Exstream Design's, mirrored. */
  readonly catalogue: TemplateCatalogue;
  /** Where batch records are queued (pg-boss); set once the job queue is up. */
  useJobs(queue: JobQueue): void;
  /** Connected mode: the Exstream runtime monitor of this process (polling only while it leads). */
  readonly monitor: MonitorHandle;
  /** Where documents render: its own pool's threads ('workers', 'in-thread') or a renderer given by the caller. */
  readonly renderMode: 'workers' | 'in-thread' | 'given';
}

/** The subgraph's schema alone (no store needed): for printing SDL and composing. */
export function communicationsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [
      DocumentResolver,
      DeliveryStatusEventResolver,
      GenerationExceptionResolver,
      CaseCommunicationsResolver,
      CustomerCommunicationsResolver,
      TemplateResolver,
      TemplateVersionResolver,
      NoticeBatchResolver,
      CaseNoticeResolver,
      TemplateTrailResolver,
      HeldJobResolver,
    ],
    // Entities other subgraphs own, which this one extends.
    orphanedTypes: [CaseCommunications, CustomerCommunications],
    references: communicationsReferences,
  });
}

export async function createCommunicationsSubgraph(deps: {
  db: Kysely<CommunicationsDB>;
  bus: EventBus;
  ports: CommunicationsPorts;
  dataDir: string;
  publicUrl: string;
  deliveryStepMs: number;
  /** A renderer of the caller's; otherwise this subgraph's own pool of `renderWorkers` threads. */
  renderer?: Renderer;
  /** RENDER_WORKERS (src/datasources/communications/engine/pool.ts); 0 renders in-thread. */
  renderWorkers?: number;
  channels?: DeliveryChannels;
  /** How long generateDocument waits for an exception's case (src/datasources/follow-up.ts). */
  followUpWaitMs?: number;
  /**
   * Connected mode: the process's OpenText clients (built once, src/upstreams/opentext), and the
   * settings that choose them. Absent or `generation: 'embedded'`: the embedded engine.
   */
  opentext?: OpenTextConnection;
  /**
   * The store's connection settings, for electing the one process that runs the Exstream runtime
   * monitor (src/store/leader.ts). Without it (tests building a bare subgraph) no monitor runs.
   */
  election?: Pick<Store, 'kind' | 'pool'>;
}): Promise<CommunicationsSubgraph> {
  const schema = await communicationsSchema();
  // Each event carries its entity as it stands then (src/events/snapshot.ts).
  const outbox = new Outbox<CommunicationsDB>(deps.db, 'communications', deps.bus, communicationsSnapshots);
  const reader = new CommunicationsReader(deps.db);
  const trail = new TemplateTrail(deps.db);
  const eventLog = new EventLog(deps.db as Kysely<unknown>, 'communications');
  let service: CommunicationsService | null = null;
  const relay = new CommandRelay(deps.db as Kysely<unknown>, 'communications', {
    openExceptionCase: (p) => service!.runOpenExceptionCase(p),
    recordExceptionOutcome: (p) => service!.runRecordExceptionOutcome(p),
    finishResolution: (p) => service!.runFinishResolution(p),
    retryGeneration: async (p) => {
      const settled = await service!.runRetryGeneration(p);
      if (settled?.batch_id) await batches!.documentSettled(settled.batch_id);
    },
    recordNoticeOutcome: async (p) => {
      const batchId = String(p.batchId);
      const progress = await batches!.progress(batchId);
      await deps.ports.recordNoticeOutcome({
        caseId: String(p.caseId),
        batchId,
        total: progress.total,
        generated: progress.generated,
        failed: progress.failed,
      });
    },
  });
  let batches: NoticeBatches | null = null;
  let jobs: JobQueue | null = null;
  // Connected mode renders through Exstream on demand (contract, "Generation is on-demand");
  // embedded, on this process's own render threads (ended in stop(), after the delivery worker,
  // so the renders in hand finish first).
  const exstream =
    deps.opentext?.config.generationBackend === 'exstream' ? deps.opentext.upstreams.exstream : null;
  const exstreamConfig = deps.opentext?.config.exstream ?? null;
  const ownRenderer =
    deps.renderer || (exstream && exstreamConfig)
      ? null
      : createRenderPool({ size: deps.renderWorkers ?? defaultRenderWorkers() });
  const renderer =
    deps.renderer ??
    (exstream && exstreamConfig
      ? new ExstreamRenderer({
          design: exstream.design,
          ondemand: exstream.ondemand,
          concurrency: exstreamConfig.concurrency,
        })
      : ownRenderer!);
  service = new CommunicationsService(
    deps.db,
    outbox,
    relay,
    renderer,
    deps.ports,
    deps.followUpWaitMs,
    exstreamConfig
      ? {
          attempts: exstreamConfig.retryAttempts,
          backoffMs: exstreamConfig.retryBackoffMs,
          backoffMaxMs: exstreamConfig.retryBackoffMaxMs,
        }
      : undefined,
  );
  batches = new NoticeBatches(deps.db, outbox, relay, service, deps.ports, () => jobs);
  const noticeBatches = batches;
  const worker = new DeliveryWorker(
    deps.db,
    outbox,
    deps.channels ?? createOutboxChannels(path.join(deps.dataDir, 'outbox')),
    service,
    deps.deliveryStepMs,
    // A batch's progress follows its deliveries until they all ended.
    (tx, emit, batchId, statuses) => noticeBatches.deliveriesMoved(tx, emit, batchId, statuses),
  );
  outbox.onCommit(() => {
    relay.kick();
    worker.kick();
  });
  const svc = service;
  const catalogue = createTemplateCatalogue({ db: deps.db, outbox, reader, opentext: deps.opentext });
  const templates = new TemplateLifecycle(deps.db, outbox, catalogue.authority);
  const catalogueHistory = (): TemplateCatalogueHistory =>
    // Not cached: a subscription's context outlives requests; batched within a tick all the same.
    new DataLoader((ids: readonly string[]) => catalogue.history(ids), { cache: false });
  // Connected mode: held Exstream jobs in the graph, and the leader-elected runtime monitor.
  const monitor = startRuntimeMonitor({ ...deps, outbox, relay });
  return {
    name: 'communications',
    schema,
    service: svc,
    renderMode: ownRenderer?.mode ?? 'given',
    reader,
    batches: noticeBatches,
    catalogue,
    monitor,
    useJobs: (queue: JobQueue) => {
      jobs = queue;
    },
    contextFor: (base: BaseContext): CommunicationsContext => ({
      ...base,
      communications: {
        service: svc,
        batches: noticeBatches,
        templates,
        reader,
        loaders: communicationsLoaders(reader, noticeBatches),
        newLoaders: (snapshot) => communicationsLoaders(reader, noticeBatches, snapshot),
        bus: deps.bus,
        log: eventLog,
        publicUrl: deps.publicUrl,
        trail,
        catalogue,
        catalogueHistory: catalogueHistory(),
        heldJobs: monitor.heldJobs,
      },
    }),
    start: () => {
      relay.start();
      worker.start();
      catalogue.start();
      monitor.start();
    },
    stop: async () => {
      await Promise.all([relay.stop(), worker.stop(), catalogue.stop(), monitor.stop()]);
      await ownRenderer?.close();
    },
    settle: async () => (await relay.drain()) + (await worker.drain()),
    nextDue: async () => earliest([await relay.nextDue(), await worker.nextDue()]),
  };
}
