import type { Transaction } from 'kysely';
import type { CaseRow, WorkflowDB } from '../../store/tables.js';

/**
 * The task-handling seam (issue 11): who else holds a case's tasks. Embedded (the default), the
 * graph's own tables are the whole story and every method here does nothing. With
 * `WORKFLOW_BACKEND=otws` a case is a Workflow Service process and each stage one of its tasks
 * (src/datasources/workflow/otws.ts). Either way the graph's rules are checked before a method
 * here is called, and the graph's store records the outcome after it returned.
 */
export type TaskOutcome = 'approved' | 'rejected';

/** What starts a case's process (the contract's start variables). */
export interface StartProcessCommand {
  caseId: string;
  caseKind: string;
  title: string;
  customerId: string | null;
  templateId: string | null;
  requestedBy: string;
  /** The approval stages in order; empty where the kind has none. */
  stages: string[];
}

/** A decision or claim on one of a case's tasks, for one person. */
export interface TaskAction {
  caseRow: CaseRow;
  /** The task definition key: `review`, `approval`, `compliance`, `final_response`, ... */
  taskKey: string;
  actor: string;
  outcome?: TaskOutcome;
  comment?: string | null;
  /** The graph's approval the task stands for, when it is a stage. */
  approvalId?: string | null;
  /** More process variables sent with a completion (e.g. an exception's `resolution`). */
  variables?: Record<string, string>;
}

/** What Workflow Service accepted, to be recorded with the decision. */
export interface TaskReceipt {
  caseId: string;
  taskId: string;
  taskKey: string;
  approvalId: string | null;
  assignee: string;
  outcome: string | null;
  completed: boolean;
}

/** One entry of a process's task history, shaped as a case trail entry. */
export interface ProcessHistoryEntry {
  id: string;
  at: Date;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

export interface TaskHandling {
  /** Whether tasks live in another system (decisions go there first). */
  readonly connected: boolean;
  /** Command handler: starts the case's process once (a retry finds it by business key). */
  startProcess(cmd: StartProcessCommand): Promise<void>;
  /** Claims the task for the actor and completes it with the outcome; throws the graph's refusal. */
  complete(action: TaskAction): Promise<TaskReceipt | null>;
  /** Claims the task for the actor (assignment); throws the graph's refusal. */
  claim(action: TaskAction): Promise<TaskReceipt | null>;
  /** Adds a comment to the case's process (a decision that leaves its task open). */
  comment(caseRow: CaseRow, message: string): Promise<void>;
  /** Records what was accepted, in the transaction that records the decision. */
  record(tx: Transaction<WorkflowDB>, receipt: TaskReceipt | null): Promise<void>;
  /** The process's task history of each case (empty embedded, or when the service cannot answer). */
  history(caseIds: readonly string[]): Promise<ProcessHistoryEntry[][]>;
}

/** The embedded default: the graph's tables are the whole story. */
export const EMBEDDED_TASKS: TaskHandling = {
  connected: false,
  startProcess: async () => {},
  complete: async () => null,
  claim: async () => null,
  comment: async () => {},
  record: async () => {},
  history: async (caseIds) => caseIds.map(() => []),
};
