import type { GraphQLSchema } from 'graphql';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { BaseContext, CommunicationsContext } from '../context/index.js';
import { DeliveryWorker } from '../datasources/communications/delivery.js';
import {
  createOutboxChannels,
  createRenderer,
  type DeliveryChannels,
  type Renderer,
} from '../datasources/communications/engine/index.js';
import type { CommunicationsPorts } from '../datasources/communications/ports.js';
import { CommunicationsReader, communicationsLoaders } from '../datasources/communications/reader.js';
import { CommunicationsService } from '../datasources/communications/service.js';
import { TemplateLifecycle } from '../datasources/communications/templates.js';
import { CommandRelay } from '../events/commands.js';
import { Outbox, type EventBus } from '../events/index.js';
import {
  CaseCommunicationsResolver,
  CustomerCommunicationsResolver,
  DeliveryStatusEventResolver,
  DocumentResolver,
  GenerationExceptionResolver,
} from '../resolvers/communications/document.resolver.js';
import { TemplateResolver, TemplateVersionResolver } from '../resolvers/communications/template.resolver.js';
import { communicationsReferences } from '../resolvers/communications/communications.reference.js';
import type { CommunicationsDB } from '../store/tables.js';
import { CaseCommunications, CustomerCommunications } from '../schema/communications/types.js';
import { buildFederatedSchema } from './build.js';
import type { Subgraph } from './types.js';

export interface CommunicationsSubgraph extends Subgraph<CommunicationsContext> {
  readonly service: CommunicationsService;
  readonly reader: CommunicationsReader;
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
  renderer?: Renderer;
  channels?: DeliveryChannels;
}): Promise<CommunicationsSubgraph> {
  const schema = await communicationsSchema();
  const outbox = new Outbox<CommunicationsDB>(deps.db, 'communications', deps.bus);
  const reader = new CommunicationsReader(deps.db);
  let service: CommunicationsService | null = null;
  const relay = new CommandRelay(deps.db as Kysely<unknown>, 'communications', {
    openExceptionCase: (p) => service!.runOpenExceptionCase(p),
    recordExceptionOutcome: (p) => service!.runRecordExceptionOutcome(p),
  });
  service = new CommunicationsService(deps.db, outbox, relay, deps.renderer ?? createRenderer(), deps.ports);
  const worker = new DeliveryWorker(
    deps.db,
    outbox,
    deps.channels ?? createOutboxChannels(path.join(deps.dataDir, 'outbox')),
    service,
    deps.deliveryStepMs,
  );
  outbox.onCommit(() => {
    relay.kick();
    worker.kick();
  });
  const svc = service;
  const templates = new TemplateLifecycle(deps.db, outbox);
  return {
    name: 'communications',
    schema,
    service: svc,
    reader,
    contextFor: (base: BaseContext): CommunicationsContext => ({
      ...base,
      communications: {
        service: svc,
        templates,
        reader,
        loaders: communicationsLoaders(reader),
        bus: deps.bus,
        publicUrl: deps.publicUrl,
      },
    }),
    start: () => {
      relay.start();
      worker.start();
    },
    stop: async () => {
      await Promise.all([relay.stop(), worker.stop()]);
    },
    settle: async () => {
      await relay.drain();
      await worker.drain();
    },
  };
}
