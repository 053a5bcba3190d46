/**
 * Logs with pino: one JSON line per entry on stderr, so logs of several processes can be told
 * apart and parsed. Errors are logged in full (stack included) here and never sent to clients.
 *
 * Every line carries `t` (ISO 8601 time), `level` (debug, info, warn, error), `proc` (gateway,
 * worker, a subgraph's name) and `msg`; inside a request, also the request's `requestId` and
 * `operationName` (a child logger per request, see `withRequestLog`), and with tracing on the
 * active `traceId` and `spanId`. Tokens, secrets and personal data are redacted by path (REDACT).
 *
 * The call sites keep the shape they had before pino: `log.info('message', { fields })`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

type Level = 'debug' | 'info' | 'warn' | 'error';
type Threshold = Level | 'silent';

/**
 * Paths whose values never reach a log: tokens and secrets, and personal data (names, emails,
 * phones, addresses, document content and the data merged into documents). A path names a key
 * at the top of an entry's fields or one level down (pino's `*` matches one level).
 */
export const REDACT = [
  'authorization',
  'token',
  'accessToken',
  'password',
  'secret',
  'clientSecret',
  'cookie',
  'email',
  'phone',
  'address',
  'postalAddress',
  'customerName',
  'fullName',
  'content',
  'body',
  'variables',
  'data',
  'payload',
  'headers.authorization',
  'headers.cookie',
  'customer.name',
  '*.authorization',
  '*.token',
  '*.accessToken',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.email',
  '*.phone',
  '*.address',
  '*.postalAddress',
  '*.customerName',
  '*.fullName',
  '*.content',
  '*.variables',
  '*.data',
];

/**
 * A request's child logger, made the first time the request logs: most requests log nothing at
 * the configured level, and making a pino child (its bindings serialised, redaction set up) for
 * each was a measurable share of every request in the gateway's CPU profile.
 */
interface RequestScope {
  /** The logger the child derives from (the enclosing request's, or the process's). */
  parent: () => Logger;
  /** Bindings in the order given, applied when the child is made. */
  bindings: Array<Record<string, unknown>>;
  logger?: Logger;
}
const scope = new AsyncLocalStorage<RequestScope>();

let threshold: Threshold = (process.env.LOG_LEVEL as Threshold | undefined) ?? 'info';
let processName = process.env.PROCESS_NAME ?? 'commsgraph';

/** Writes through `process.stderr.write` (not the fd), synchronously, so tests and supervisors see each line whole and in order. */
const stderr = { write: (line: string) => process.stderr.write(line) };

function pretty(): boolean {
  // pino-pretty is a development dependency: never in production, and only when asked for.
  return process.env.LOG_PRETTY === 'true' && process.env.NODE_ENV !== 'production';
}

function build(): Logger {
  const options: pino.LoggerOptions = {
    level: threshold,
    base: { proc: processName },
    messageKey: 'msg',
    timestamp: () => `,"t":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.errWithCause },
    redact: { paths: REDACT, censor: '[redacted]' },
    // The trace and span this line belongs to (cheap: a lookup in the active context).
    mixin() {
      const span = trace.getActiveSpan()?.spanContext();
      return span && isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : {};
    },
  };
  if (pretty()) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { destination: 2 } } });
  }
  return pino(options, stderr);
}

let root = build();

export function configureLogger(opts: { level?: Threshold; name?: string }): void {
  if (opts.level) threshold = opts.level;
  if (opts.name) processName = opts.name;
  root = build();
}

/** The logger of the request under way (its child logger), else the process's. */
function current(): Logger {
  const s = scope.getStore();
  return s ? loggerOf(s) : root;
}

function loggerOf(s: RequestScope): Logger {
  return (s.logger ??= s.bindings.reduce((logger, b) => logger.child(b), s.parent()));
}

/** Any Error among the fields is logged whole (name, message, stack, cause), whatever its key. */
function serialise(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields))
    out[k] = v instanceof Error ? pino.stdSerializers.errWithCause(v) : v;
  return out;
}

function write(level: Level, msg: string, fields?: Record<string, unknown>): void {
  // A child has its parent's level: asked of the process's logger while the child is not made yet.
  if (!(scope.getStore()?.logger ?? root).isLevelEnabled(level)) return;
  const logger = current();
  if (fields) logger[level](serialise(fields), msg);
  else logger[level](msg);
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
};

/**
 * Runs `fn` with a child logger carrying `bindings` (requestId): every `log` call made while it
 * runs, in any module, writes through that child.
 */
export function withRequestLog<T>(bindings: Record<string, unknown>, fn: () => T): T {
  const outer = scope.getStore();
  return scope.run({ parent: outer ? () => loggerOf(outer) : () => root, bindings: [bindings] }, fn);
}

/** Adds bindings (operationName, once parsed) to the current request's child logger. */
export function bindRequestLog(bindings: Record<string, unknown>): void {
  const s = scope.getStore();
  if (!s) return;
  if (s.logger) s.logger = s.logger.child(bindings);
  else s.bindings.push(bindings);
}
