/**
 * Process instances API (reference §7.1–7.4): start, get, list, suspend/activate, delete, and the
 * idempotent start of a case's process that the connector uses.
 */
import { z } from 'zod';
import { commentSchema } from './comments.js';
import { WorkflowNotFoundError } from './errors.js';
import type { HistoryApi } from './history.js';
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
 * A runtime process instance. Fields as listed for "Get a process instance" [V:page]; the start
 * answer is assumed to be the same shape [I]. `processDefinitionId` and `processDefinitionKey` are
 * Flowable's `ProcessInstanceResponse` fields, not seen in OpenText's samples [I].
 */
export const processInstanceSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  businessKey: z.string().nullish(),
  processDefinitionId: z.string().nullish(),
  processDefinitionKey: z.string().nullish(),
  processDefinitionName: z.string().nullish(),
  startTime: dateString,
  startUserId: z.string().nullish(),
  /** The activity the instance waits in, where the server reports one. */
  activityId: z.string().nullish(),
  suspended: z.boolean().nullish(),
  ended: z.boolean().nullish(),
  completed: z.boolean().nullish(),
  tenantId: z.string().nullish(),
  dueDate: dateString,
  comments: z.array(commentSchema).nullish(),
  variables: z.array(restVariableSchema).nullish(),
});
export type ProcessInstance = z.infer<typeof processInstanceSchema>;

export interface StartProcessInstance {
  readonly processDefinitionKey: string;
  readonly businessKey: string;
  /** The instance's display name in OpenText's UI. */
  readonly name?: string;
  readonly variables: readonly RestVariableInput[];
}

export interface ProcessInstanceQuery extends Paging {
  readonly businessKey?: string;
  readonly processDefinitionKey?: string;
  readonly includeProcessVariables?: boolean;
  readonly sort?: string;
  readonly order?: 'asc' | 'desc';
}

// ------------------------------------------------------------------------------- request builders

/** `POST /process-instances`: started by key (exactly one of key, id or message is allowed). */
export function startProcessInstanceRequest(input: StartProcessInstance): WorkflowRequest {
  return {
    base: 'service',
    method: 'POST',
    path: '/process-instances',
    body: {
      processDefinitionKey: input.processDefinitionKey,
      businessKey: input.businessKey,
      ...(input.name === undefined ? {} : { name: input.name }),
      variables: input.variables,
      returnVariables: false,
    },
    // Not idempotent: businessKey is not unique-enforced (reference §7.1), so a blind repeat could
    // start a second instance. startCaseProcess looks up before it starts.
    idempotent: false,
  };
}

export function getProcessInstanceRequest(
  id: string,
  { includeProcessVariables = false }: { includeProcessVariables?: boolean } = {},
): WorkflowRequest {
  return {
    base: 'service',
    method: 'GET',
    path: `/process-instances/${segment(id)}`,
    query: { includeProcessVariables },
    idempotent: true,
  };
}

/** `GET /process-instances?businessKey=…`: the `businessKey` filter is Flowable's name [I]. */
export function listProcessInstancesRequest(query: ProcessInstanceQuery): WorkflowRequest {
  return {
    base: 'service',
    method: 'GET',
    path: '/process-instances',
    query: {
      businessKey: query.businessKey,
      processDefinitionKey: query.processDefinitionKey,
      includeProcessVariables: query.includeProcessVariables,
      sort: query.sort,
      order: query.order,
      offset: query.offset ?? 0,
      count: query.count ?? DEFAULT_COUNT,
    },
    idempotent: true,
  };
}

/** `PUT /process-instances/{id}` with `suspend` or `activate` (reference §7.4). */
export function setSuspendedRequest(id: string, suspended: boolean): WorkflowRequest {
  return {
    base: 'service',
    method: 'PUT',
    path: `/process-instances/${segment(id)}`,
    body: { action: suspended ? 'suspend' : 'activate' },
    idempotent: true,
  };
}

/** `DELETE /process-instances/{id}` terminates the instance (reference §7.4). */
export function deleteProcessInstanceRequest(id: string, deleteReason?: string): WorkflowRequest {
  return {
    base: 'service',
    method: 'DELETE',
    path: `/process-instances/${segment(id)}`,
    query: { deleteReason },
    idempotent: true,
  };
}

// ------------------------------------------------------------------------------------------- API

export class ProcessInstancesApi {
  constructor(private readonly transport: WorkflowTransport) {}

