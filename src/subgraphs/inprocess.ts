import type { Kysely } from 'kysely';
import type { EventBus } from '../events/index.js';
import type { Database } from '../store/tables.js';
import type { Store } from '../store/db.js';
import type { CommunicationsPorts, CustomerProfile } from '../datasources/communications/ports.js';
import { generationOutcome, type WorkflowPorts } from '../datasources/workflow/ports.js';
import type { WorkflowOptions } from '../datasources/workflow/service.js';
import type { DisputePolicy } from '../datasources/workflow/disputes.js';
import {
  sliceOf,
  type CommunicationsDB,
  type CustomerRow,
  type CustomersDB,
  type WorkflowDB,
} from '../store/tables.js';
import type { Renderer, DeliveryChannels } from '../datasources/communications/engine/index.js';
import { createCommunicationsSubgraph, type CommunicationsSubgraph } from './communications.js';
import { createCustomersSubgraph, type CustomersSubgraph } from './customers.js';
import { createWorkflowSubgraph, type WorkflowSubgraph } from './workflow.js';
import { earliest, type OpenTextConnection, type Subgraph } from './types.js';

export interface SubgraphSet {
  workflow: WorkflowSubgraph;
  customers: CustomersSubgraph;
  communications: CommunicationsSubgraph;
  all: Subgraph[];
  /**
   * Runs every subgraph's background work until none is left: none due, none
   * in hand, none due later (a delivery's confirmation, a command claimed by
   * another relay), which it waits for until it is due. Work still pending
   * after `timeoutMs` is an error, never a silent return. A command waiting
   * to retry after a failure is not waited for (see CommandRelay.nextDue).
   */
  settle(timeoutMs?: number): Promise<void>;
}

export function toProfile(r: CustomerRow): CustomerProfile {
  return {
    id: r.id,
    name: r.name,
    email: r.email,
    phone: r.phone,
    address: r.address as CustomerProfile['address'],
    locale: r.locale,
    brand: r.brand,
    segments: r.segments,
    preferredChannel: r.preferred_channel,
  };
}

/**
 * The three subgraphs in one process, each talking to the others through the
 * others' services (the same calls their GraphQL APIs make as services), so
 * none reads another's tables.
 */
export async function createInProcessSubgraphs(deps: {
  db: Kysely<Database>;
  bus: EventBus;
  dataDir: string;
  publicUrl: string;
  deliveryStepMs: number;
  renderer?: Renderer;
  /** RENDER_WORKERS: render threads of the communications subgraph (when no `renderer` is given). */
  renderWorkers?: number;
  channels?: DeliveryChannels;
  workflow?: WorkflowOptions;
  disputePolicy?: DisputePolicy;
  deadlineCheckMs?: number;
  /** Connected mode (src/subgraphs/types.ts): one set of OpenText clients for the process. */
  opentext?: OpenTextConnection;
  /** The store, for electing the process that runs the Exstream runtime monitor. */
  election?: Pick<Store, 'kind' | 'pool'>;
}): Promise<SubgraphSet> {
  // Filled in below; ports are only called after start, when all three exist.
  const late: {
    workflow?: WorkflowSubgraph;
    customers?: CustomersSubgraph;
    communications?: CommunicationsSubgraph;
  } = {};

  const workflowPorts: WorkflowPorts = {
    async customer(id) {
      const [row] = await late.customers!.source.byIds([id]);
      return row ? { id: row.id, preferredChannel: row.preferred_channel, segments: row.segments } : null;
    },
    async approvedVersion(templateId) {
      const found = await late.communications!.service.approvedVersion(templateId);
      if (!found) return 'NO_TEMPLATE';
      if (!found.version) return null;
      return {
        templateId,
        documentType: found.template.document_type,
        templateVersionId: found.version.id,
        channels: found.template.channels,
      };
    },
    async generateForCase(cmd) {
      const doc = await late.communications!.service.generate({
        actor: cmd.requestedBy,
        scope: 'system',
        customerId: cmd.customerId,
        templateVersionId: cmd.templateVersionId,
        channel: cmd.channel,
        data: cmd.data,
        caseId: cmd.caseId,
        caseApproved: true,
        idempotencyKey: cmd.idempotencyKey,
      });
      return generationOutcome(doc.id, doc.status);
    },
    async document(id) {
      const [doc] = await late.communications!.reader.documents([id]);
      return doc
        ? { id: doc.id, customerId: doc.customer_id, channel: doc.channel, status: doc.status }
        : null;
    },
    async launchNoticeBatch(cmd) {
      return late.communications!.batches.launch(cmd);
    },
    async reissue(cmd) {
      const doc = await late.communications!.service.reissue({ ...cmd, actor: cmd.requestedBy });
      return generationOutcome(doc.id, doc.status, doc.output_note);
    },
  };

  const communicationsPorts: CommunicationsPorts = {
    async customers(ids) {
      return (await late.customers!.source.byIds(ids)).map((r) => (r ? toProfile(r) : null));
    },
    async customersInSegments(segments) {
      return late.customers!.source.idsInSegments(segments);
    },
    async recordNoticeOutcome(input) {
      await late.workflow!.service.recordNoticeOutcome(input);
    },
    async caseApproval(caseId) {
      const found = await late.workflow!.service.approvalState(caseId);
      return found
        ? { caseId, title: found.caseRow.title, customerId: found.caseRow.customer_id, state: found.state }
        : null;
    },
    async openExceptionCase(input) {
      const c = await late.workflow!.service.openExceptionCase(input);
      return { caseId: c.id };
    },
    async recordExceptionOutcome(input) {
      await late.workflow!.service.recordExceptionOutcome(input);
    },
  };

  late.workflow = await createWorkflowSubgraph({
    db: sliceOf<WorkflowDB>(deps.db),
    bus: deps.bus,
    ports: workflowPorts,
    options: deps.workflow,
    disputePolicy: deps.disputePolicy,
    deadlineCheckMs: deps.deadlineCheckMs,
    opentext: deps.opentext,
    election: deps.election,
  });
  late.customers = await createCustomersSubgraph({ db: sliceOf<CustomersDB>(deps.db), bus: deps.bus });
  late.communications = await createCommunicationsSubgraph({
    db: sliceOf<CommunicationsDB>(deps.db),
    bus: deps.bus,
    ports: communicationsPorts,
    dataDir: deps.dataDir,
    publicUrl: deps.publicUrl,
    deliveryStepMs: deps.deliveryStepMs,
    renderer: deps.renderer,
    renderWorkers: deps.renderWorkers,
    channels: deps.channels,
    // One FOLLOW_UP_WAIT_MS for the whole gateway; it arrives with workflow's options.
    followUpWaitMs: deps.workflow?.followUpWaitMs,
    opentext: deps.opentext,
    election: deps.election,
  });
  const { workflow, customers, communications } = late;
  const all: Subgraph[] = [workflow, customers, communications];
  return {
    workflow,
    customers,
    communications,
    all,
    async settle(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // Work in one subgraph can create work in another (approval → generation → exception
        // case): go round until a whole round finds nothing to do.
        let worked = 0;
        for (const s of all) worked += await s.settle();
        if (worked) continue;
        const due = earliest(await Promise.all(all.map((s) => s.nextDue())));
        if (!due) return;
        if (due.getTime() > deadline || Date.now() > deadline) {
          throw new Error(
            `background work still pending after ${timeoutMs} ms (next due ${due.toISOString()})`,
          );
        }
        // A retry or a delivery confirmation is due at a known time: wait for exactly that.
        await new Promise((r) => setTimeout(r, Math.max(1, due.getTime() - Date.now())));
      }
    },
  };
}
