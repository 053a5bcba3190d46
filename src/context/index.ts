import type { Principal } from '../identity/index.js';
import type { EventBus } from '../events/index.js';
import type { EventLog } from '../events/log.js';
import type { CaseReader, WorkflowLoaders } from '../datasources/workflow/cases.js';
import type { WorkflowService } from '../datasources/workflow/service.js';
import type { DisputeDesk, DisputePolicy } from '../datasources/workflow/disputes.js';
import type { CustomerDataSource, CustomerLoaders } from '../datasources/customers/customers.js';
import type { CommunicationsReader, CommunicationsLoaders } from '../datasources/communications/reader.js';
import type { EventSnapshot } from '../events/snapshot.js';
import type { CommunicationsService } from '../datasources/communications/service.js';
import type { TemplateLifecycle } from '../datasources/communications/templates.js';
import type { NoticeBatches } from '../datasources/communications/batches.js';
import type { CaseTrail } from '../datasources/workflow/trail.js';
import type { TemplateTrail } from '../datasources/communications/trail.js';
import type { HeldJobs } from '../datasources/communications/runtime-jobs.js';
import type DataLoader from 'dataloader';
import type {
  CatalogueHistoryEntry,
  TemplateCatalogue,
} from '../datasources/communications/catalogue/index.js';

/** Upstream history entries of templates, by template id (empty in the embedded mode). */
export type TemplateCatalogueHistory = DataLoader<string, CatalogueHistoryEntry[]>;

/** What every request carries, whichever subgraph runs it. */
export interface BaseContext {
  requestId: string;
  /** null when no token was sent; a bad token never gets this far. */
  principal: Principal | null;
  /**
   * A subscription's context lives as long as the subscription; per-request
   * caches (DataLoaders) must not, or each event would see stale data and
   * the cache would grow for hours. Set for graphql-ws operations.
   */
  longLived?: boolean;
}

export interface WorkflowContext extends BaseContext {
  workflow: {
    service: WorkflowService;
    disputes: DisputeDesk;
    reader: CaseReader;
    loaders: WorkflowLoaders;
    bus: EventBus;
    log: EventLog;
    disputePolicy: DisputePolicy;
    /** Integrity check of the case trail's hash chain. */
    trail: CaseTrail;
  };
}

export interface CustomersContext extends BaseContext {
  customers: { source: CustomerDataSource; loaders: CustomerLoaders };
}

export interface CommunicationsContext extends BaseContext {
  communications: {
    service: CommunicationsService;
    batches: NoticeBatches;
    templates: TemplateLifecycle;
    reader: CommunicationsReader;
    loaders: CommunicationsLoaders;
    /** Fresh loaders, for each event of a long-lived subscription, primed with the event's snapshot. */
    newLoaders: (snapshot?: EventSnapshot | null) => CommunicationsLoaders;
    bus: EventBus;
    log: EventLog;
    /** Base URL for document downloads (`/documents/:id/content`). */
    publicUrl: string;
    /** Integrity check of the template trail's hash chain. */
    trail: TemplateTrail;
    /** Connected mode: Exstream jobs held at a hold step (src/datasources/communications/runtime-jobs.ts). */
    heldJobs: HeldJobs;
    /** Where templates come from (embedded, or Exstream Design mirrored). */
    catalogue: TemplateCatalogue;
    catalogueHistory: TemplateCatalogueHistory;
  };
}

export type AnyContext = WorkflowContext | CustomersContext | CommunicationsContext;
