import type {
  GatewayExecutor,
  GatewayGraphQLRequestContext,
  GatewayInterface,
  GatewaySchemaLoadOrUpdateCallback,
} from '@apollo/server-gateway-interface';
import { execute, GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { log } from '../logger.js';
import { Lru } from '../lru.js';
import { metrics } from '../telemetry/metrics.js';
import { inSpan } from '../telemetry/tracing.js';

/**
 * Documents whose compiled queries are kept. Apollo Server hands the gateway the same parsed
 * document for the same text (its document store), so the key is the document object itself.
 * A compiled query holds generated functions, a few kB to some 100 kB each: a client sending
 * endless distinct documents only turns this over.
 */
export const COMPILED_DOCUMENTS = 500;

/** A document's compiled operations by name ('' for the only one); null: graphql-jit refused it, graphql-js runs it. */
type Compiled = Map<string, CompiledQuery | null>;

export interface RunArgs {
  document: DocumentNode;
  operationName: string | null | undefined;
  variables: Record<string, unknown> | undefined;
  contextValue: unknown;
}

/** Runs one query or mutation of the (stitched) schema; counted by engine in the metrics. */
export type JitExecutor = (args: RunArgs) => Promise<ExecutionResult> | ExecutionResult;

/**
 * Queries and mutations of the stitched schema through graphql-jit: each document is compiled
 * once into a function, where graphql-js walks the document again on every request. (It does not
 * make @graphql-tools/delegate's work cheaper: the documents it sends to the subgraphs are still
 * built per request, and its one memo on whole `fieldNodes` arrays is also keyed on the request's
 * coerced variables, a new object each time.)
 *
 * graphql-js stays the reference. A document graphql-jit does not compile runs on graphql-js
 * (logged at debug). A request whose variables graphql-jit refuses (no `data` in its answer:
 * nothing was executed) is run again by graphql-js, which refuses it in its own words, the
 * errors Apollo Server turns into BAD_USER_INPUT and a 400.
 */
export function jitExecutor(schema: GraphQLSchema): JitExecutor {
  const compiled = new Lru<DocumentNode, Compiled>(COMPILED_DOCUMENTS);
  function compiledFor(
    document: DocumentNode,
    operationName: string | null | undefined,
  ): CompiledQuery | null {
    const name = operationName ?? '';
    let byName = compiled.get(document);
    if (!byName) {
      byName = new Map();
      compiled.set(document, byName);
    }
    let query = byName.get(name);
    if (query === undefined) {
      query = null;
      try {
        const result = compileQuery(schema, document, operationName ?? undefined);
        if (isCompiledQuery(result)) query = result;
        else
          log.debug('graphql-jit did not compile a document; graphql-js runs it', { errors: result.errors });
      } catch (err) {
        log.debug('graphql-jit failed to compile a document; graphql-js runs it', { err });
      }
      byName.set(name, query);
    }
    return query;
  }

  const reference = (args: RunArgs) => {
    metrics.executed('graphql-js');
    return execute({
      schema,
      document: args.document,
      operationName: args.operationName,
      variableValues: args.variables,
      contextValue: args.contextValue,
    });
  };

  return (args) => {
    const query = compiledFor(args.document, args.operationName);
    if (!query) return reference(args);
    const settle = (result: ExecutionResult) => {
      if (!('data' in result)) return reference(args);
      metrics.executed('jit');
      return locatedAsGraphqlJs(result);
    };
    const result = query.query(undefined, args.contextValue, args.variables);
    return result instanceof Promise ? result.then(settle) : settle(result);
  };
}

/**
 * graphql-jit wraps every error a resolver throws or returns in an error at that field's path and
 * location. graphql-js keeps an error that already has a path as it is (locatedError): the stitching
 * layer's errors from a subgraph come located where the subgraph's answer put them, some without
 * locations. The same errors reach clients as before, then (test/integration/jit.test.ts).
 */
function locatedAsGraphqlJs(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  let changed = false;
  const errors = result.errors.map((error) => {
    const original = error.originalError;
    if (original instanceof GraphQLError && Array.isArray(original.path)) {
      changed = true;
      return original;
    }
    return error;
  });
  return changed ? { ...result, errors } : result;
}

/**
 * The stitched schema served through Apollo Server's gateway interface (the seam @apollo/gateway
 * uses for its own executor): Apollo still parses, validates, runs every plugin (limits, rate
 * limits, the anonymous refusal, the outage status) and formats every error (masking); only the
 * execution of queries and mutations is graphql-jit's. Subscriptions never reach it over HTTP
 * (refused by the guards) and run on graphql-js over graphql-ws and SSE.
 */
export function jitGateway(schema: GraphQLSchema, executor = jitExecutor(schema)): GatewayInterface {
  let listener: GatewaySchemaLoadOrUpdateCallback | null = null;
  const run: GatewayExecutor = (ctx: GatewayGraphQLRequestContext) =>
    // The OpenTelemetry instrumentation traces graphql-js's execute only; this keeps the gateway's
    // execution span (named as that instrumentation names it) when graphql-jit runs the request.
    inSpan(
      'graphql.execute',
      {
        // Typed as always set, but Apollo Server calls a gateway's executor also when no operation
        // could be determined (an unknown name; several and none named): graphql-js then refuses it.
        'graphql.operation.type': (ctx.operation as typeof ctx.operation | undefined)?.operation ?? '',
        'graphql.operation.name': ctx.operationName ?? '',
      },
      async () =>
        // The gateway interface's result is typed with open records; graphql-js's is the same shape.
        (await executor({
          document: ctx.document,
          // As graphql-js would be asked: the request's name (none for a document of one operation).
          operationName: ctx.request.operationName,
          variables: ctx.request.variables,
          contextValue: ctx.context,
        })) as Awaited<ReturnType<GatewayExecutor>>,
    );
  return {
    onSchemaLoadOrUpdate(callback) {
      listener = callback;
      return () => {
        listener = null;
      };
    },
    async load() {
      // The schema never changes while the process runs: announced once, as Apollo Server expects.
      listener?.({ apiSchema: schema, coreSupergraphSdl: '' });
      return { executor: run };
    },
    async stop() {},
  };
}
