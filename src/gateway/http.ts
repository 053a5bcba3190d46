import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext as ApolloBaseContext } from '@apollo/server';
import { ErrorCode } from '../errors/index.js';
import type { Principal } from '../identity/index.js';
import { mayCall, routeRoles, type HttpRoute } from '../policy/index.js';
import {
  contentType,
  errorStatus,
  negotiateGraphQLMediaType,
  prefersHtml,
  type GraphQLMediaType,
} from './media.js';

/** The default most a request body may hold; the gateway passes LIMIT_MAX_BODY_BYTES instead. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A request refused before any of it runs, with the HTTP status, a contract
 * code and a `reason` naming the rule (MAX_BODY_BYTES, MAX_DEPTH, ...).
 * `wellFormed` is false when the request is not GraphQL over HTTP at all (a
 * body that is not JSON, or too large): that keeps its 4xx under
 * `application/json` too, where a refused well-formed request answers 200
 * (media.ts).
 */
export class RequestRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
    readonly code: ErrorCode = ErrorCode.BAD_USER_INPUT,
    readonly wellFormed = true,
  ) {
    super(message);
    this.name = 'RequestRefused';
  }
}

/** The body itself is refused: too large or not JSON. */
export class BodyError extends RequestRefused {
  constructor(
    status: number,
    message: string,
    reason = status === 413 ? 'MAX_BODY_BYTES' : 'MALFORMED_JSON',
  ) {
    super(status, message, reason, ErrorCode.BAD_USER_INPUT, false);
    this.name = 'BodyError';
  }
}

/**
 * Reads a JSON body, refusing more than `limit` bytes. A declared length over
 * the limit is refused before a byte is read; an undeclared (chunked) body is
 * counted as it arrives and refused as soon as it passes the limit, so a huge
 * body is never held in memory.
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const tooLarge = () => new BodyError(413, `Request body larger than ${limit} bytes`);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const chunks = declared !== undefined ? await readDeclared(req) : await readStreamed(req, limit, tooLarge);
  // The stream also ends, without an error, when the client disconnects mid-body: that is not a
  // malformed request to answer but a client that went away (logged at debug by the server).
  if (!req.complete) throw Object.assign(new Error('request aborted'), { code: 'ECONNABORTED' });
  // One chunk (a small body usually is) decodes as it is; several are joined first.
  const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
  if (!text) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!type.includes('json')) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new BodyError(400, 'Request body is not valid JSON');
  }
}

/**
 * A body of a declared length (within the limit, checked before): its chunks, read with the
 * stream's own events. Node's HTTP parser delivers exactly the declared number of bytes, so no
 * count is needed. `for await` over the request did the same with an async iterator, its promises
 * and listeners, on every request: about 1 % of the remote gateway's CPU under the page bench. As
 * the loop did, a stream error is thrown, and a stream that closes before its end (the client
 * went away) resolves with what came, which the caller tells from a whole body by `req.complete`.
 */
function readDeclared(req: IncomingMessage): Promise<Buffer[]> {
  return new Promise<Buffer[]>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const settle = (err: Error | null) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onEnd);
      req.off('error', onError);
      if (err) reject(err);
      else resolve(chunks);
    };
    const onData = (chunk: Buffer) => void chunks.push(chunk);
    const onEnd = () => settle(null);
    const onError = (err: Error) => settle(err);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onEnd);
    req.on('error', onError);
  });
}

/**
 * A body without a declared length (chunked): counted as it arrives and refused as soon as it
 * passes the limit. Leaving the loop destroys the request stream the way node's stream helpers do
 * for a server request (detached from its socket first), so the refusal is still answered.
 */
async function readStreamed(req: IncomingMessage, limit: number, tooLarge: () => Error): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return chunks;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
): void {
  sendJson(res, status, { errors: [{ message, extensions: { ...extensions, code } }] });
}

/**
 * The policy's check for a route outside GraphQL (HTTP_ROUTE_ROLES): 401 without a caller, 403
 * naming the roles for one it does not admit. True when the caller may go on; otherwise it has
 * answered. `what` starts the 403 message ("Downloading document content").
 */
export function admitRoute(
  res: ServerResponse,
  principal: Principal | null,
  route: HttpRoute,
  what: string,
): principal is Principal {
  if (!principal) {
    sendError(res, 401, ErrorCode.UNAUTHENTICATED, 'Authentication required');
    return false;
  }
  if (!mayCall(principal, route)) {
    sendError(
      res,
      403,
      ErrorCode.FORBIDDEN,
      `${what} requires one of the roles: ${routeRoles(route).join(', ')}`,
    );
    return false;
  }
  return true;
}

/** A GraphQL request refused before Apollo Server runs it: its status, code and the fields of `extensions`. */
export interface GraphQLRefusal {
  status: number;
  message: string;
  extensions: { code: string } & Record<string, unknown>;
  /** Response headers (Retry-After). */
  headers?: Record<string, string>;
  /** False for a request that is not GraphQL over HTTP at all; see RequestRefused. */
  wellFormed?: boolean;
}

