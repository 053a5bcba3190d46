import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import {
  GraphQLError,
  Kind,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { SecurityConfig } from '../config/index.js';
import {
  DATABASE_RETRY_AFTER_SEC,
  databaseUnavailable,
  ErrorCode,
  GraphQLErrorWithCode,
} from '../errors/index.js';
import { AuthError, bearerToken, type Principal, type TokenVerifier } from '../identity/index.js';
import { bindRequestLog, log, withRequestLog } from '../logger.js';
import { isConnectionError } from '../store/connection-errors.js';
import {
  configureMetrics,
  describeProcess,
  metrics,
  serveMetrics,
  serveMetricsRoute,
} from '../telemetry/metrics.js';
import { maskError } from './errors.js';
import { createGatewayGuards } from './limits.js';
import { applyCors, wsOriginAllowed, type CorsPolicy } from './cors.js';
import type { RateLimits } from './rate-limit.js';
import { createExplorer, type ExplorerOptions } from './explorer/index.js';
import {
  admitRoute,
  handleGraphQL,
  readJsonBody,
  RequestRefused,
  sendError,
  sendGraphQLRefusal,
  sendJson,
} from './http.js';
import { createSseServer, prefersEventStream, type SseServer } from './sse.js';
import { negotiateGraphQLMediaType } from './media.js';
import { upstreamOutageStatus } from './upstream-status.js';
import { createHttpServer, clientWentAway, DEFAULT_SOCKET_TIMEOUTS, heartbeat } from './sockets.js';
import type { SocketTimeouts } from '../config/index.js';
import type { UpstreamStates } from '../upstreams/opentext/health.js';
import type { ForwardingContext } from './executors.js';
import { SharedSubscriptions } from './shared-subscriptions.js';
import { sharingQueriesPlugin } from './shared-queries.js';
import { jitGateway } from './jit.js';

/** An extra HTTP route, on a path other than /graphql; returns false when the request is not its own. */
export type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  auth: () => Promise<Principal | null>,
) => Promise<boolean>;

export interface ServeOptions {
  name: string;
  schema: GraphQLSchema;
  verifier: TokenVerifier;
  /** Every dependency other than the store answers (the subgraph services behind a remote gateway). */
  ready?: () => Promise<boolean>;
  /**
   * A round trip to this process's store. /readyz reports `database: "up"` or `"down"` and is
   * 503 while it is down: the process stays up and recovers when the database is back, but a
   * load balancer should send work elsewhere meanwhile.
   */
  database?: () => Promise<unknown>;
  /**
   * The OpenText upstreams' states, reported in /readyz's body without failing readiness: reads
   * keep working from our own store while an upstream is down (contract: connected mode).
   */
  upstreams?: () => UpstreamStates;
  routes?: Route[];
  /** The API explorer a browser gets at GET /graphql (src/gateway/explorer); none when absent. */
  explorer?: ExplorerOptions;
  introspection: boolean;
  /** Turns the request context into what the schema's resolvers expect (a subgraph's own context). */
  context?: (base: ForwardingContext) => object;
  /** Header, request, keep-alive and idle timeouts, and the WebSocket ping (src/gateway/sockets.ts). */
  sockets?: SocketTimeouts;
  /** Runs after the servers stopped taking work: drain workers, flush the store. */
  onStop: () => Promise<void>;
  graceMs: number;
  /** Browser origins (HTTP and WebSocket) and rate limits; the gateway sets it, subgraph services do not. */
  guard?: { cors: CorsPolicy; rateLimits: RateLimits | null };
  /** Operation limits, trusted documents, introspection and suggestions (limits.ts); the gateway sets it, subgraph services do not. */
  security?: SecurityConfig;
  /**
   * graphql-ws subscriptions with the same document, variables and read access share one execution
   * per event (shared-subscriptions.ts). Set where the subgraphs run in this process: a remote
   * subgraph authorises the token forwarded with the stream, which is one member's.
   */
  shareSubscriptions?: boolean;
  /**
   * Identical queries of one caller in flight at once share one execution (shared-queries.ts). Set
   * by the subgraph services; the gateway shares its subgraph calls instead (inflight.ts) and runs
   * every client request itself.
   */
  shareQueries?: boolean;
  /** GET /metrics: on its own port when `port` is set, else on this one for the roles the policy names. */
  metrics?: { port: number | undefined; host: string; maxOperationNames: number };
  /**
   * Queries and mutations over HTTP run on graphql-jit (jit.ts) instead of graphql-js; the gateway
   * sets it from GATEWAY_JIT. Subscriptions run on graphql-js whatever it says.
   */
  jit?: boolean;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A dependency that does not answer within this is not ready. */
const READY_TIMEOUT_MS = 1_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export class HttpAuthError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
  }
}

