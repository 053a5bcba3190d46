/**
 * Workflow Service errors, typed by what the caller can do about them.
 *
 * The body is Flowable's `ErrorInfo`, `{"message":"Not found","exception":"Could not find a task
 * with id '444'."}` (reference §7.13, verified in Flowable's source and read by OpenText's demo app);
 * other OpenText layers (the API gateway) may answer other bodies, so the parser takes what it
 * finds and never fails on a body it does not know. The status map is Flowable's
 * `BaseExceptionHandlerAdvice`: 400 bad request or illegal state, 403 forbidden, 404 not found,
 * 409 conflict or already claimed; 401 comes from the gateway [I].
 */
import { ErrorCode, GraphQLErrorWithCode, upstreamUnavailable } from '../../../errors/index.js';
import type { WorkflowRequest } from './transport.js';

export interface WorkflowErrorBody {
  /** Flowable's short text: `Bad request`, `Not found`, `Task was already claimed`... */
  readonly message: string | null;
  /** The detail, e.g. `Could not find a task with id '444'.` */
  readonly exception: string | null;
}

/** Reads `{message, exception}`, or the gateway's `{fault:{faultstring}}`, or a plain text body. */
export function parseErrorBody(body: unknown): WorkflowErrorBody {
  if (typeof body === 'string') return { message: body.slice(0, 500) || null, exception: null };
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    const fault = record.fault as Record<string, unknown> | undefined;
    if (fault && typeof fault === 'object') return { message: text(fault.faultstring), exception: null };
    return {
      message: text(record.message) ?? text(record.error),
      exception: text(record.exception) ?? text(record.details) ?? text(record.error_description),
    };
  }
  return { message: null, exception: null };
}

/** Any answer of the Workflow Service that is not a success. */
export class WorkflowApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: WorkflowErrorBody,
    readonly request: Pick<WorkflowRequest, 'base' | 'method' | 'path'>,
  ) {
    super(
      `Workflow Service ${request.method} ${request.path} answered ${status}: ` +
        (body.exception ?? body.message ?? 'no detail'),
    );
    this.name = new.target.name;
  }

  /** The most specific text the server gave, for a client-facing reason. */
  get detail(): string {
    return this.body.exception ?? this.body.message ?? `status ${this.status}`;
  }
}

/** 400: a bad body, a missing assignee, an unknown process definition key, an illegal state. */
export class WorkflowBadRequestError extends WorkflowApiError {}
/** 401 after the transport's own refresh-and-retry: the OAuth client is not accepted. */
export class WorkflowUnauthorizedError extends WorkflowApiError {}
/** 403: e.g. the process initiator may not complete the task. */
export class WorkflowForbiddenError extends WorkflowApiError {}
/** 404: unknown id, or a task already completed / a process already finished (they move to history). */
export class WorkflowNotFoundError extends WorkflowApiError {}
/** 409: the task was already claimed by another user, a variable already exists, or a concurrent update. */
export class WorkflowConflictError extends WorkflowApiError {
  /** Flowable's claim refusal, as opposed to another conflict. */
  get alreadyClaimed(): boolean {
    return /already claimed/i.test(`${this.body.message ?? ''} ${this.body.exception ?? ''}`);
  }
}
/** 5xx and anything else unexpected: the service failed, not the request. */
export class WorkflowServerError extends WorkflowApiError {}

/** A 2xx whose body is not the documented shape (the inferred shapes of reference §13 live here). */
export class WorkflowProtocolError extends Error {
  constructor(
    message: string,
    readonly request: Pick<WorkflowRequest, 'base' | 'method' | 'path'>,
  ) {
    super(`Workflow Service ${request.method} ${request.path}: ${message}`);
    this.name = 'WorkflowProtocolError';
  }
}

export function workflowError(status: number, body: unknown, request: WorkflowRequest): WorkflowApiError {
  const parsed = parseErrorBody(body);
  switch (status) {
    case 400:
      return new WorkflowBadRequestError(status, parsed, request);
    case 401:
      return new WorkflowUnauthorizedError(status, parsed, request);
    case 403:
      return new WorkflowForbiddenError(status, parsed, request);
    case 404:
      return new WorkflowNotFoundError(status, parsed, request);
    case 409:
      return new WorkflowConflictError(status, parsed, request);
    default:
      return new WorkflowServerError(status, parsed, request);
  }
}

/**
 * The graph's answer to a Workflow Service refusal of a decision (issue 11 point 3): a refusal the
 * user can act on is `CONFLICT` or `FORBIDDEN` with the server's reason; anything else means the
 * service is not usable now, `UPSTREAM_UNAVAILABLE`. Errors that are not Workflow Service answers
 * (transport errors, an open breaker) are the transport's to map and are returned unchanged.
 */
export function toGraphQLError(error: unknown): unknown {
  const refused = (code: ErrorCode, message: string, reason: string) =>
    new GraphQLErrorWithCode(message, code, { reason });
  if (error instanceof WorkflowConflictError) {
    return error.alreadyClaimed
      ? refused(
          ErrorCode.CONFLICT,
          'The task is already claimed by another user in Workflow Service',
          'TASK_ALREADY_CLAIMED',
        )
      : refused(
          ErrorCode.CONFLICT,
          `Workflow Service refused the change: ${error.detail}`,
          'WORKFLOW_CONFLICT',
        );
  }
  if (error instanceof WorkflowForbiddenError) {
    return refused(
      ErrorCode.FORBIDDEN,
      `Workflow Service refused the change: ${error.detail}`,
      'WORKFLOW_FORBIDDEN',
    );
  }
  if (error instanceof WorkflowBadRequestError) {
    // The graph validated the input before calling, so a 400 is about the task's state, not the input.
    return refused(
      ErrorCode.CONFLICT,
      `Workflow Service refused the change: ${error.detail}`,
      'WORKFLOW_REFUSED',
    );
  }
  if (error instanceof WorkflowNotFoundError) {
    // A task completed in OpenText's own UI meanwhile has left the runtime API.
    return refused(
      ErrorCode.CONFLICT,
      `The Workflow Service task or process no longer exists: ${error.detail}`,
      'WORKFLOW_NOT_FOUND',
    );
  }
  if (error instanceof WorkflowApiError || error instanceof WorkflowProtocolError) {
    return upstreamUnavailable('Workflow Service is unavailable');
  }
  return error;
}
