/**
 * The one seam between the Workflow Service API modules and HTTP.
 *
 * The modules here build requests and parse responses; they never open a socket. The connector
 * adapts the resilient client of the OpenText upstreams (OTDS bearer token, timeouts, retries,
 * circuit breaker) to this interface, and the contract tests adapt plain `fetch`. Keeping the seam
 * this small is what lets the same modules run against the real service and the fake.
 */

/** Which of the two base URLs a path is relative to: `WORKFLOW_SERVICE_URL` or `WORKFLOW_HISTORY_URL`. */
export type WorkflowBase = 'service' | 'history';

export type WorkflowMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export type QueryValue = string | number | boolean | Date | undefined;

export interface WorkflowRequest {
  readonly base: WorkflowBase;
  readonly method: WorkflowMethod;
  /** Path after the base URL, starting with `/`, path segments already encoded. */
  readonly path: string;
  /** Query parameters; `undefined` ones are left out, dates are sent as ISO-8601 (see {@link encodeQuery}). */
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** A JSON body (sent with `Content-Type: application/json`), or undefined for none. */
  readonly body?: unknown;
  /**
   * Whether the transport may repeat the call on a timeout, a connection error or a 429/502/503/504.
   * False for calls that change state in a way a blind repeat could duplicate (start a process,
   * complete a task, add a comment): their callers look up before they retry.
   */
  readonly idempotent: boolean;
}

export interface WorkflowResponse {
  readonly status: number;
  /** Response headers, names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The parsed JSON body; `undefined` when the body was empty; the raw text when it was not JSON. */
  readonly body: unknown;
}

/**
 * Sends one request. It resolves with any HTTP status (the modules map the error statuses); it
 * rejects only when no response was had (connection error, timeout, open breaker), with the
 * transport's own error, which the connector maps to `UPSTREAM_UNAVAILABLE`.
 */
export interface WorkflowTransport {
  send(request: WorkflowRequest): Promise<WorkflowResponse>;
}

/** The query string of a request (without `?`), for transports that build URLs. */
export function encodeQuery(query: WorkflowRequest['query']): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    params.append(name, value instanceof Date ? value.toISOString() : String(value));
  }
  return params.toString();
}

/** Encodes one path segment (an id from the server is opaque, not trusted to be URL-safe). */
export const segment = (value: string): string => encodeURIComponent(value);
