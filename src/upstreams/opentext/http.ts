/**
 * One HTTP client per OpenText upstream, with one resilience policy built from cockatiel:
 *
 *   retry (per call) → circuit breaker (per upstream) → timeout (per attempt) → fetch
 *
 * - Timeout: every attempt, body included, runs under cockatiel's cooperative timeout, whose
 *   AbortSignal is handed to fetch, so a slow upstream's socket is closed, not left hanging.
 * - Retry: 429, 502, 503, 504, timeouts and connection errors are afterRefresh with exponential
 *   backoff and jitter (cockatiel's decorrelated jitter), honouring `Retry-After`. A
 *   `Retry-After` longer than `maxRetryAfterMs` is not waited for: the call fails at once with
 *   that figure, for the caller to pass on.
 * - Idempotency is explicit on every call. A call that is not idempotent (POST generate, start
 *   a process, complete a task) is repeated only when the upstream certainly did not act on it:
 *   the connection was refused, or it answered 429 (or 401, see below). Otherwise the error says
 *   `mayHaveReachedUpstream` and the API module looks before trying again.
 * - Circuit breaker: consecutive outage failures (timeouts, connection errors, 5xx) open the
 *   upstream's circuit; while open, calls fail at once with `UpstreamUnavailableError`
 *   (`circuit-open`, with the remaining open time as `retryAfterSec`); after `breakerHalfOpenMs`
 *   one trial call goes through and its outcome closes or reopens the circuit. Throttling (429)
 *   and considered answers (4xx, an engine's error envelope) do not count.
 * - Authentication: a 401 (and, on Exstream, a 500 that may be an expired token: the
 *   contract's SDK caveat) makes the token source refresh once and the call run once more.
 *
 * The health registry follows every call: `up` on an answer, `down`/`half-open` with the
 * circuit, `unauthorized` when a fresh token is refused.
 */
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IBackoff,
  type IRetryBackoffContext,
} from 'cockatiel';
import type { ResilienceConfig } from '../../config/opentext.js';
import { log } from '../../logger.js';
import {
  OpenTextAuthError,
  UpstreamUnavailableError,
  upstreamLabel,
  type UnavailableReason,
  type UpstreamName,
} from './errors.js';
import type { CircuitName, UpstreamHealth } from './health.js';

/** A bearer token and what we know of its life (our clock). */
export interface AccessToken {
  readonly value: string;
  readonly obtainedAt: number;
  readonly expiresAt: number;
}