/** Turns an Authorization header into a principal; no header is anonymous, a bad one is refused. */
async function authenticate(verifier: TokenVerifier, header: string | undefined): Promise<Principal | null> {
  try {
    const token = bearerToken(header);
    return token ? await verifier.verify(token) : null;
  } catch (err) {
    if (err instanceof AuthError) throw new HttpAuthError(err.message);
    throw err;
  }
}

function maskResult(result: ExecutionResult, format = maskError): ExecutionResult {
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map((e) => format(e.toJSON(), e) as unknown as GraphQLError) };
}

/**
 * At the gateway, an operation without a token is refused whole, before any
 * subgraph is asked (401), unless it only asks the schema itself. Every field
 * needs an authenticated caller anyway; refusing up front also spares the
 * stitched executor a half-failed batch (several non-null root fields of one
 * subgraph each refused), which it reports as an unexpected error.
 */
function anonymousRefused(): ApolloServerPlugin<ForwardingContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation }) {
          if (contextValue.principal || !operation) return;
          const schemaOnly = operation.selectionSet.selections.every(
            (s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'),
          );
          if (!schemaOnly) throw new HttpAuthError('Authentication required');
        },
      };
    },
  };
}

/** A client's X-Request-Id is kept when it is a plain token of sane length; otherwise one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Each GraphQL operation over HTTP: its duration and error codes in the metrics, its name on the
 * request's child logger, and one log line when it is answered (with the request id, and the
 * trace and span ids when tracing is on).
 */
function observed(): ApolloServerPlugin<ForwardingContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      let name: string | null = null;
      let type: string | undefined;
      return {
        async didResolveOperation({ operationName, operation }) {
          name = operationName ?? null;
          type = operation?.operation;
          bindRequestLog({ operationName: name });
        },
        async willSendResponse({ response }) {
          const seconds = (performance.now() - started) / 1000;
          metrics.request(name, type, seconds);
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const codes = errors.map((e) => e.extensions?.code);
          for (const code of codes) metrics.error(code);
          log.info('graphql operation', {
            operationName: name,
            operationType: type ?? null,
            status: response.http.status ?? 200,
            durationMs: Math.round(seconds * 1000),
            ...(codes.length ? { errorCodes: codes } : {}),
          });
        },
      };
    },
  };
}

/**
 * One GraphQL service over HTTP (Apollo Server) and graphql-ws on the same
 * URL, with health endpoints and a draining stop. The gateway and each
 * standalone subgraph are served by this same function.
 */
