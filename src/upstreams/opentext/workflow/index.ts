/**
 * OpenText Workflow Service client modules: one per API, shapes typed once, requests built and
 * answers parsed here, HTTP left to a {@link WorkflowTransport}. `createWorkflowClient` gathers them.
 */
import { CommentsApi } from './comments.js';
import { ExecutionsApi } from './executions.js';
import { HistoryApi } from './history.js';
import { ProcessInstancesApi } from './process-instances.js';
import { TasksApi } from './tasks.js';
import type { WorkflowTransport } from './transport.js';
import { VariablesApi } from './variables.js';

export * from './comments.js';
export * from './errors.js';
export * from './executions.js';
export * from './history.js';
export * from './process-instances.js';
export * from './rest.js';
export * from './tasks.js';
export * from './transport.js';
export * from './variables.js';

export interface WorkflowClient {
  readonly processes: ProcessInstancesApi;
  readonly tasks: TasksApi;
  readonly history: HistoryApi;
  readonly variables: VariablesApi;
  readonly comments: CommentsApi;
  readonly executions: ExecutionsApi;
}

export function createWorkflowClient(transport: WorkflowTransport): WorkflowClient {
  return {
    processes: new ProcessInstancesApi(transport),
    tasks: new TasksApi(transport),
    history: new HistoryApi(transport),
    variables: new VariablesApi(transport),
    comments: new CommentsApi(transport),
    executions: new ExecutionsApi(transport),
  };
}
export * from './upstream-transport.js';
