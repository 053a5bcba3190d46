import type { Kysely } from 'kysely';
import type { CommandRelay } from '../../events/commands.js';
import type { Outbox } from '../../events/index.js';
import type { WorkflowDB } from '../../store/tables.js';
import { DEFAULT_FOLLOW_UP_WAIT_MS, followUp } from '../follow-up.js';
import type { DisputeLetterCommand } from './disputes.js';
import type { GenerateForCaseCommand, LaunchNoticeCommand, ReissueCommand, WorkflowPorts } from './ports.js';
import type { Stage } from './rules.js';
import { EMBEDDED_TASKS, type StartProcessCommand, type TaskHandling } from './task-handling.js';
import type { Transaction } from 'kysely';

/**
 * The workflow subgraph's durable commands: name → payload. Each is enqueued in
 * the transaction that asks for it and run after commit (src/events/commands.ts).
 */
export interface WorkflowCommands {
  generateForCase: GenerateForCaseCommand;
  reissueForCase: ReissueCommand;
  milestoneCommunication: MilestoneCommand;
  launchNotice: LaunchNoticeCommand;
  disputeLetter: DisputeLetterCommand;
  /** Connected workflow: start the case's Workflow Service process (idempotent by business key). */
  startProcess: StartProcessCommand;
}

export type WorkflowCommandRelay = CommandRelay<WorkflowCommands>;

export interface MilestoneCommand {
  caseId: string;
  milestone: string;
  generate: GenerateForCaseCommand;
}

export interface MilestoneRule {
  milestone: string;
  segment?: string;
  status?: string;
  templateId: string;
}

export interface ExceptionRoute {
  kind: string;
  channel?: string;
  team: string;
  dueHours: number;
}

export interface WorkflowOptions {
  /** Document type → approval stages of ad hoc correspondence. */
  correspondenceStages: Record<string, readonly Stage[]>;
  /** Which communication each SERVICE milestone sends; the first matching rule wins. */
  milestoneCommunications?: readonly MilestoneRule[];
  /** Where generation exception cases go; the first matching rule wins. */
  exceptionRouting?: readonly ExceptionRoute[];
  /** How long a mutation waits for the work it started (src/datasources/follow-up.ts); 0 does not wait. */
  followUpWaitMs?: number;
}

/** What every part of the workflow service works with: the store, its outbox, the commands, the other subgraphs. */
export class WorkflowDeps {
  constructor(
    readonly db: Kysely<WorkflowDB>,
    readonly outbox: Outbox<WorkflowDB>,
    readonly commands: WorkflowCommandRelay,
    readonly ports: WorkflowPorts,
    readonly options: WorkflowOptions,
    /** Who else holds the cases' tasks (src/datasources/workflow/task-handling.ts). */
    readonly tasks: TaskHandling = EMBEDDED_TASKS,
  ) {}

  /**
   * In the transaction that opens a case: its process is started after commit, by a durable
   * command (an outage delays it, a retry finds it by business key). Nothing when embedded.
   */
  async processStarting(tx: Transaction<WorkflowDB>, cmd: StartProcessCommand): Promise<void> {
    if (this.tasks.connected) await this.commands.enqueue(tx, 'startProcess', cmd);
  }

  /** Waits, bounded, for work this subgraph's commands do (src/datasources/follow-up.ts). */
  followUp<T>(check: () => Promise<T | null | undefined>): Promise<T | null> {
    const ms = this.options.followUpWaitMs ?? DEFAULT_FOLLOW_UP_WAIT_MS;
    return followUp({ ms, onCommit: (listener) => this.outbox.onCommit(listener) }, check);
  }
}
