/** Process instance variables API (reference §7.5). */
import { WorkflowNotFoundError } from './errors.js';
import {
  DEFAULT_COUNT,
  restVariableSchema,
  send,
  sendFor,
  sendForList,
  type HalPage,
  type Paging,
  type RestVariable,
  type RestVariableInput,
} from './rest.js';
import { segment, type WorkflowRequest, type WorkflowTransport } from './transport.js';

const base = (processInstanceId: string) => `/process-instances/${segment(processInstanceId)}/variables`;

export function listVariablesRequest(processInstanceId: string, paging: Paging = {}): WorkflowRequest {
  return {
    base: 'service',
    method: 'GET',
    path: base(processInstanceId),
    query: { offset: paging.offset ?? 0, count: paging.count ?? DEFAULT_COUNT },
    idempotent: true,
  };
}

/** `GET …/variables/{name}`: Flowable has it; no OpenText source calls it [I]. */
export function getVariableRequest(processInstanceId: string, name: string): WorkflowRequest {
  return {
    base: 'service',
    method: 'GET',
    path: `${base(processInstanceId)}/${segment(name)}`,
    idempotent: true,
  };
}

/** `PUT …/variables/{name}`: sets one variable (creates or replaces). */
export function putVariableRequest(processInstanceId: string, variable: RestVariableInput): WorkflowRequest {
  return {
    base: 'service',
    method: 'PUT',
    path: `${base(processInstanceId)}/${segment(variable.name)}`,
    body: variable,
    idempotent: true,
  };
}

/** `POST …/variables` with an array: creates variables (Flowable answers 409 if one exists). */
export function createVariablesRequest(
  processInstanceId: string,
  variables: readonly RestVariableInput[],
): WorkflowRequest {
  return {
    base: 'service',
    method: 'POST',
    path: base(processInstanceId),
    body: variables,
    idempotent: false,
  };
}

export class VariablesApi {
  constructor(private readonly transport: WorkflowTransport) {}

  list(processInstanceId: string, paging: Paging = {}): Promise<HalPage<RestVariable>> {
    return sendForList(
      this.transport,
      listVariablesRequest(processInstanceId, paging),
      'variables',
      restVariableSchema,
    );
  }

  async get(processInstanceId: string, name: string): Promise<RestVariable | null> {
    try {
      return await sendFor(this.transport, getVariableRequest(processInstanceId, name), restVariableSchema);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  }

  put(processInstanceId: string, variable: RestVariableInput): Promise<RestVariable> {
    return sendFor(this.transport, putVariableRequest(processInstanceId, variable), restVariableSchema);
  }

  async create(processInstanceId: string, variables: readonly RestVariableInput[]): Promise<void> {
    await send(this.transport, createVariablesRequest(processInstanceId, variables));
  }
}
