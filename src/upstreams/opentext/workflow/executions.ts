/** Executions API (reference §7.7): the waiting execution of an instance, and message / signal / trigger. */
import { z } from 'zod';
import { send, sendForList, type HalPage, type RestVariableInput } from './rest.js';
import { segment, type WorkflowRequest, type WorkflowTransport } from './transport.js';
import { WorkflowProtocolError } from './errors.js';

export const executionSchema = z.looseObject({
  id: z.string(),
  parentId: z.string().nullish(),
  /** The activity it waits in (the catch event's or receive task's id); null on the root execution. */
  activityId: z.string().nullish(),
  processInstanceId: z.string().nullish(),
  superExecutionId: z.string().nullish(),
  suspended: z.boolean().nullish(),
  tenantId: z.string().nullish(),
});
export type WorkflowExecution = z.infer<typeof executionSchema>;

export type ExecutionAction =
  | { readonly action: 'messageEventReceived'; readonly messageName: string }
  | { readonly action: 'signalEventReceived'; readonly signalName: string }
  | { readonly action: 'trigger' };

export function listExecutionsRequest(processInstanceId: string): WorkflowRequest {
  return {
    base: 'service',
    method: 'GET',
    path: '/process-instances/executions',
    query: { processInstanceId },
    idempotent: true,
  };
}

export function executionActionRequest(
  executionId: string,
  action: ExecutionAction,
  variables: readonly RestVariableInput[] = [],
): WorkflowRequest {
  return {
    base: 'service',
    method: 'PUT',
    path: `/process-instances/executions/${segment(executionId)}`,
    body: { ...action, variables },
    // A repeated message would be refused (no subscription any more) or, worse, delivered to a
    // later catch event of the same name: never repeat blindly.
    idempotent: false,
  };
}

export class ExecutionsApi {
  constructor(private readonly transport: WorkflowTransport) {}

  list(processInstanceId: string): Promise<HalPage<WorkflowExecution>> {
    return sendForList(
      this.transport,
      listExecutionsRequest(processInstanceId),
      'executions',
      executionSchema,
    );
  }

  /**
   * Sends the action; the execution as it is afterwards (200), or `null` when the action ended it
   * (Flowable's 204).
   */
  async act(
    executionId: string,
    action: ExecutionAction,
    variables: readonly RestVariableInput[] = [],
  ): Promise<WorkflowExecution | null> {
    const request = executionActionRequest(executionId, action, variables);
    const body = await send(this.transport, request);
    if (body === undefined || body === '') return null;
    const parsed = executionSchema.safeParse(body);
    if (!parsed.success)
      throw new WorkflowProtocolError(`unexpected execution: ${parsed.error.message}`, request);
    return parsed.data;
  }
}

/** The execution that waits in an activity (ALP picks the one with a `parentId`, the child). */
export function waitingExecution(
  executions: readonly WorkflowExecution[],
  activityId?: string,
): WorkflowExecution | undefined {
  return executions.find(
    (execution) => execution.parentId && (activityId === undefined || execution.activityId === activityId),
  );
}
