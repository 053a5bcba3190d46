import { CaseOutbox } from '../datasources/workflow/outbox.js';
import type { GraphQLSchema } from 'graphql';
import type { Kysely } from 'kysely';
import type { WorkflowContext, BaseContext } from '../context/index.js';
import { CaseReader, workflowLoaders } from '../datasources/workflow/cases.js';
import type { WorkflowPorts } from '../datasources/workflow/ports.js';
import { WorkflowService, type WorkflowOptions } from '../datasources/workflow/service.js';
import type { WorkflowCommands } from '../datasources/workflow/deps.js';
import { DEFAULT_DISPUTE_POLICY, DisputeDesk, type DisputePolicy } from '../datasources/workflow/disputes.js';
import { log } from '../logger.js';
import { EMBEDDED_TASKS, type TaskHandling } from '../datasources/workflow/task-handling.js';
import { OtwsTaskHandling } from '../datasources/workflow/otws.js';
import { createWorkflowClient, upstreamTransport } from '../upstreams/opentext/workflow/index.js';
import { CommandRelay } from '../events/commands.js';
import type { EventBus } from '../events/index.js';
import { EventLog } from '../events/log.js';
import {
  ApprovalResolver,
  CaseResolver,
  CustomerCasesResolver,
} from '../resolvers/workflow/case.resolver.js';
import { workflowReferences } from '../resolvers/workflow/case.reference.js';
import { CaseTrailResolver } from '../resolvers/workflow/trail.resolver.js';
import { CaseTrail } from '../datasources/workflow/trail.js';
import type { WorkflowDB } from '../store/tables.js';
import { CustomerCases } from '../schema/workflow/types.js';
import { buildFederatedSchema } from './build.js';
import { WorkflowDeps } from '../datasources/workflow/deps.js';
import { DEFAULT_CORRESPONDENCE_STAGES } from '../datasources/workflow/rules.js';
import { workflowServicePoller } from '../datasources/workflow/otws/index.js';
import type { Store } from '../store/db.js';
import type { OpenTextConnection, Subgraph } from './types.js';
import { OutageLog } from '../store/connection-errors.js';

export interface WorkflowSubgraph extends Subgraph<WorkflowContext> {
  readonly service: WorkflowService;
  readonly reader: CaseReader;
}

/** The subgraph's schema alone (no store needed): for printing SDL and composing. */
export function workflowSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [CaseResolver, ApprovalResolver, CustomerCasesResolver, CaseTrailResolver],
    // Customer is owned by the customers subgraph; workflow adds `cases` to it.
    orphanedTypes: [CustomerCases],
    references: workflowReferences,
  });
}

/**
 * The task-handling seam, chosen by settings: Workflow Service with `WORKFLOW_BACKEND=otws`
 * (through the process's one resilient client), else the embedded workflow.
 */
function taskHandling(deps: { db: Kysely<WorkflowDB>; opentext?: OpenTextConnection }): TaskHandling {
  const settings = deps.opentext?.config.workflow;
  const client = deps.opentext?.upstreams.workflow;
  if (deps.opentext?.config.workflowBackend !== 'otws' || !settings || !client) return EMBEDDED_TASKS;
  return new OtwsTaskHandling(deps.db, createWorkflowClient(upstreamTransport(client, settings)), settings);
}

export async function createWorkflowSubgraph(deps: {
  db: Kysely<WorkflowDB>;
  bus: EventBus;
  ports: WorkflowPorts;
  options?: WorkflowOptions;
  disputePolicy?: DisputePolicy;
  deadlineCheckMs?: number;
  /**
   * Connected mode: the process's OpenText clients (built once, src/upstreams/opentext), and the
   * settings that choose them. Absent or `workflow: 'embedded'`: the embedded workflow.
   */
  opentext?: OpenTextConnection;
  /**
   * The store's connection settings, for electing the one process that runs the Workflow Service
   * poller (src/store/leader.ts). Without it (tests building a bare subgraph) no poller runs.
   */
  election?: Pick<Store, 'kind' | 'pool'>;
}): Promise<WorkflowSubgraph> {
  const schema = await workflowSchema();
  const outbox = new CaseOutbox(deps.db, 'workflow', deps.bus);
  const reader = new CaseReader(deps.db);
  const trail = new CaseTrail(deps.db);
  const eventLog = new EventLog(deps.db as Kysely<unknown>, 'workflow');
  // Late-bound: the relay's handler needs the service, the service enqueues on the relay.
  let service: WorkflowService | null = null;
  let disputeDesk: DisputeDesk | null = null;
  const relay = new CommandRelay<WorkflowCommands>(deps.db as Kysely<unknown>, 'workflow', {
    generateForCase: (payload) => service!.runGenerateForCase(payload),
    reissueForCase: (payload) => service!.runReissueForCase(payload),
    milestoneCommunication: (payload) => service!.runMilestoneCommunication(payload),
    launchNotice: (payload) => service!.runLaunchNotice(payload),
    disputeLetter: (payload) => disputeDesk!.runLetter(payload),
    startProcess: (payload) => service!.runStartProcess(payload),
  });
  // The task-handling seam, shared by the service and the poller (one Workflow Service client).
  const tasks = taskHandling(deps);
  service = new WorkflowService(deps.db, outbox, relay, deps.ports, deps.options, tasks);
  // Connected mode: decisions made in OpenText's task UI, applied by the leader-elected poller.
  const poller = workflowServicePoller({
    d: new WorkflowDeps(
      deps.db,
      outbox,
      relay,
      deps.ports,
      deps.options ?? { correspondenceStages: DEFAULT_CORRESPONDENCE_STAGES },
      tasks,
    ),
    opentext: deps.opentext,
    election: deps.election,
  });
  disputeDesk = new DisputeDesk(deps.db, outbox, relay, deps.ports, service, deps.disputePolicy);
  const disputes = disputeDesk;
  service.disputes = disputes;
  let watch: NodeJS.Timeout | null = null;
  outbox.onCommit(() => relay.kick());
  const svc = service;
  return {
    name: 'workflow',
    schema,
    service: svc,
    reader,
    contextFor: (base: BaseContext): WorkflowContext => ({
      ...base,
      workflow: {
        service: svc,
        disputes,
        reader,
        loaders: workflowLoaders(reader, null, svc.tasks),
        bus: deps.bus,
        log: eventLog,
        disputePolicy: deps.disputePolicy ?? DEFAULT_DISPUTE_POLICY,
        trail,
      },
    }),
    start: () => {
      relay.start();
      poller.start();
      if (watch) return;
      // Deadlines are checked on a timer; the check itself is safe to run in several processes.
      const outage = new OutageLog('deadline check');
      watch = setInterval(() => {
        disputes.checkDeadlines().then(
          () => outage.ok(),
          (err: unknown) => {
            if (!outage.failed(err)) log.error('deadline check failed', { err });
          },
        );
      }, deps.deadlineCheckMs ?? 60_000);
      watch.unref();
    },
    stop: async () => {
      if (watch) clearInterval(watch);
      watch = null;
      // The poller first: its last round may enqueue commands for the relay to run.
      await poller.stop();
      await relay.stop();
    },
    settle: async () => {
      const ran = await relay.drain();
      await disputes.checkDeadlines();
      return ran;
    },
    nextDue: () => relay.nextDue(),
  };
}
