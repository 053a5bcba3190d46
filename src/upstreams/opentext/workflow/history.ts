/**
 * History API (reference §7.11), at `WORKFLOW_HISTORY_URL`: finished process instances and
 * completed tasks, the change feed the connector polls for decisions made in OpenText's own UI.
 *
 * The list envelopes are assumed to be HAL like the runtime lists, with `offset`/`count` paging,
 * and their `_embedded` keys are a gap (reference §13.9): `historic-process-instances` and
 * `historic-task-instances` are our pick [I]; parseHalList also reads a lone array under any key.
 */
import { z } from 'zod';
import { commentSchema } from './comments.js';
import { WorkflowNotFoundError } from './errors.js';
import {
  dateString,
  DEFAULT_COUNT,
  parseWorkflowDate,
  readAll,
  restVariableSchema,
  sendFor,
  sendForList,
  type HalPage,
  type Paging,
} from './rest.js';
import { segment, type WorkflowRequest, type WorkflowTransport } from './transport.js';

/** [I] the `_embedded` key of the historic process instance list. */
export const HISTORIC_PROCESS_INSTANCES = 'historic-process-instances';
/** [I] the `_embedded` key of the historic task instance list. */
export const HISTORIC_TASK_INSTANCES = 'historic-task-instances';

/** Fields of "Get a historic process instance" [V:page]; `processDefinitionKey` is Flowable's [I]. */
export const historicProcessInstanceSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  businessKey: z.string().nullish(),
  processDefinitionId: z.string().nullish(),
  processDefinitionKey: z.string().nullish(),
  processDefinitionName: z.string().nullish(),
  startTime: dateString,
  /** Null while the instance runs. */
  endTime: dateString,
  durationInMillis: z.number().nullish(),
  startUserId: z.string().nullish(),
  startActivityId: z.string().nullish(),
  /** The end event it ended in, e.g. `endApproved` / `endRejected` in the shipped models. */
  endActivityId: z.string().nullish(),
  deleteReason: z.string().nullish(),
  comments: z.array(commentSchema).nullish(),
  variables: z.array(restVariableSchema).nullish(),
});
export type HistoricProcessInstance = z.infer<typeof historicProcessInstanceSchema>;

/**
 * A historic task instance. Only the query parameters are in the material [V:page]; the fields are
 * Flowable's `HistoricTaskInstanceResponse` [I]. `endTime` is the completion time, `assignee` who
 * had it when it was completed.
 */
export const historicTaskInstanceSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  description: z.string().nullish(),
  taskDefinitionKey: z.string().nullish(),
  assignee: z.string().nullish(),
  owner: z.string().nullish(),
  startTime: dateString,
  claimTime: dateString,
  endTime: dateString,
  durationInMillis: z.number().nullish(),
  dueDate: dateString,
  /** Set when the task ended without being completed (process deleted, boundary timer fired). */
  deleteReason: z.string().nullish(),
  processInstanceId: z.string().nullish(),
  processDefinitionId: z.string().nullish(),
  executionId: z.string().nullish(),
  variables: z.array(restVariableSchema).nullish(),
});
export type HistoricTaskInstance = z.infer<typeof historicTaskInstanceSchema>;

export interface HistoricProcessInstanceQuery extends Paging {
  readonly processInstanceId?: string;
  readonly businessKey?: string;
  readonly processDefinitionKey?: string;
  readonly finished?: boolean;
  /** Strictly after (Flowable's `finishedAfter`). */
  readonly finishedAfter?: Date;
  readonly finishedBefore?: Date;
  readonly startedAfter?: Date;
  readonly includeProcessVariables?: boolean;
  readonly includeProcessComments?: boolean;
  readonly sort?: 'startTime' | 'endTime' | 'processInstanceId';
  readonly order?: 'asc' | 'desc';
}

export interface HistoricTaskInstanceQuery extends Paging {
  readonly taskId?: string;
  readonly processInstanceId?: string;
  /** Note the name: not `processInstanceBusinessKey` as on the runtime task list. */
  readonly processBusinessKey?: string;
  readonly processDefinitionKey?: string;
  readonly taskDefinitionKey?: string;
  readonly taskAssignee?: string;
  readonly finished?: boolean;
  /** Strictly after (Flowable's `taskCompletedAfter`). */
  readonly taskCompletedAfter?: Date;
  readonly taskCompletedBefore?: Date;
  readonly includeProcessVariables?: boolean;
  readonly includeTaskLocalVariables?: boolean;
  /** Sort keys are Flowable's [I]. */
  readonly sort?: 'endTime' | 'startTime' | 'taskInstanceId';
  readonly order?: 'asc' | 'desc';
}

// ------------------------------------------------------------------------------- request builders

export function listHistoricProcessInstancesRequest(query: HistoricProcessInstanceQuery): WorkflowRequest {
  return {
    base: 'history',
    method: 'GET',
    path: '/historic-process-instances',
    query: {
      processInstanceId: query.processInstanceId,
      businessKey: query.businessKey,
      processDefinitionKey: query.processDefinitionKey,
      finished: query.finished,
      finishedAfter: query.finishedAfter,
      finishedBefore: query.finishedBefore,
      startedAfter: query.startedAfter,
      includeProcessVariables: query.includeProcessVariables,
      includeProcessComments: query.includeProcessComments,
      sort: query.sort,
      order: query.order,
      offset: query.offset ?? 0,
      count: query.count ?? DEFAULT_COUNT,
    },
    idempotent: true,
  };
}

