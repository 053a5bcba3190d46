/**
 * Errors of the OpenText connectors, typed so that the graph can answer each as the contract
 * says without parsing messages:
 * - `UpstreamUnavailableError`: the upstream cannot be used now (open circuit, timeouts,
 *   connection errors, 5xx, throttling that outlasted the retries). The graph answers
 *   `UPSTREAM_UNAVAILABLE` with its `retryAfterSec` (`toGraphQLError`); generation turns it into
 *   a retry, then an `UPSTREAM_UNAVAILABLE` exception.
 * - `OpenTextAuthError`: OTDS refused our client, or a call stayed 401 after a fresh token, or
 *   the client lacks a permission (403). A deployment fault, not the caller's: logged in full,
 *   masked to clients.
 * - `UpstreamProtocolError`: the upstream answered something this connector does not
 *   understand (a shape drifted from the one typed in the API module). Logged in full.
 * API modules add their own errors for the upstream's considered answers (data errors,
 * template errors, invalid state transitions).
 */
import { ErrorCode, GraphQLErrorWithCode } from '../../errors/index.js';

export type UpstreamName = 'otds' | 'exstream' | 'workflow';

export type UnavailableReason =
  /** The circuit is open: the call was not attempted. */
  | 'circuit-open'
  | 'timeout'
  | 'connection'
  /** A 5xx answer. */
  | 'server-error'
  /** 429 after the retries, or a Retry-After longer than we wait. */
  | 'throttled';

export class UpstreamUnavailableError extends Error {
  constructor(
    readonly upstream: UpstreamName,
    readonly reason: UnavailableReason,
    /** Seconds after which trying again makes sense (Retry-After, or the circuit's remaining open time). */
    readonly retryAfterSec: number,
    /**
     * False when the upstream certainly did not act on the call (circuit open, connection
     * refused, 429): a non-idempotent call may be sent again. True when it may have acted
     * (a timeout or reset after the request was sent, a 5xx): look before repeating it.
     */
    readonly mayHaveReachedUpstream: boolean,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamUnavailableError';
  }

  /** The graph's answer: UPSTREAM_UNAVAILABLE, HTTP 503 with Retry-After at the gateway. */
  toGraphQLError(): GraphQLErrorWithCode {
    return new GraphQLErrorWithCode(
      `${upstreamLabel(this.upstream)} is unavailable; try again in ${this.retryAfterSec} s`,
      ErrorCode.UPSTREAM_UNAVAILABLE,
      {
        upstream: this.upstream,
        retryAfter: this.retryAfterSec,
        // Read by Apollo Server for the HTTP status and headers, then removed from the body.
        http: { status: 503, headers: new Map([['retry-after', String(this.retryAfterSec)]]) },
      },
    );
  }
}

export class OpenTextAuthError extends Error {
  constructor(
    readonly upstream: UpstreamName,
    readonly status: number,
    message: string,
    /** The OAuth `error` code or gateway fault code, when the answer carried one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'OpenTextAuthError';
  }
}

export class UpstreamProtocolError extends Error {
  constructor(
    readonly upstream: UpstreamName,
    readonly operation: string,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${message}`, options);
    this.name = 'UpstreamProtocolError';
  }
}

export function upstreamLabel(name: UpstreamName): string {
  switch (name) {
    case 'otds':
      return 'OpenText Directory Services';
    case 'exstream':
      return 'OpenText Exstream';
    case 'workflow':
      return 'OpenText Workflow Service';
  }
}
