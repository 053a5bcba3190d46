import { normalizedExecutor } from '@graphql-tools/executor';
import { execute, print, stripIgnoredCharacters, type DocumentNode, type ExecutionResult } from 'graphql';
import { buildHTTPExecutor } from '@graphql-tools/executor-http';
import { getOperationASTFromRequest, type ExecutionRequest, type Executor } from '@graphql-tools/utils';
import type { BaseContext } from '../context/index.js';
import type { Subgraph } from '../subgraphs/types.js';
import { upstreamUnavailable } from '../errors/index.js';
import { metrics } from '../telemetry/metrics.js';
import { Lru } from '../lru.js';
import { InflightCalls } from './inflight.js';
import { documentKey } from './request-key.js';
import { UpstreamSubscription } from './upstream-subscriptions.js';

/**
 * The call's duration in the metrics (commsgraph_subgraph_request_duration_seconds), for queries
 * and mutations; a subscription is a stream, not a call, and is counted by its events instead.
 */
export function measured(subgraph: string, executor: Executor): Executor {
  return (request: ExecutionRequest) => {
    if (getOperationASTFromRequest(request).operation === 'subscription') return executor(request);
    const started = performance.now();
    const done = (ok: boolean) => metrics.subgraphCall(subgraph, ok, (performance.now() - started) / 1000);
    const settled = (result: unknown) => {
      done(!(result as { errors?: unknown[] } | null)?.errors?.length);
      return result;
    };
    try {
      const result = executor(request);
      if (result instanceof Promise)
        return result.then(settled, (err: unknown) => {
          done(false);
          throw err;
        }) as ReturnType<Executor>;
      return settled(result) as ReturnType<Executor>;
    } catch (err) {
      done(false);
      throw err;
    }
  };
}

/**
 * Runs a subgraph's operations in the gateway's process: no HTTP hop, no
 * serialisation. Each gateway request gets its own subgraph context (and so
 * its own DataLoaders), shared by every call the gateway makes to that
 * subgraph while planning the request.
 */
export function inProcessExecutor(subgraph: Subgraph): Executor {
  const contexts = new WeakMap<object, BaseContext>();
  const executor = measured(subgraph.name, (request: ExecutionRequest) => {
    const gatewayCtx = (request.context ?? {}) as BaseContext;
    let ctx = contexts.get(gatewayCtx);
    if (!ctx) {
      ctx = subgraph.contextFor({ requestId: gatewayCtx.requestId, principal: gatewayCtx.principal ?? null });
      // A subscription resolves each event with fresh loaders; a request shares them across its calls.
      if (!gatewayCtx.longLived) contexts.set(gatewayCtx, ctx);
    }
    const args = {
      schema: subgraph.schema,
      document: request.document,
      variableValues: request.variables,
      operationName: request.operationName,
      rootValue: request.rootValue,
      contextValue: ctx,
    };
    if (getOperationASTFromRequest(request).operation === 'subscription') return normalizedExecutor(args);
    // Queries and mutations through graphql-js's own execute, the engine the subgraph services
    // run; @graphql-tools/executor's (built for incremental delivery) is kept for subscriptions,
    // and cost a measurable share of each in-process request otherwise. The Executor type's
    // result is generic in the caller's data type; graphql-js types data as an open record.
    return execute(args) as ReturnType<Executor>;
  });
  return sharingQueries(subgraph.name, executor);
}

/**
 * Identical queries of one caller in flight at once run once (./inflight.ts says on what terms):
 * the key is the caller's token and the request as it would be sent (operation name, the document
 * as ./request-key.ts writes it, variables). Mutations, subscriptions, calls without a token and
 * the long-lived contexts of subscriptions pass straight through. Wraps the measured executor, so
 * the call metrics count calls made, not calls joined.
 */
function sharingQueries(subgraph: string, executor: Executor): Executor {
  const calls = new InflightCalls<ExecutionResult>(copyResult, () => metrics.subgraphCallShared(subgraph));
  return (request: ExecutionRequest) => {
    const ctx = request.context as ForwardingContext | undefined;
    if (!ctx?.authorization || ctx.longLived || getOperationASTFromRequest(request).operation !== 'query')
      return executor(request);
    const key = `${ctx.authorization}\n${request.operationName ?? ''}\n${documentKey(request.document)}\n${JSON.stringify(request.variables ?? {})}`;
    return calls.run(key, async () => (await executor(request)) as ExecutionResult) as ReturnType<Executor>;
  };
}

/** A joining caller's own copy of an answer (remote or in-process): its data deep-copied, its errors listed anew. */
function copyResult(result: ExecutionResult): ExecutionResult {
  return {
    ...result,
    ...(result.data ? { data: copyData(result.data) as ExecutionResult['data'] } : {}),
    ...(result.errors ? { errors: [...result.errors] } : {}),
  };
}

/**
 * A deep copy of an answer's data, which is JSON-shaped: parsed from a subgraph service's body, or
 * a graphql-js result (null-prototype objects, arrays, serialised scalars). Plain objects and
 * arrays are copied here, what else might appear (a custom scalar's non-plain value) by
 * structuredClone. structuredClone of every answer took 3.5 % of the remote gateway's CPU under
 * the page bench (one copy per joined call, and most calls join); this loop copies a 12.5 kB
 * entity answer in about a seventh of structuredClone's time (12-17 µs against 92-115 µs, node
 * 24). test/unit/gateway/request-key.test.ts checks the copies are equal and share no object.
 * Enumerable string keys only, as structuredClone copies; the stitching layer's symbol
 * annotations are not data and each caller makes its own.
 */
