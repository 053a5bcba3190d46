import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext as ApolloBaseContext } from '@apollo/server';
import { ErrorCode } from '../errors/index.js';

/** The default most a request body may hold; the gateway passes LIMIT_MAX_BODY_BYTES instead. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A request refused before any of it runs, with the HTTP status, a contract
 * code and a `reason` naming the rule (MAX_BODY_BYTES, MALFORMED_JSON, ...).
 */
export class RequestRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
    readonly code: ErrorCode = ErrorCode.BAD_USER_INPUT,
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
    super(status, message, reason);
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
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!type.includes('json')) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new BodyError(400, 'Request body is not valid JSON');
  }
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
   * sees it); true when it answered the request itself (the rate limiter's
   * 429), so a client cannot make us parse and refuse without limit.
   */
  beforeRefusal?: () => Promise<boolean>;
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
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  let request: PreparedRequest = { method: req.method ?? 'GET', body: undefined, search: url.search };
  try {
    if (request.method === 'POST') request.body = await readJsonBody(req, options.maxBodyBytes);
    if (options.prepare) request = options.prepare(request);
  } catch (err) {
    if (!(err instanceof RequestRefused)) throw err;
    if (options.beforeRefusal && (await options.beforeRefusal())) return;
    return sendError(res, err.status, err.code, err.message, { reason: err.reason });
  }
  const response = await server.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: request.method, headers, search: request.search, body: request.body },
    context,
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}
