/**
 * Tasks API (reference §7.8–7.10): the inbox by candidate group and business key, one task,
 * claim / unclaim / complete with outcome.
 */
import { z } from 'zod';
import { WorkflowNotFoundError } from './errors.js';
import {
  dateString,
  DEFAULT_COUNT,
  restVariable,
  restVariableSchema,
  send,
  sendFor,
  sendForList,
  type HalPage,
  type Paging,
  type RestVariableInput,
} from './rest.js';
import { segment, type WorkflowRequest, type WorkflowTransport } from './transport.js';

/**
 * A runtime task. Fields seen in "Get tasks" / "Get a task" [V:page]; `processDefinitionId`,
 * `suspended`, `tenantId` and `taskDefinitionKey` are Flowable's `TaskResponse` fields [I].
 * `taskDefinitionKey` is the BPMN user task id (`review`, `final_response`...), the key the
 * connector maps a task to a stage by.
 */
export const taskSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  description: z.string().nullish(),
  taskDefinitionKey: z.string().nullish(),
  assignee: z.string().nullish(),
  owner: z.string().nullish(),
  delegationState: z.string().nullish(),
  priority: z.number().nullish(),
  createTime: dateString,
  claimTime: dateString,
  dueDate: dateString,
  executionId: z.string().nullish(),
  processInstanceId: z.string().nullish(),
  processDefinitionId: z.string().nullish(),
  suspended: z.boolean().nullish(),
  tenantId: z.string().nullish(),
  variables: z.array(restVariableSchema).nullish(),
});
export type WorkflowTask = z.infer<typeof taskSchema>;

/** The §7.8 filters the connector uses. */
export interface TaskQuery extends Paging {
  readonly processInstanceBusinessKey?: string;
  readonly processInstanceId?: string;
  readonly processDefinitionKey?: string;
  readonly candidateGroup?: string;
  /** Any of these groups (sent comma-separated). */
  readonly candidateGroups?: readonly string[];
  readonly candidateOrAssigned?: string;
  readonly assignee?: string;
  readonly unassigned?: boolean;
  readonly name?: string;
  readonly includeProcessVariables?: boolean;
  readonly includeTaskLocalVariables?: boolean;
  readonly sort?: 'createTime' | 'name' | 'id' | 'dueDate' | 'priority';
  readonly order?: 'asc' | 'desc';
}

/** The outcomes of an approval task (contract: `approved` or `rejected`; `rejected` ends the process). */
export type TaskOutcome = 'approved' | 'rejected';

export interface CompleteTask {
  /** Sent as `outcome` (the task's outcome in OpenText's UI and history). */
  readonly outcome?: TaskOutcome;
  /** With `outcome`: the task definition key, so `<key>Outcome` is set too (the models branch on it). */
  readonly taskKey?: string;
  /** Sent as the process variable `comment`. */
  readonly comment?: string;
  readonly variables?: readonly RestVariableInput[];
}

// ------------------------------------------------------------------------------- request builders

export function listTasksRequest(query: TaskQuery): WorkflowRequest {
  return {
    base: 'service',
    method: 'GET',
    path: '/tasks',
    query: {
      processInstanceBusinessKey: query.processInstanceBusinessKey,
      processInstanceId: query.processInstanceId,
      processDefinitionKey: query.processDefinitionKey,
      candidateGroup: query.candidateGroup,
      candidateGroups: query.candidateGroups?.join(','),
      candidateOrAssigned: query.candidateOrAssigned,
      assignee: query.assignee,
      unassigned: query.unassigned,
      name: query.name,
      includeProcessVariables: query.includeProcessVariables,
      includeTaskLocalVariables: query.includeTaskLocalVariables,
      sort: query.sort,
      order: query.order,
      offset: query.offset ?? 0,
      count: query.count ?? DEFAULT_COUNT,
    },
    idempotent: true,
  };
}