export function copyData(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyData(value[i]);
    return out;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  // for-in over a plain or null-prototype object is its own keys (Object.prototype has no
  // enumerable ones), without the key array Object.keys allocates.
  for (const key in value) {
    const v = copyData((value as Record<string, unknown>)[key]);
    // A key "__proto__" (an alias may be any name) is data: defined, never the copy's prototype.
    if (key === '__proto__')
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out;
}

/**
 * Subgraph documents' texts kept, by the documents' keys: a gateway sends a few shapes of document
 * per operation it serves, so a few hundred cover many operations; the weight bound (characters)
 * keeps a client's endless distinct operations from growing the process.
 */
const PRINTED_DOCUMENTS = { maxEntries: 1_000, maxTextChars: 4_000_000 } as const;

/**
 * The text of a subgraph call's document as executor-http would send it (printed, then stripped of
 * ignored characters: its default print), remembered by the document's key (./request-key.ts),
 * which two documents share exactly when they print the same. Each call's document is a new object
 * the stitching layer built, so executor-http's own memo (by document object) never hit: it printed
 * and re-lexed every document it sent, some 100 µs an entity query, while the key takes about 1 µs.
 * One printer per process: equal keys mean equal text whichever subgraph the call goes to.
 */
export function subgraphDocumentPrinter(): (document: DocumentNode) => string {
  const printed = new Lru<string, string>(PRINTED_DOCUMENTS.maxEntries, PRINTED_DOCUMENTS.maxTextChars);
  // executor-http asks twice per call for the same document (the request, then its body): the
  // last answer is kept, so the second ask costs a comparison.
  let lastDocument: DocumentNode | null = null;
  let lastText = '';
  return (document) => {
    if (document === lastDocument) return lastText;
    const key = documentKey(document);
    let text = printed.get(key);
    if (text === undefined) {
      text = stripIgnoredCharacters(print(document));
      printed.set(key, text, text.length);
    }
    lastDocument = document;
    lastText = text;
    return text;
  };
}
const printSubgraphDocument = subgraphDocumentPrinter();

/** The gateway context fields forwarded to a remote subgraph. */
export interface ForwardingContext extends BaseContext {
  authorization?: string;
}

/* eslint-disable @typescript-eslint/no-require-imports -- a deferred load, typed by its import */
/**
 * The graphql-ws client and its executor (with its WebSocket shim): only remote mode calls
 * subgraphs over a socket, so the embedded default does not load them on its way to ready (issue
 * 13, item 4).
 */
const graphqlWsExecutor = () =>
  require('@graphql-tools/executor-graphql-ws') as typeof import('@graphql-tools/executor-graphql-ws');
const graphqlWs = () => require('graphql-ws') as typeof import('graphql-ws');
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Calls a subgraph service: HTTP for queries and mutations, graphql-ws for
 * subscriptions. The caller's token is forwarded so the subgraph authorises
 * the call itself. Identical queries of the same caller in flight at once
 * share one call (./inflight.ts); mutations never do.
 */
export function remoteExecutor(name: string, url: string): { executor: Executor; dispose(): Promise<void> } {
  const http = buildHTTPExecutor({
    endpoint: url,
    headers: (req?: ExecutionRequest) => {
      const ctx = req?.context as ForwardingContext | undefined;
      const auth = ctx?.authorization;
      const headers: Record<string, string> = {};
      if (auth) headers.authorization = auth;
      // The subgraph service logs under the same request id (traceparent is the HTTP instrumentation's).
      if (ctx?.requestId) headers['x-request-id'] = ctx.requestId;
      return headers;
    },
    timeout: 30_000,
    print: printSubgraphDocument,
    // executor-http's own sharing of identical in-flight queries keys on every header, and each
    // call carries its own x-request-id, so it never shared anything while still deep-copying each
    // answer; queries are shared before they reach it instead (sharingQueries).
    deduplicateInflightRequests: false,
  });
  const { buildGraphQLWSExecutor } = graphqlWsExecutor();
  const { createClient } = graphqlWs();
  const wsUrl = url.replace(/^http/, 'ws');
  // Each subscription on sockets of its own, carrying the caller's token, resumed after the last
  // event it passed on when a socket drops (./upstream-subscriptions.ts); ended when the gateway stops.
  const open = new Set<UpstreamSubscription>();
  let stopping = false;
  // Typed as an Executor, whose result is generic in the caller's data type: events are open records.
  const subscribe = ((request: ExecutionRequest) => {
    if (stopping) throw new Error('the gateway is stopping');
    const auth = (request.context as ForwardingContext | undefined)?.authorization;
    const subscription: UpstreamSubscription = new UpstreamSubscription(request, {
      subgraph: name,
      createClient: ({ on }) =>
        createClient({
          url: wsUrl,
          lazy: true,
          lazyCloseTimeout: 0,
          // Resuming is the subscription's own (see UpstreamSubscription): graphql-ws would send it again as first sent.
          retryAttempts: 0,
          connectionParams: auth ? { authorization: auth } : {},
          on,
        }),
      executorFor: (client) => buildGraphQLWSExecutor(client),
      onEnd: () => open.delete(subscription),
    });
    open.add(subscription);
    return subscription;
  }) as Executor;
  const executor: Executor = async (request) => {
    const op = getOperationASTFromRequest(request);
    try {
      if (op.operation === 'subscription') return await subscribe(request);
      return await http(request);
    } catch (err) {
      throw upstreamUnavailable(`Subgraph ${name} is unavailable: ${(err as Error).message}`);
    }
  };
  return {
    executor: sharingQueries(name, measured(name, executor)),
    dispose: async () => {
      stopping = true;
      await Promise.all([...open].map((s) => s.return()));
    },
  };
}
