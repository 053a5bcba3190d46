import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../errors/index.js';
import { sendError } from './http.js';

/** What a browser on an allowed origin may send (Apollo's CSRF headers included, so clients can preflight). */
export const CORS_ALLOWED_METHODS = 'GET, POST, OPTIONS';
export const CORS_ALLOWED_HEADERS =
  'content-type, authorization, apollo-require-preflight, x-apollo-operation-name';
/** How long a browser may reuse a preflight answer. */
export const CORS_MAX_AGE_SEC = 600;
/** A rate-limited browser client can only honour Retry-After if it may read it. */
export const CORS_EXPOSED_HEADERS = 'retry-after';

/**
 * Exact origins (scheme://host[:port]) allowed to call the API from a
 * browser. Empty means same-origin only: no CORS headers at all. No
 * wildcards and no credentials: the API takes bearer tokens, not cookies.
 */
export interface CorsPolicy {
  readonly origins: ReadonlySet<string>;
}

export function corsPolicy(origins: readonly string[]): CorsPolicy {
  return { origins: new Set(origins) };
}

function originOf(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  return typeof origin === 'string' && origin ? origin : undefined;
}

/**
 * Applies the policy to an HTTP request. Answers preflights itself (204 for
 * an allowed origin, 403 without CORS headers for any other) and returns
 * true when it did; otherwise it sets the headers of an allowed origin's
 * response and returns false.
 */
export function applyCors(policy: CorsPolicy, req: IncomingMessage, res: ServerResponse): boolean {
  const origin = originOf(req);
  // With an allow-list the answer depends on Origin, so shared caches must key on it.
  if (policy.origins.size) res.setHeader('vary', 'Origin');
  const allowed = origin !== undefined && policy.origins.has(origin);
  if (req.method === 'OPTIONS' && origin !== undefined) {
    // Any OPTIONS from a browser is a preflight here: the API has no other use for the method.
    if (!allowed) {
      sendError(res, 403, ErrorCode.FORBIDDEN, 'Origin not allowed');
      return true;
    }
    res.writeHead(204, {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': CORS_ALLOWED_METHODS,
      'access-control-allow-headers': CORS_ALLOWED_HEADERS,
      'access-control-max-age': String(CORS_MAX_AGE_SEC),
      'content-length': '0',
    });
    res.end();
    return true;
  }
  if (allowed) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS);
  }
  return false;
}

/**
 * May this WebSocket upgrade proceed? Browsers always send Origin on a
 * WebSocket handshake and the socket is not covered by CORS, so the check is
 * ours: an allowed origin or the server's own (the API explorer runs in the
 * server's own page). No Origin means a non-browser client, which
 * authenticates with its token like any other.
 */
export function wsOriginAllowed(policy: CorsPolicy, req: IncomingMessage): boolean {
  const origin = originOf(req);
  if (origin === undefined || policy.origins.has(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
