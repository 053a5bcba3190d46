import { log } from '../logger.js';

/**
 * Which errors mean "the database is not there right now" (a dropped or refused connection, a
 * server shutting down or restarting) rather than "this statement is wrong". The first kind is
 * an outage: the work is retried when the database is back, the client is told to retry
 * (UPSTREAM_UNAVAILABLE, reason DATABASE_UNAVAILABLE), and it is logged once per outage at warn,
 * not as an unexpected error per request or per tick. Everything else keeps its own handling.
 */

/**
 * SQLSTATEs of a server that ends or refuses the session: admin_shutdown (57P01, what
 * pg_terminate_backend and a fast shutdown send), crash_shutdown (57P02), cannot_connect_now
 * (57P03, starting up or in recovery). Class 08 is every connection exception.
 */
const SESSION_ENDED = new Set(['57P01', '57P02', '57P03']);

/** Socket errors (Node's `code`) of a connection that broke or could not be made. */
const SOCKET_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * node-postgres says these in words, with no code: the socket closed mid-query ("Connection
 * terminated unexpectedly", "Connection terminated"), a client whose connection already failed
 * was asked again, or the pool's connect timed out.
 */
const PG_MESSAGES = [
  /^Connection terminated\b/,
  /^Client has encountered a connection error and is not queryable$/,
  /^timeout exceeded when trying to connect$/,
];

/** The error itself, then what it wraps (GraphQL's originalError, `cause`, an AggregateError's errors). */
function* chain(err: unknown, depth = 0): Generator<unknown> {
  if (err == null || depth > 8) return;
  yield err;
  if (typeof err !== 'object') return;
  const e = err as { originalError?: unknown; cause?: unknown; errors?: unknown };
  if (e.originalError !== undefined) yield* chain(e.originalError, depth + 1);
  if (e.cause !== undefined) yield* chain(e.cause, depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* chain(inner, depth + 1);
}

function isOwnConnectionError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (SESSION_ENDED.has(code) || /^08[0-9A-Z]{3}$/.test(code) || SOCKET_ERRORS.has(code)) return true;
  }
  return typeof message === 'string' && PG_MESSAGES.some((m) => m.test(message));
}

/**
 * True when the error (or one it wraps) is the database connection failing, not the statement.
 * An AggregateError counts when any of its errors does: a batch that the outage cut short.
 */
export function isConnectionError(err: unknown): boolean {
  for (const e of chain(err)) if (isOwnConnectionError(e)) return true;
  return false;
}

/**
 * Logs an outage once when it starts and once when it ends, for one loop or one connection
 * owner, instead of an error on every failed tick. `failed` returns false for an error that is
 * not an outage: the caller logs that as it always did.
 */
export class OutageLog {
  private down = false;

  constructor(
    private readonly what: string,
    private readonly fields: Record<string, unknown> = {},
  ) {}

  get isDown(): boolean {
    return this.down;
  }

  failed(err: unknown): boolean {
    if (!isConnectionError(err)) return false;
    if (!this.down) {
      this.down = true;
      log.warn(`${this.what}: the database is unavailable; retrying until it is back`, {
        ...this.fields,
        reason: describe(err),
      });
    }
    return true;
  }

  /** The database answered again. */
  ok(): void {
    if (!this.down) return;
    this.down = false;
    log.info(`${this.what}: the database is available again`, this.fields);
  }
}

/** The connection error's own words (SQLSTATE or socket code and message), for a log line. */
function describe(err: unknown): string {
  for (const e of chain(err)) {
    if (!isOwnConnectionError(e)) continue;
    const { code, message } = e as { code?: unknown; message?: unknown };
    return typeof code === 'string' ? `${code}: ${String(message)}` : String(message);
  }
  return String(err);
}

/**
 * Some libraries drop a promise whose query may fail (pg-boss completes a fetched job without
 * awaiting it), and a rejection nobody handles ends a Node process. A connection error there is
 * the outage every loop already survives: logged once, and the work is retried (a job whose
 * completion was lost runs again when it expires, and is idempotent). Any other unhandled
 * rejection still ends the process, as it would without this.
 */
export function surviveDroppedConnections(): void {
  process.on('unhandledRejection', (reason) => {
    if (!isConnectionError(reason)) throw reason;
    log.warn('background work lost its database connection; it is retried', { reason: describe(reason) });
  });
}