/** Where an upstream client gets its bearer token (src/upstreams/opentext/otds.ts). */
export interface TokenSource {
  token(): Promise<AccessToken>;
  /** The upstream refused this token: drop it (if still cached) so that the next `token()` fetches a new one. */
  invalidate(token: AccessToken): void;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export type RequestBody =
  { json: unknown } | { form: Record<string, string> } | { raw: Buffer | string; contentType: string };

export interface UpstreamRequest {
  /** Names the call in logs and errors, e.g. `design.changeState`. */
  operation: string;
  method: HttpMethod;
  /** Appended to the client's base URL; already encoded. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Whether sending the call twice is harmless. Required: there is no default. */
  idempotent: boolean;
  timeoutMs?: number;
  /**
   * A 5xx answer that is the upstream's considered answer about this call (an Exstream engine
   * error envelope), not an outage: returned to the caller, not afterRefresh, not counted by the
   * breaker.
   */
  isApplicationError?: (status: number, body: Buffer) => boolean;
  signal?: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  text(): string;
  /** The body parsed as JSON; `undefined` when it is empty or not JSON. */
  json(): unknown;
}

export interface UpstreamClientOptions {
  name: UpstreamName;
  /**
   * The circuit (and /readyz entry) this client's calls count towards; `name` by default. A
   * service of an upstream that fails on its own gets its own circuit, so its outage does not
   * refuse calls to the others (Exstream Design vs Orchestration).
   */
  circuit?: CircuitName;
  baseUrl: string;
  resilience: ResilienceConfig;
  health: UpstreamHealth;
  /** Absent for the token endpoint itself. */
  tokens?: TokenSource;
  /**
   * Exstream only: a 500 may mean an expired token (OpenText SDK README). A 500 on a call whose
   * token is past its expiry time, or has been in use for `suspectTokenAfterMs`, makes the
   * token refresh once and the call run once more.
   */
  expiredTokenMayAnswer500?: boolean;
  suspectTokenAfterMs?: number;
  /** A longer Retry-After is not waited for (default 30 s). */
  maxRetryAfterMs?: number;
  /** Retry-After when the upstream gives none and the circuit is closed (default 5 s). */
  defaultRetryAfterSec?: number;
  now?: () => number;
}

/** What went wrong in one attempt, for the policies to decide on. */
class AttemptFailure extends Error {
  constructor(
    readonly reason: UnavailableReason,
    /** The upstream may have acted on the call. */
    readonly reachedUpstream: boolean,
    /** Counts towards opening the circuit. */
    readonly breaks: boolean,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AttemptFailure';
  }
}

/** The upstream refused the token: 401, or a 500 that may mean the same (see above). */
class TokenRefused extends Error {
  constructor(
    readonly status: number,
    readonly response: UpstreamResponse,
  ) {
    super(`token refused with ${status}`);
    this.name = 'TokenRefused';
  }
}

const RETRIED_STATUSES = new Set([429, 502, 503, 504]);
/** Failures before a request was written: the upstream cannot have acted on it. */
const CONNECT_PHASE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(err: unknown): string | undefined {
  // fetch wraps the socket error: TypeError('fetch failed', { cause: { code } }).
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function makeResponse(status: number, headers: Headers, body: Buffer): UpstreamResponse {
  return {
    status,
    headers,
    body,
    text: () => body.toString('utf8'),
    json: () => {
      if (body.length === 0) return undefined;
      try {
        return JSON.parse(body.toString('utf8')) as unknown;
      } catch {
        return undefined;
      }
    },
  };
}

function encodeBody(body: RequestBody | undefined): { payload?: string | Buffer; contentType?: string } {
  if (!body) return {};
  if ('json' in body) return { payload: JSON.stringify(body.json), contentType: 'application/json' };
  if ('form' in body)
    return {
      payload: new URLSearchParams(body.form).toString(),
      contentType: 'application/x-www-form-urlencoded',
    };
  return { payload: body.raw, contentType: body.contentType };
}

export class UpstreamClient {
  readonly name: UpstreamName;
  readonly circuit: CircuitName;
  readonly #options: UpstreamClientOptions;
  readonly #breaker: CircuitBreakerPolicy;
  readonly #now: () => number;
  #openedAt = 0;

  constructor(options: UpstreamClientOptions) {
    this.name = options.name;
    this.circuit = options.circuit ?? options.name;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    options.health.register(this.circuit);
    this.#breaker = circuitBreaker(
      handleWhen((e) => e instanceof AttemptFailure && e.breaks),
      {
        halfOpenAfter: options.resilience.breakerHalfOpenMs,
        breaker: new ConsecutiveBreaker(options.resilience.breakerThreshold),
      },
    );
    this.#breaker.onBreak(() => {
      this.#openedAt = this.#now();
      options.health.set(this.circuit, 'down');
      log.warn('upstream circuit opened', { upstream: this.name, circuit: this.circuit });
    });
    this.#breaker.onHalfOpen(() => options.health.set(this.circuit, 'half-open'));
    this.#breaker.onReset(() => {
      options.health.set(this.circuit, 'up');
      log.info('upstream circuit closed', { upstream: this.name, circuit: this.circuit });
    });
  }

  get circuitState(): 'closed' | 'open' | 'half-open' | 'isolated' {
    switch (this.#breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.Open:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half-open';
      case CircuitState.Isolated:
        return 'isolated';
    }
  }

  /**
   * Sends one call under the policy. Resolves with any answer the API module has to interpret
   * (2xx, 4xx other than 401 and 429, an application-error 5xx); rejects with
   * `UpstreamUnavailableError` or `OpenTextAuthError` otherwise.
   */
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const tokens = this.#options.tokens;
    const first = tokens ? await tokens.token() : undefined;
    try {
      return await this.#send(req, first);
    } catch (err) {
      if (!(err instanceof TokenRefused) || !tokens || !first) throw err;
      // Refresh once and repeat once: the upstream did not act on a call it refused.
      tokens.invalidate(first);
      const second = await tokens.token();
      log.info('upstream refused the token; refreshed it and repeating the call once', {
        upstream: this.name,
        operation: req.operation,
        status: err.status,
      });
      try {
        return await this.#send(req, second, true);
      } catch (again) {
        if (!(again instanceof TokenRefused)) throw again;
        this.#options.health.set(this.circuit, 'unauthorized');
        throw new OpenTextAuthError(
          this.name,
          401,
          `${upstreamLabel(this.name)} refused a freshly issued token (${req.operation}): check the OAuth client's access`,
        );
      }
    }
  }

  async #send(
    req: UpstreamRequest,
    token: AccessToken | undefined,
    afterRefresh = false,
  ): Promise<UpstreamResponse> {
    const r = this.#options.resilience;
    const expo = new ExponentialBackoff({ initialDelay: r.backoffInitialMs, maxDelay: r.backoffMaxMs });
    const maxRetryAfterMs = this.#options.maxRetryAfterMs ?? 30_000;
    const backoff = new DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown>>((ctx, state) => {
      const next = state ? state.next(ctx) : expo.next();
      const failure = 'error' in ctx.result ? ctx.result.error : undefined;
      const retryAfterMs = failure instanceof AttemptFailure ? failure.retryAfterMs : undefined;
      return { delay: retryAfterMs ?? next.duration, state: next };
    });
    const retryPolicy = retry(
      handleWhen(
        (e) =>
          e instanceof AttemptFailure &&
          (e.status === undefined || RETRIED_STATUSES.has(e.status)) &&
          (req.idempotent || !e.reachedUpstream) &&
          (e.retryAfterMs === undefined || e.retryAfterMs <= maxRetryAfterMs),
      ),
      { maxAttempts: r.maxAttempts - 1, backoff },
    );
    retryPolicy.onRetry((event) => {
      const error = 'error' in event ? event.error : undefined;
      log.debug('retrying an upstream call', {
        upstream: this.name,
        operation: req.operation,
        attempt: event.attempt,
        delayMs: Math.round(event.delay),
        reason: error instanceof AttemptFailure ? error.message : undefined,
      });
    });
    const timeoutPolicy = timeout(req.timeoutMs ?? r.timeoutMs, TimeoutStrategy.Cooperative);
    const policy = wrap(retryPolicy, this.#breaker, timeoutPolicy);
    try {
      const response = await policy.execute(
        ({ signal }) => this.#attempt(req, token, signal, afterRefresh),
        req.signal,
      );
      this.#options.health.set(this.circuit, 'up');
      return response;
    } catch (err) {
      if (err instanceof TokenRefused) throw err;
      throw this.#unavailable(err, req);
    }
  }

  async #attempt(
    req: UpstreamRequest,
    token: AccessToken | undefined,
    signal: AbortSignal,
    afterRefresh: boolean,
  ): Promise<UpstreamResponse> {
    const url = new URL(this.#options.baseUrl + req.path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const { payload, contentType } = encodeBody(req.body);
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (contentType) headers['content-type'] = contentType;
    if (token) headers.authorization = `Bearer ${token.value}`;
    const sentAt = this.#now();
    let status: number;
    let responseHeaders: Headers;
    let body: Buffer;
    try {
      const res = await fetch(url, { method: req.method, headers, body: payload, signal });
      status = res.status;
      responseHeaders = res.headers;
      body = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      if (signal.aborted) {
        throw new AttemptFailure(
          'timeout',
          true,
          true,
          `no answer within the timeout`,
          undefined,
          undefined,
          {
            cause: err,
          },
        );
      }
      const code = errorCode(err);
      const beforeSend = code !== undefined && CONNECT_PHASE_CODES.has(code);
      throw new AttemptFailure(
        'connection',
        !beforeSend,
        true,
        `connection failed (${code ?? (err as Error).message})`,
        undefined,
        undefined,
        { cause: err },
      );
    }
    const response = makeResponse(status, responseHeaders, body);
    if (status === 401 && token) throw new TokenRefused(status, response);
    if (status >= 500 && req.isApplicationError?.(status, body)) return response;
    if (
      status === 500 &&
      token &&
      !afterRefresh &&
      this.#options.expiredTokenMayAnswer500 &&
      (sentAt >= token.expiresAt ||
        sentAt - token.obtainedAt >= (this.#options.suspectTokenAfterMs ?? 60_000))
    ) {
      throw new TokenRefused(status, response);
    }
    if (status === 429 || RETRIED_STATUSES.has(status) || status >= 500) {
      const retryAfterMs = parseRetryAfter(responseHeaders.get('retry-after'), this.#now());
      throw new AttemptFailure(
        status === 429 ? 'throttled' : 'server-error',
        // 429: the upstream declined the call without acting on it.
        status !== 429,
        status !== 429,
        `answered ${status}`,
        status,
        RETRIED_STATUSES.has(status) ? retryAfterMs : undefined,
      );
    }
    return response;
  }

  #unavailable(err: unknown, req: UpstreamRequest): Error {
    const label = `${upstreamLabel(this.name)} (${req.operation})`;
    const defaultRetry = this.#options.defaultRetryAfterSec ?? 5;
    if (err instanceof BrokenCircuitError) {
      const remainingMs = this.#openedAt + this.#options.resilience.breakerHalfOpenMs - this.#now();
      return new UpstreamUnavailableError(
        this.name,
        'circuit-open',
        Math.max(1, Math.ceil(remainingMs / 1000)),
        false,
        `${label}: circuit open after repeated failures`,
        undefined,
        { cause: err },
      );
    }
    if (err instanceof AttemptFailure) {
      const retryAfterSec =
        err.retryAfterMs !== undefined ? Math.max(1, Math.ceil(err.retryAfterMs / 1000)) : defaultRetry;
      return new UpstreamUnavailableError(
        this.name,
        err.reason,
        retryAfterSec,
        err.reachedUpstream,
        `${label}: ${err.message}`,
        err.status,
        { cause: err.cause ?? err },
      );
    }
    if (err instanceof TaskCancelledError) {
      return new UpstreamUnavailableError(
        this.name,
        'timeout',
        defaultRetry,
        true,
        `${label}: timed out`,
        undefined,
        {
          cause: err,
        },
      );
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}