export function getHistoricProcessInstanceRequest(
  id: string,
  options: { includeProcessVariables?: boolean; includeProcessComments?: boolean } = {},
): WorkflowRequest {
  return {
    base: 'history',
    method: 'GET',
    path: `/historic-process-instances/${segment(id)}`,
    query: {
      includeProcessVariables: options.includeProcessVariables,
      includeProcessComments: options.includeProcessComments,
    },
    idempotent: true,
  };
}

export function listHistoricTaskInstancesRequest(query: HistoricTaskInstanceQuery): WorkflowRequest {
  return {
    base: 'history',
    method: 'GET',
    path: '/historic-task-instances',
    query: {
      taskId: query.taskId,
      processInstanceId: query.processInstanceId,
      processBusinessKey: query.processBusinessKey,
      processDefinitionKey: query.processDefinitionKey,
      taskDefinitionKey: query.taskDefinitionKey,
      taskAssignee: query.taskAssignee,
      finished: query.finished,
      taskCompletedAfter: query.taskCompletedAfter,
      taskCompletedBefore: query.taskCompletedBefore,
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

/** Oldest completion first (dates compared as instants: the offsets' spelling varies), then by id. */
function byEndTime(
  a: { id: string; endTime?: string | null },
  b: { id: string; endTime?: string | null },
): number {
  const time = (x: { endTime?: string | null }) =>
    parseWorkflowDate(x.endTime)?.getTime() ?? Number.MAX_SAFE_INTEGER;
  return time(a) - time(b) || a.id.localeCompare(b.id);
}

// ------------------------------------------------------------------------------------------- API

export class HistoryApi {
  constructor(private readonly transport: WorkflowTransport) {}

  listProcessInstances(query: HistoricProcessInstanceQuery): Promise<HalPage<HistoricProcessInstance>> {
    return sendForList(
      this.transport,
      listHistoricProcessInstancesRequest(query),
      HISTORIC_PROCESS_INSTANCES,
      historicProcessInstanceSchema,
    );
  }

  async getProcessInstance(
    id: string,
    options: { includeProcessVariables?: boolean; includeProcessComments?: boolean } = {},
  ): Promise<HistoricProcessInstance | null> {
    try {
      return await sendFor(
        this.transport,
        getHistoricProcessInstanceRequest(id, options),
        historicProcessInstanceSchema,
      );
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  }

  listTaskInstances(query: HistoricTaskInstanceQuery): Promise<HalPage<HistoricTaskInstance>> {
    return sendForList(
      this.transport,
      listHistoricTaskInstancesRequest(query),
      HISTORIC_TASK_INSTANCES,
      historicTaskInstanceSchema,
    );
  }

  /**
   * Every task completed strictly after `watermark`, oldest completion first, all pages, with the
   * process variables (the `<key>Outcome` values) — the poller's change feed. Completions in the
   * same millisecond as the watermark are not returned, so the poller reads from a little before
   * its watermark and drops task ids it has applied (exactly once is the poller's store's job).
   */
  async completedTasksSince(
    watermark: Date,
    { processDefinitionKey, count = DEFAULT_COUNT }: { processDefinitionKey?: string; count?: number } = {},
  ): Promise<HistoricTaskInstance[]> {
    const all = await readAll(
      (paging) =>
        this.listTaskInstances({
          finished: true,
          taskCompletedAfter: watermark,
          processDefinitionKey,
          includeProcessVariables: true,
          includeTaskLocalVariables: true,
          sort: 'endTime',
          order: 'asc',
          ...paging,
        }),
      { count },
    );
    // The server's sort key is [I]: order here too, so the feed is oldest first whatever it did.
    return all.sort(byEndTime);
  }

  /** Every process instance finished strictly after `watermark`, with its variables, all pages. */
  async finishedProcessesSince(
    watermark: Date,
    { processDefinitionKey, count = DEFAULT_COUNT }: { processDefinitionKey?: string; count?: number } = {},
  ): Promise<HistoricProcessInstance[]> {
    const all = await readAll(
      (paging) =>
        this.listProcessInstances({
          finished: true,
          finishedAfter: watermark,
          processDefinitionKey,
          includeProcessVariables: true,
          sort: 'endTime',
          order: 'asc',
          ...paging,
        }),
      { count },
    );
    return all.sort(byEndTime);
  }

  /** The history of one task: who completed it and when; `null` while it is still open or unknown. */
  async completedTask(taskId: string): Promise<HistoricTaskInstance | null> {
    const page = await this.listTaskInstances({
      taskId,
      finished: true,
      includeProcessVariables: true,
      count: 1,
    });
    return page.items[0] ?? null;
  }

  /** A case's task history (who, when, outcome), oldest first. */
  async tasksOfProcess(processInstanceId: string): Promise<HistoricTaskInstance[]> {
    return readAll((paging) =>
      this.listTaskInstances({
        processInstanceId,
        includeProcessVariables: true,
        includeTaskLocalVariables: true,
        sort: 'startTime',
        order: 'asc',
        ...paging,
      }),
    );
  }
}