/**
 * Answers a refused GraphQL request in the negotiated media type, with the status that type calls
 * for. A refused batch of `batch` operations is answered as a batch: each operation gets the
 * error, so a batching client (Apollo's BatchHttpLink) hands it to every caller.
 */
export function sendGraphQLRefusal(
  res: ServerResponse,
  media: GraphQLMediaType | null,
  refusal: GraphQLRefusal,
  batch?: number,
): void {
  const result = { errors: [{ message: refusal.message, extensions: refusal.extensions }] };
  sendJson(
    res,
    errorStatus(media, refusal.status, refusal.wellFormed ?? true),
    batch === undefined ? result : Array.from({ length: batch }, () => result),
    { ...refusal.headers, 'content-type': contentType(media) },
  );
}

/** Apollo Server's code for a request that is not GraphQL over HTTP; maskError keeps it as `reason`. */
export const APOLLO_BAD_REQUEST = 'BAD_REQUEST';

/**
 * Whether an answer of Apollo Server's is to a well-formed request. Apollo
 * refuses what is not GraphQL over HTTP (no query, a parameter of the wrong
 * type, a refused method, content type or Accept, CSRF prevention) with its
 * BAD_REQUEST code, which maskError keeps as `reason`. Read only for 4xx
 * answers under `application/json`, which are small.
 */
function answersWellFormedRequest(body: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  const results: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  return !results.some((result) => {
    const errors = (result as { errors?: unknown } | null)?.errors;
    return (
      Array.isArray(errors) &&
      errors.some(
        (e: { extensions?: { reason?: unknown } } | null) => e?.extensions?.reason === APOLLO_BAD_REQUEST,
      )
    );
  });
}

/** What the gateway's guards see of a GraphQL request before Apollo Server does. */
export interface PreparedRequest {
  method: string;
  /** The parsed JSON body of a POST (an object, or an array for a batch). */
  body: unknown;
  /** The query string of a GET, with its leading `?`. */
  search: string;
}

export interface GraphQLHttpOptions {
  maxBodyBytes?: number;
  /**
   * Checks (and may rewrite) the request before anything runs: the gateway's
   * operation limits and trusted documents. Throws RequestRefused to refuse.
   */
  prepare?: (request: PreparedRequest) => PreparedRequest;
  /**
   * Runs before a refusal is sent (a body or operation refused before Apollo
   * sees it), so a client cannot make us parse and refuse without limit: the
   * rate limiter's refusal (429) to send instead, or null.
   */
  beforeRefusal?: () => Promise<GraphQLRefusal | null>;
  /** The request URL's query string (with its `?`), when the caller has parsed the URL already. */
  search?: string;
}

/**
 * The Apollo Server integration for plain node:http: the same thing the
 * express integration does, without express.
 */
export async function handleGraphQL<C extends ApolloBaseContext>(
  server: ApolloServer<C>,
  req: IncomingMessage,
  res: ServerResponse,
  context: () => Promise<C>,
  options: GraphQLHttpOptions = {},
): Promise<void> {
  const accept = req.headers.accept;
  const media = negotiateGraphQLMediaType(accept);
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const search = options.search ?? new URL(req.url ?? '/', 'http://localhost').search;
  let request: PreparedRequest = { method: req.method ?? 'GET', body: undefined, search };
  // Apollo Server answers in the type we negotiated (it would pick application/json for */* or no
  // Accept at all), except for a browser asking for the landing page.
  if (media && !(request.method === 'GET' && prefersHtml(accept))) headers.set('accept', media);
  try {
    if (request.method === 'POST') request.body = await readJsonBody(req, options.maxBodyBytes);
    if (options.prepare) request = options.prepare(request);
  } catch (err) {
    if (!(err instanceof RequestRefused)) throw err;
    const limited = options.beforeRefusal ? await options.beforeRefusal() : null;
    // A batch (a JSON array of operations) is refused whole, and answered as a batch.
    const batch = Array.isArray(request.body) && request.body.length ? request.body.length : undefined;
    return sendGraphQLRefusal(
      res,
      media,
      limited ?? {
        status: err.status,
        message: err.message,
        extensions: { code: err.code, reason: err.reason },
        wellFormed: err.wellFormed,
      },
      batch,
    );
  }
  const response = await server.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: request.method, headers, search: request.search, body: request.body },
    context,
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  let status = response.status ?? 200;
  if (response.body.kind === 'complete') {
    // Parse, validation and variable errors, refused tokens and rate limits come from Apollo with
    // their 4xx; under application/json a well-formed request's errors are answered 200 instead.
    if (errorStatus(media, status, true) !== status && answersWellFormedRequest(response.body.string)) {
      status = errorStatus(media, status, true);
    }
    res.statusCode = status;
    res.end(response.body.string);
    return;
  }
  res.statusCode = status;
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}
