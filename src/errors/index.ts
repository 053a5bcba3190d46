import { GraphQLError } from 'graphql';

/** The error codes of the product contract; nothing else reaches a client. */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  CONFLICT = 'CONFLICT',
  APPROVAL_REQUIRED = 'APPROVAL_REQUIRED',
  UPSTREAM_UNAVAILABLE = 'UPSTREAM_UNAVAILABLE',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

const CODES = new Set<string>(Object.values(ErrorCode));

export function isContractCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && CODES.has(code);
}

/** An expected error: its message and code are meant for the client. */
export class GraphQLErrorWithCode extends GraphQLError {
  constructor(
    message: string,
    readonly code: ErrorCode,
    extra: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { ...extra, code } });
    this.name = 'GraphQLErrorWithCode';
  }
}

export const unauthenticated = (msg = 'Authentication required') =>
  new GraphQLErrorWithCode(msg, ErrorCode.UNAUTHENTICATED);
export const forbidden = (msg = 'Not allowed') => new GraphQLErrorWithCode(msg, ErrorCode.FORBIDDEN);
export const notFound = (what: string, id: string) =>
  new GraphQLErrorWithCode(`${what} ${id} not found`, ErrorCode.NOT_FOUND, { id });
export const badInput = (msg: string, field?: string) =>
  new GraphQLErrorWithCode(msg, ErrorCode.BAD_USER_INPUT, field ? { field } : {});
/** `reason` names the rule for clients that branch on it (e.g. IDEMPOTENCY_KEY_REUSED). */
export const conflict = (msg: string, reason?: string) =>
  new GraphQLErrorWithCode(msg, ErrorCode.CONFLICT, reason ? { reason } : {});
/** `reason` names the rule, as for conflict (e.g. APPROVED_VERSION_CHANGED). */
export const approvalRequired = (msg: string, reason?: string) =>
  new GraphQLErrorWithCode(msg, ErrorCode.APPROVAL_REQUIRED, reason ? { reason } : {});
export const upstreamUnavailable = (msg: string) =>
  new GraphQLErrorWithCode(msg, ErrorCode.UPSTREAM_UNAVAILABLE);

/** How long a client waits before retrying work the database's absence stopped, in seconds. */
export const DATABASE_RETRY_AFTER_SEC = 2;

/**
 * The store's connection dropped or cannot be made (src/store/connection-errors.ts): nothing the
 * caller did, and worth a retry. HTTP 503 with Retry-After when nothing of the answer resolved.
 */
export const databaseUnavailable = () =>
  new GraphQLErrorWithCode('The database is unavailable; try again shortly', ErrorCode.UPSTREAM_UNAVAILABLE, {
    reason: 'DATABASE_UNAVAILABLE',
    retryAfter: DATABASE_RETRY_AFTER_SEC,
  });
