/**
 * The seams of the OpenText fake: what a request looks like to a module, who is calling, and
 * what a module answers. A module (Exstream design, on-demand, runtime; Workflow Service) is a
 * `FakeHandler`; the server authenticates the bearer token, applies injected faults and counts
 * the request before it calls the module (see README.md, "Plugging in a module").
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface FakeRequest {
  method: string;
  /** Path without the query, e.g. `/workflow/v1/tasks/123`. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names (node's). */
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON; throws `FakeHttpError(400)` when it is not JSON. */
  json<T = unknown>(): T;
}

/** Who the bearer token was issued to, resolved by the server's auth layer. */
export interface FakeCaller {
  /** The OAuth client id the token was issued to. */
  clientId: string;
  /** The token subject (`sub`): for a client_credentials token, the client's service account. */
  subject: string;
  /** OTDS groups of the subject (the `grp` claim). */
  groups: string[];
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer as is (set `content-type`). */
  body?: unknown;
  /** Fake-only: drop the connection without an answer (a module's own injected `reset` fault). */
  reset?: boolean;
}

export type FakeHandler = (req: FakeRequest, caller: FakeCaller) => FakeResponse | Promise<FakeResponse>;

/** Thrown by a module to answer an error without building the response itself. */
export class FakeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): FakeResponse => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body,
});

/** The Spring Boot error body Exstream answers most 4xx/5xx with (api-reference §6). */
export function springError(status: number, message: string, path: string, errorCode = 0): FakeResponse {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    406: 'Not Acceptable',
    409: 'Conflict',
    500: 'Internal Server Error',
  };
  return json(status, {
    timestamp: Date.now(),
    status,
    error: reasons[status] ?? 'Error',
    message,
    details: message,
    errorCode,
    path,
  });
}