  /** Starts an instance. Prefer {@link startCaseProcess}, which never starts a second one. */
  start(input: StartProcessInstance): Promise<ProcessInstance> {
    return sendFor(this.transport, startProcessInstanceRequest(input), processInstanceSchema);
  }

  /** A running instance; `null` once it finished (it is then only in history) or when unknown. */
  async get(
    id: string,
    options: { includeProcessVariables?: boolean } = {},
  ): Promise<ProcessInstance | null> {
    try {
      return await sendFor(this.transport, getProcessInstanceRequest(id, options), processInstanceSchema);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  }

  list(query: ProcessInstanceQuery): Promise<HalPage<ProcessInstance>> {
    return sendForList(
      this.transport,
      listProcessInstancesRequest(query),
      'process-instances',
      processInstanceSchema,
    );
  }

  async setSuspended(id: string, suspended: boolean): Promise<ProcessInstance> {
    return sendFor(this.transport, setSuspendedRequest(id, suspended), processInstanceSchema);
  }

  async delete(id: string, deleteReason?: string): Promise<void> {
    await send(this.transport, deleteProcessInstanceRequest(id, deleteReason));
  }
}

// --------------------------------------------------------------------------- a case's process

/** What the contract says a case's process starts with (connected-mode contract, Workflow Service). */
export interface CaseProcessStart {
  /** `WORKFLOW_PROCESS_KEYS[kind]`. */
  readonly processDefinitionKey: string;
  readonly caseId: string;
  readonly caseKind: string;
  readonly title: string;
  readonly customerId?: string | null;
  readonly templateId?: string | null;
  readonly requestedBy: string;
  /** The case's approval stages in order, e.g. `["REVIEW","APPROVAL","COMPLIANCE"]`; empty where none. */
  readonly stages: readonly string[];
}

/** The start variables of a case's process: `stages` as type `json`, optional ones only when set. */
export function caseStartVariables(input: CaseProcessStart): RestVariableInput[] {
  const variables = [
    restVariable('caseId', input.caseId),
    restVariable('caseKind', input.caseKind),
    restVariable('title', input.title),
  ];
  if (input.customerId) variables.push(restVariable('customerId', input.customerId));
  if (input.templateId) variables.push(restVariable('templateId', input.templateId));
  variables.push(restVariable('requestedBy', input.requestedBy));
  // Always `json`, even when empty: the staged models index into it (`stages[stageIndex]`).
  variables.push({ name: 'stages', type: 'json', value: [...input.stages] });
  return variables;
}

export interface CaseProcessRef {
  readonly processInstanceId: string;
  readonly processDefinitionId: string | null;
  /** Whether this call started it (false: an earlier attempt had, and it was found). */
  readonly started: boolean;
  /** Whether the instance has already ended (e.g. a SERVICE case's, which ends at once). */
  readonly ended: boolean;
}

/**
 * Starts a case's process at most once: the case id is the `businessKey`, and an instance with it
 * (running, or already finished and so only in history) is found before another is started. A
 * retry after a timeout therefore finds the instance the first attempt started. Two concurrent
 * callers for one case are the caller's to exclude (the connector holds the case row's lock).
 */
export async function startCaseProcess(
  api: { processes: ProcessInstancesApi; history: HistoryApi },
  input: CaseProcessStart,
): Promise<CaseProcessRef> {
  const match = (definitionKey: string | null | undefined) =>
    definitionKey === undefined || definitionKey === null || definitionKey === input.processDefinitionKey;

  const running = await api.processes.list({
    businessKey: input.caseId,
    processDefinitionKey: input.processDefinitionKey,
    count: 10,
  });
  const live = running.items.find((instance) => match(instance.processDefinitionKey));
  if (live) {
    return {
      processInstanceId: live.id,
      processDefinitionId: live.processDefinitionId ?? null,
      started: false,
      ended: false,
    };
  }
  const past = await api.history.listProcessInstances({
    businessKey: input.caseId,
    processDefinitionKey: input.processDefinitionKey,
    count: 10,
  });
  const done = past.items[0];
  if (done) {
    return {
      processInstanceId: done.id,
      processDefinitionId: done.processDefinitionId ?? null,
      started: false,
      ended: done.endTime !== null && done.endTime !== undefined,
    };
  }
  const started = await api.processes.start({
    processDefinitionKey: input.processDefinitionKey,
    businessKey: input.caseId,
    name: input.title,
    variables: caseStartVariables(input),
  });
  return {
    processInstanceId: started.id,
    processDefinitionId: started.processDefinitionId ?? null,
    started: true,
    ended: started.ended === true,
  };
}
