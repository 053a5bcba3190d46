/**
 * Tracing with OpenTelemetry, set up before anything else is loaded: the entry points (main.ts,
 * bin/subgraph.ts, bin/worker.ts) import this module first, so the instrumentations patch `http`,
 * `pg`, `ioredis` and `graphql` before the code that uses them is required.
 *
 * On only when an exporter is asked for in the standard way: OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER is set, and OTEL_SDK_DISABLED is not
 * `true`. Every other OTEL_* variable is the SDK's own to read (OTEL_EXPORTER_OTLP_PROTOCOL
 * `http/protobuf` or `http/json`, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER,
 * OTEL_BSP_*, headers and timeouts). Off, nothing is loaded: the API's no-op tracer costs nothing
 * measurable.
 *
 * Continued across processes by W3C Trace Context (`traceparent`): the HTTP instrumentation reads
 * it on every incoming request and writes it on every outgoing one (subgraph calls, OpenText
 * calls, the identity provider), so a trace runs gateway → subgraph service → database.
 */
import path from 'node:path';
import type { IncomingMessage } from 'node:http';

/** Whether tracing is on for this process (the settings above). */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER) return env.OTEL_TRACES_EXPORTER !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** The service name when OTEL_SERVICE_NAME is not set: the process type, like the logs' `proc`. */
function defaultServiceName(): string {
  const script = path.basename(process.argv[1] ?? '', '.js');
  if (script === 'subgraph') return `commsgraph-${process.argv[2] ?? 'subgraph'}`;
  if (script === 'worker') return 'commsgraph-worker';
  return 'commsgraph-gateway';
}

/** Probes and scrapes are not traced: they would drown the traces that matter. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

let shutdown: () => Promise<void> = async () => undefined;

/** Flushes the spans still buffered; called by the drain on SIGTERM. */
export function shutdownTracing(): Promise<void> {
  return shutdown();
}

if (tracingRequested()) {
  // Metrics are served by prom-client (/metrics) and logs go to stderr: unless asked for, the SDK
  // exports neither (its defaults would push both to the OTLP endpoint too).
  process.env.OTEL_METRICS_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  process.env.OTEL_SERVICE_NAME ??= defaultServiceName();
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when tracing is on, and before the code they patch */
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { UndiciInstrumentation } =
    require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  const { PgInstrumentation } =
    require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { IORedisInstrumentation } =
    require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis');
  const { GraphQLInstrumentation } =
    require('@opentelemetry/instrumentation-graphql') as typeof import('@opentelemetry/instrumentation-graphql');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const sdk = new NodeSDK({
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) =>
          UNTRACED.has(new URL(req.url ?? '/', 'http://localhost').pathname),
      }),
      // fetch(): subgraph calls between services, OpenText and the identity provider.
      new UndiciInstrumentation(),
      // The store's statements, on PostgreSQL and on the embedded PGlite alike (both through pg).
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      // Parse, validate, execute; resolvers that only read a property get no span of their own.
      new GraphQLInstrumentation({ ignoreTrivialResolveSpans: true, mergeItems: true }),
    ],
  });
  sdk.start();
  shutdown = () => sdk.shutdown().catch(() => undefined);
}