export async function serveGraphQL(opts: ServeOptions, port: number, host: string): Promise<RunningServer> {
  const httpServer = createHttpServer(opts.sockets ?? DEFAULT_SOCKET_TIMEOUTS);
  let stopping = false;
  const contextOf = (base: ForwardingContext): ForwardingContext => ({
    ...base,
    ...(opts.context?.(base) ?? {}),
  });
  // Checked before anything runs, on HTTP and WebSocket alike.
  const operationGuards = opts.security ? await createGatewayGuards(opts.schema, opts.security) : null;
  const formatError = operationGuards?.formatError ?? maskError;

  const apollo = new ApolloServer<ForwardingContext>({
    // The gateway interface is Apollo Server's seam for another executor; everything before
    // execution (parsing, validation, plugins) and the formatting of errors stay Apollo's.
    ...(opts.jit ? { gateway: jitGateway(opts.schema) } : { schema: opts.schema }),
    introspection: opts.introspection,
    csrfPrevention: true,
    ...operationGuards?.apollo,
    formatError,
    includeStacktraceInErrorResponses: false,
    // The process owns the shutdown sequence (drain, then stop workers, then flush the store).
    stopOnTerminationSignals: false,
    plugins: [
      // Apollo's usage-reporting traces are for GraphOS, which this product does not use.
      ApolloServerPluginInlineTraceDisabled(),
      // No field carries a cache hint and no answer is cacheable (responses are per caller), yet
      // the default cache-control plugin wrapped every resolver of every request to look for hints.
      ApolloServerPluginCacheControlDisabled(),
      observed(),
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: opts.graceMs }),
      ...(opts.guard?.rateLimits ? [opts.guard.rateLimits.plugin<ForwardingContext>()] : []),
      ...(opts.security ? [anonymousRefused()] : []),
      // An operation an upstream outage stopped entirely: 503 with Retry-After (upstream-status.ts).
      upstreamOutageStatus<ForwardingContext>(),
      ...(opts.shareQueries ? [sharingQueriesPlugin<ForwardingContext>(() => metrics.queryShared())] : []),
      // The explorer's page is served before Apollo sees the request (with its own headers).
      ApolloServerPluginLandingPageDisabled(),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              // Sockets close with 1001 (going away); clients reconnect elsewhere.
              stopHeartbeat();
              await wsServer.dispose();
            },
          };
        },
      },
    ],
  });
  await apollo.start();
  const explorer = opts.explorer ? createExplorer(opts.explorer) : null;

  const wss = new WebSocketServer({
    server: httpServer,
    path: '/graphql',
    // A message is held whole before it is parsed: the same ceiling as an HTTP body.
    ...(opts.security ? { maxPayload: opts.security.limits.maxBodyBytes } : {}),
    // A browser on an origin not allowed is refused at the handshake (403), before any message.
    verifyClient: (info, cb) =>
      !opts.guard || wsOriginAllowed(opts.guard.cors, info.req)
        ? cb(true)
        : cb(false, 403, 'Origin not allowed'),
  });
  type Extra = {
    principal?: Principal;
    authorization?: string;
    expiry?: NodeJS.Timeout;
  };
  // A peer that vanished without closing (no pong to the last ping) is disconnected.
  const stopHeartbeat = heartbeat(wss, (opts.sockets ?? DEFAULT_SOCKET_TIMEOUTS).wsPingMs);
  const shared = opts.shareSubscriptions
    ? new SharedSubscriptions({
        context: (principal, authorization) =>
          contextOf({ requestId: randomUUID(), principal, authorization, longLived: true }),
        format: (result) => maskResult(result, formatError),
        maxBufferedBytes: (opts.sockets ?? DEFAULT_SOCKET_TIMEOUTS).wsMaxBufferedBytes,
      })
    : null;
  const wsServer = useServer<Record<string, unknown>, Extra>(
    {
      schema: opts.schema,
      context: (ctx, id) => {
        const context = contextOf({
          requestId: randomUUID(),
          principal: ctx.extra.principal ?? null,
          authorization: ctx.extra.authorization,
          longLived: true,
        });
        const principal = ctx.extra.principal;
        if (shared && principal) {
          shared.register(context, {
            socket: ctx.extra.socket,
            id,
            principal,
            authorization: ctx.extra.authorization,
          });
        }
        return context;
      },
      // Equivalent subscriptions run once per event and get the same bytes (shared-subscriptions.ts).
      ...(shared ? { subscribe: shared.subscribe } : {}),
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        // `authorization: "Bearer …"` is ours; Apollo Router and Hive Gateway
        // forward a bare `token`, so a router in passthrough mode works as is.
        const raw =
          params.authorization ??
          params.Authorization ??
          (typeof params.token === 'string' && params.token ? `Bearer ${params.token}` : undefined);
        let principal: Principal | null = null;
        try {
          const token = typeof raw === 'string' ? bearerToken(raw) : null;
          principal = token ? await opts.verifier.verify(token) : null;
        } catch (err) {
          if (err instanceof GraphQLErrorWithCode && err.code === ErrorCode.UPSTREAM_UNAVAILABLE) {
            // 1013 "try again later": the identity provider is down, the token may be fine.
            ctx.extra.socket.close(1013, 'Identity provider unavailable; try again later');
            return false;
          }
          if (!(err instanceof AuthError)) throw err;
        }
        if (!principal) {
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized');
          return false;
        }
        if (!principal.roles.length) {
          ctx.extra.socket.close(CloseCode.Forbidden, 'Forbidden: the token carries no role');
          return false;
        }
        ctx.extra.principal = principal;
        ctx.extra.authorization = String(raw);
        if (principal.exp) {
          // A token that expires mid-connection ends the connection.
          const ms = principal.exp * 1000 - Date.now();
          ctx.extra.expiry = setTimeout(
            () => ctx.extra.socket.close(CloseCode.Unauthorized, 'Token expired'),
            Math.max(0, Math.min(ms, 2 ** 31 - 1)),
          );
          ctx.extra.expiry.unref();
        }
        return true;
      },
      onClose: (ctx) => {
        if (ctx.extra.expiry) clearTimeout(ctx.extra.expiry);
      },
      // Each subscribe is one operation for the rate limit; a refused one gets an error, the socket stays.
      // Then the operation limits and trusted documents, which also validate the operation.
      onSubscribe: async (ctx, _id, payload) =>
        (await opts.guard?.rateLimits?.subscription(ctx.extra.principal ?? null, ctx.extra.request)) ??
        operationGuards?.onSubscribe(payload),
      onNext: (_ctx, _id, _payload, _args, result) => maskResult(result as ExecutionResult, formatError),
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((e) => formatError(e.toJSON(), e) as GraphQLFormattedError as GraphQLError),
    },
    wss,
  );

  // Subscriptions over Server-Sent Events on the same URL (sse.ts), where the operation guards run:
  // the gateway. A standalone subgraph is reached by the gateway over graphql-ws only.
  const sse: SseServer | null = operationGuards
    ? createSseServer({
        schema: opts.schema,
        context: (principal, authorization, requestId) =>
          contextOf({ requestId, principal, authorization, longLived: true }),
        guard: async (principal, req, operation) =>
          (await opts.guard?.rateLimits?.subscription(principal, req)) ??
          operationGuards.onSubscribe(operation),
        format: (result) => maskResult(result, formatError),
      })
    : null;

  /** An event-stream request: the caller authenticated once, as on every transport, then sse.ts. */
  async function serveEventStream(
    sse: SseServer,
    req: IncomingMessage,
    res: ServerResponse,
    principal: Principal | null,
    requestId: string,
  ) {
    if (!principal) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendError(res, 401, ErrorCode.UNAUTHENTICATED, 'Authentication required');
    }
    if (!principal.roles.length) {
      return sendError(res, 403, ErrorCode.FORBIDDEN, 'Forbidden: the token carries no role');
    }
    let body: unknown = null;
    if (req.method === 'POST') {
      try {
        body = await readJsonBody(req, opts.security?.limits.maxBodyBytes);
      } catch (err) {
        if (!(err instanceof RequestRefused)) throw err;
        return sendError(res, err.status, err.code, err.message, { reason: err.reason });
      }
    }
    await sse(req, res, { principal, authorization: String(req.headers.authorization), requestId, body });
  }
  describeProcess(opts.name);
  if (opts.metrics) configureMetrics({ maxOperationNames: opts.metrics.maxOperationNames });
  const metricsServer =
    opts.metrics?.port !== undefined ? await serveMetrics(opts.metrics.port, opts.metrics.host) : null;
  if (metricsServer) log.info(`${opts.name} metrics`, { url: metricsServer.url });

  httpServer.on('request', (req, res) => {
    // A child logger per request: every line written while it runs carries its id.
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    void withRequestLog({ requestId }, () => handleLogged(req, res, requestId));
  });

  async function handleLogged(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    await handle(req, res, requestId).catch((err) => {
      if (err instanceof GraphQLErrorWithCode && err.code === ErrorCode.UPSTREAM_UNAVAILABLE) {
        // A dependency (the identity provider, a subgraph) is down: our outage, worth a retry.
        log.warn('request refused: upstream unavailable', { url: req.url, reason: err.message });
        if (!res.headersSent) {
          res.setHeader('retry-after', '5');
          sendError(res, 503, ErrorCode.UPSTREAM_UNAVAILABLE, err.message);
        } else res.end();
        return;
      }
      if (clientWentAway(err, req)) {
        // A client that closed its connection (a tab closed, a timeout on its side): not our fault.
        log.debug('client went away', { url: req.url, reason: (err as Error).message });
        res.destroy();
        return;
      }
      if (isConnectionError(err)) {
        // The store's connection dropped under a route outside GraphQL (a document, a report).
        log.warn('request refused: database unavailable', { url: req.url, reason: (err as Error).message });
        if (!res.headersSent) {
          const coded = databaseUnavailable();
          res.setHeader('retry-after', String(DATABASE_RETRY_AFTER_SEC));
          sendError(res, 503, ErrorCode.UPSTREAM_UNAVAILABLE, coded.message, {
            reason: coded.extensions.reason,
          });
        } else res.end();
        return;
      }
      log.error('request failed', { err, url: req.url });
      if (!res.headersSent) sendError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
      else res.end();
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    if (opts.guard && applyCors(opts.guard.cors, req, res)) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz') {
      const [others, database] = await Promise.all([
        opts.ready ? withTimeout(opts.ready(), READY_TIMEOUT_MS).catch(() => false) : true,
        opts.database
          ? withTimeout(opts.database(), READY_TIMEOUT_MS).then(
              () => 'up' as const,
              () => 'down' as const,
            )
          : null,
      ]);
      const ok = !stopping && others && database !== 'down';
      return sendJson(res, ok ? 200 : 503, {
        status: ok ? 'ready' : 'not ready',
        ...(database ? { database } : {}),
        ...(opts.upstreams ? { upstreams: opts.upstreams() } : {}),
      });
    }
    // The explorer's page and its static files: no token, and not charged to the rate limit.
    if (explorer && (await explorer(req, res))) return;
    let principal: Promise<Principal | null> | undefined;
    // Once per request: the rate limit and the route or context all need it.
    const auth = () => (principal ??= authenticate(opts.verifier, req.headers.authorization));
    const limits = opts.guard?.rateLimits;
    // GraphQL operations are charged by the limiter's Apollo plugin (each of a batch); anything else here is one.
    if (limits && url.pathname !== '/graphql' && (await limits.refuseHttp(req, res, auth))) return;
    // GET /metrics here only when no METRICS_PORT took it; then for the roles the policy names.
    if (opts.metrics && !metricsServer && url.pathname === '/metrics' && req.method === 'GET') {
      const caller = await auth().catch((err: unknown) => {
        if (err instanceof HttpAuthError) return null; // a bad token is no caller: 401
        throw err;
      });
      if (admitRoute(res, caller, 'GET /metrics', 'Reading metrics')) await serveMetricsRoute(req, res);
      return;
    }
    if (url.pathname !== '/graphql') {
      // The extra routes own paths of their own (/documents/..., /reports/...), never /graphql: a
      // GraphQL request does not go through each of them (each parsed the URL again to say no).
      for (const route of opts.routes ?? []) {
        if (await route(req, res, auth)) return;
      }
      return sendError(res, 404, ErrorCode.NOT_FOUND, 'Not found');
    }
    if (limits) {
      // A bad token never reaches the limiter's Apollo plugin (the context
      // fails first): charge its address here, so forged tokens cost a budget too.
      const badToken = await auth().then(
        () => false,
        (err: unknown) => err instanceof HttpAuthError,
      );
      const refused = badToken ? await limits.refusal(req, auth) : null;
      if (refused) return sendGraphQLRefusal(res, negotiateGraphQLMediaType(req.headers.accept), refused);
    }
    if (sse && (req.method === 'GET' || req.method === 'POST') && prefersEventStream(req.headers.accept)) {
      let principal: Principal | null;
      try {
        principal = await auth();
      } catch (err) {
        if (!(err instanceof HttpAuthError)) throw err;
        res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
        return sendError(res, 401, ErrorCode.UNAUTHENTICATED, err.message);
      }
      return serveEventStream(sse, req, res, principal, requestId);
    }
    await handleGraphQL(
      apollo,
      req,
      res,
      async () => {
        const context = contextOf({
          requestId,
          principal: await auth(),
          authorization: req.headers.authorization,
        });
        return limits ? limits.bind(context, req) : context;
      },
      {
        ...operationGuards?.http,
        ...(limits ? { beforeRefusal: () => limits.refusal(req, auth) } : {}),
        search: url.search,
      },
    );
  }

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => resolve());
  });
  const actual = (httpServer.address() as AddressInfo).port;
  const url = `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${actual}/graphql`;
  log.info(`${opts.name} listening`, { url });

  let stopped: Promise<void> | null = null;
  return {
    url,
    port: actual,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        // Apollo's drain: stop accepting, let in-flight requests finish, close sockets.
        await apollo.stop();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await opts.onStop();
        await metricsServer?.close();
        log.info(`${opts.name} stopped`);
      })()),
  };
}
