/**
 * Subscriptions over Server-Sent Events (graphql-sse, "distinct connections" mode) on the GraphQL
 * URL, for services and browsers that cannot hold a WebSocket (proxies that strip `Upgrade`,
 * serverless clients, `EventSource`-style consumers).
 *
 * This is a thin adapter, as src/gateway/serve.ts's graphql-ws server is: the caller is
 * authenticated once by the server (the same `Authorization: Bearer` header as HTTP), and the
 * operation goes through the same guards (rate limit, operation limits, trusted documents) and the
 * same schema, so the per-event policy and the `after` resume argument behave exactly as over
 * graphql-ws. What differs is only how a refusal reaches the client:
 *
 * - no or bad token: 401 before the stream opens; a token with no role: 403;
 * - a refused operation (limits, rate limit, a stream the role may not follow): the stream opens,
 *   carries one `next` event with the coded errors, then `complete`, as graphql-sse does for
 *   validation errors;
 * - a token that expires while the stream is open ends the stream (the client reconnects with a
 *   fresh token and `after` set to the last event it saw).
 *
 * Only subscriptions are served here. Queries and mutations stay on ordinary GraphQL over HTTP,
 * where the HTTP-layer policies (per-operation rate limit, media types, idempotency, 503 on an
 * upstream outage) apply; a query sent as an event stream is refused with `BAD_USER_INPUT`
 * (reason `SUBSCRIPTIONS_ONLY`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { createHandler, type OperationContext, type Request as SseRequest } from 'graphql-sse';
import { ErrorCode, GraphQLErrorWithCode } from '../errors/index.js';
import { log } from '../logger.js';
import type { Principal } from '../identity/index.js';
import { preferredType } from './media.js';
import { clientWentAway } from './sockets.js';

export const EVENT_STREAM = 'text/event-stream';

/** True for a request to open an event stream: `Accept` prefers `text/event-stream` to JSON. */
export function prefersEventStream(accept: string | undefined): boolean {
  return (
    !!accept &&
    // JSON first: a tie (`*/*`, which fetch sends by default) is an ordinary GraphQL request.
    preferredType(accept, ['application/graphql-response+json', 'application/json', EVENT_STREAM]) ===
      EVENT_STREAM
  );
}

/** A GraphQL operation as a client sent it (the graphql-sse request parameters). */
export interface SseOperation {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

export interface SseOptions<Ctx extends object> {
  schema: ExecutionArgs['schema'];
  /** The request's context, as the WebSocket server builds it. */
  context: (principal: Principal, authorization: string, requestId: string) => Ctx;
  /**
   * The checks a WebSocket subscribe gets, in the same order: the rate limit, then the operation
   * limits and trusted documents (which also parse and validate). Errors refuse the operation.
   */
  guard: (
    principal: Principal,
    req: IncomingMessage,
    operation: SseOperation,
  ) => Promise<Omit<ExecutionArgs, 'contextValue'> | readonly GraphQLError[]>;
  /** Masks each result's errors (unexpected ones become INTERNAL_SERVER_ERROR), as on graphql-ws. */
  format: (result: ExecutionResult) => ExecutionResult;
}

interface Raw {
  req: IncomingMessage;
  principal: Principal;
  authorization: string;
  requestId: string;
}

/**
 * Serves one event-stream request for an authenticated caller. The body, when POSTed, has been
 * read by the caller (with the body limit); `res` is written and ended here.
 */
export type SseServer = (
  req: IncomingMessage,
  res: ServerResponse,
  caller: { principal: Principal; authorization: string; requestId: string; body: unknown },
) => Promise<void>;

export function createSseServer<Ctx extends object>(opts: SseOptions<Ctx>): SseServer {
  const handler = createHandler<Raw, undefined, OperationContext>({
    schema: opts.schema,
    // null: "distinct connections" only. Single-connection mode (a PUT reserves a stream that later
    // requests feed) would need shared state across replicas behind a load balancer; every
    // operation on its own stream needs none.
    authenticate: () => null,
    onSubscribe: async (req, params) => {
      const { principal, authorization, requestId } = req.raw;
      const guarded = await opts.guard(principal, req.raw.req, params as SseOperation);
      // `data: null` is how graphql-sse tells a ready result from execution arguments.
      if (isErrors(guarded)) return { data: null, errors: [...guarded] };
      const operation = getOperationAST(guarded.document, guarded.operationName)?.operation;
      if (operation !== 'subscription') {
        return {
          data: null,
          errors: [
            new GraphQLErrorWithCode(
              'Only subscriptions are served as an event stream; send queries and mutations as GraphQL over HTTP (Accept: application/graphql-response+json).',
              ErrorCode.BAD_USER_INPUT,
              { reason: 'SUBSCRIPTIONS_ONLY' },
            ),
          ],
        };
      }
      // graphql-sse types a context as an index-signature record; ours is an interface (library seam).
      const contextValue = opts.context(principal, authorization, requestId) as OperationContext;
      return { ...guarded, contextValue };
    },
    // Every result, refusals included, is masked once here on its way out.
    onNext: (_ctx, _req, result) => opts.format(result as ExecutionResult),
  });

  return async (req, res, caller) => {
    const request: SseRequest<Raw, undefined> = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: {
        // graphql-sse compares Accept literally; the caller decided already that this is a stream.
        get: (key) => (key.toLowerCase() === 'accept' ? EVENT_STREAM : headerOf(req, key)),
      },
      body: (caller.body ?? null) as SseRequest['body'],
      raw: {
        req,
        principal: caller.principal,
        authorization: caller.authorization,
        requestId: caller.requestId,
      },
      context: undefined,
    };
    const [body, init] = await handler(request);
    res.writeHead(init.status, init.statusText, init.headers);
    if (!body || typeof body === 'string') {
      res.end(body ?? undefined);
      return;
    }
    // Ends the stream when the token expires, and when the client goes away.
    const expiry = caller.principal.exp ? expireAt(caller.principal.exp, () => res.end()) : undefined;
    const stop = () => void body.return(undefined);
    res.once('close', stop);
    try {
      for await (const chunk of body) {
        if (!res.writable) break;
        await new Promise<void>((resolve, reject) =>
          res.write(chunk, (err) => (err ? reject(err) : resolve())),
        );
      }
    } catch (err) {
      if (!clientWentAway(err, req)) throw err;
      log.debug('event stream client went away', { reason: (err as Error).message });
    } finally {
      if (expiry) clearTimeout(expiry);
      res.off('close', stop);
      if (!res.writableEnded) res.end();
    }
  };
}

function headerOf(req: IncomingMessage, key: string): string | undefined {
  const value = req.headers[key.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

function isErrors(
  x: Omit<ExecutionArgs, 'contextValue'> | readonly GraphQLError[],
): x is readonly GraphQLError[] {
  return Array.isArray(x);
}

function expireAt(expSeconds: number, end: () => void): NodeJS.Timeout {
  const ms = expSeconds * 1000 - Date.now();
  const timer = setTimeout(end, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  timer.unref();
  return timer;
}