export function getTaskRequest(
  id: string,
  { includeProcessVariables = false }: { includeProcessVariables?: boolean } = {},
): WorkflowRequest {
  return {
    base: 'service',
    method: 'GET',
    path: `/tasks/${segment(id)}`,
    query: { includeProcessVariables },
    idempotent: true,
  };
}

/** Claim for `assignee`. Repeating it for the same assignee changes nothing (Flowable), so it is idempotent. */
export function claimTaskRequest(id: string, assignee: string): WorkflowRequest {
  return {
    base: 'service',
    method: 'POST',
    path: `/tasks/${segment(id)}`,
    body: { action: 'claim', assignee },
    idempotent: true,
  };
}

/** `unclaim` is Flowable's; whether OCP exposes it is a gap (reference §13.10). */
export function unclaimTaskRequest(id: string): WorkflowRequest {
  return {
    base: 'service',
    method: 'POST',
    path: `/tasks/${segment(id)}`,
    body: { action: 'unclaim' },
    idempotent: true,
  };
}

/** The variables a completion sends: `<taskKey>Outcome` and `comment` (contract), then the caller's. */
export function completionVariables(input: CompleteTask): RestVariableInput[] {
  const variables: RestVariableInput[] = [];
  if (input.outcome !== undefined) {
    if (!input.taskKey)
      throw new TypeError('completing with an outcome needs the task key for <taskKey>Outcome');
    variables.push(restVariable(`${input.taskKey}Outcome`, input.outcome));
  }
  if (input.comment !== undefined) variables.push(restVariable('comment', input.comment));
  variables.push(...(input.variables ?? []));
  return variables;
}

export function completeTaskRequest(id: string, input: CompleteTask): WorkflowRequest {
  return {
    base: 'service',
    method: 'POST',
    path: `/tasks/${segment(id)}`,
    body: {
      action: 'complete',
      ...(input.outcome === undefined ? {} : { outcome: input.outcome }),
      variables: completionVariables(input),
    },
    // Not idempotent: a repeat after a timeout finds the task gone (404). The caller checks
    // history for the completion before it treats that as a failure (see completedBy in history.ts).
    idempotent: false,
  };
}

// ------------------------------------------------------------------------------------------- API

export class TasksApi {
  constructor(private readonly transport: WorkflowTransport) {}

  list(query: TaskQuery): Promise<HalPage<WorkflowTask>> {
    return sendForList(this.transport, listTasksRequest(query), 'tasks', taskSchema);
  }

  /** A task still open; `null` once completed (it is then only in history) or when unknown. */
  async get(id: string, options: { includeProcessVariables?: boolean } = {}): Promise<WorkflowTask | null> {
    try {
      return await sendFor(this.transport, getTaskRequest(id, options), taskSchema);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  }

  /** Claims for `assignee`; a task claimed by someone else throws WorkflowConflictError (`alreadyClaimed`). */
  async claim(id: string, assignee: string): Promise<void> {
    await send(this.transport, claimTaskRequest(id, assignee));
  }

  async unclaim(id: string): Promise<void> {
    await send(this.transport, unclaimTaskRequest(id));
  }

  /** Completes (200 with an empty body, which is not read: clients must not require one). */
  async complete(id: string, input: CompleteTask): Promise<void> {
    await send(this.transport, completeTaskRequest(id, input));
  }

  /**
   * A decision through the graph: claim for the decider, then complete with the outcome. The claim
   * makes the decider the task's assignee in Workflow Service (and its history); a task claimed by
   * another user refuses it with 409 before anything changes.
   */
  async decide(
    id: string,
    decision: { assignee: string; taskKey: string; outcome: TaskOutcome; comment?: string },
  ): Promise<void> {
    await this.claim(id, decision.assignee);
    await this.complete(id, {
      taskKey: decision.taskKey,
      outcome: decision.outcome,
      comment: decision.comment,
    });
  }
}
