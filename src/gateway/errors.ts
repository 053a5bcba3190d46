import { randomUUID } from 'node:crypto';
import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { databaseUnavailable, ErrorCode, isContractCode } from '../errors/index.js';
import { log } from '../logger.js';
import { isConnectionError } from '../store/connection-errors.js';

/** Apollo Server's own codes for requests that are malformed, mapped onto the contract. */
const CLIENT_FAULTS = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/**
 * Only coded, expected errors reach clients. A dropped database connection is
 * UPSTREAM_UNAVAILABLE (reason DATABASE_UNAVAILABLE, retryAfter): a retry will
 * do. Anything else is logged in full with a correlation id and reaches the
 * client as INTERNAL_SERVER_ERROR with that id and nothing more.
 */
export function maskError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (isContractCode(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
    return {
      message: formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: pick(formatted.extensions),
    };
  }
  if (typeof code === 'string' && CLIENT_FAULTS.has(code)) {
    return { ...formatted, extensions: { code: ErrorCode.BAD_USER_INPUT, reason: code } };
  }
  const original = unwrapResolverError(error);
  if (isConnectionError(original) || isConnectionError(error)) {
    // The store's connection dropped mid-request: an outage the client retries, not a fault of
    // ours to investigate per request (the store logs the outage itself, once).
    const coded = databaseUnavailable();
    log.debug('request failed: database unavailable', { path: formatted.path, err: original });
    return {
      message: coded.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: pick(coded.extensions),
    };
  }
  const correlationId = randomUUID();
  log.error('unexpected error', {
    correlationId,
    path: formatted.path,
    err: original instanceof Error ? original : new Error(String(formatted.message)),
  });
  return {
    message: 'Internal server error',
    path: formatted.path,
    locations: formatted.locations,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, correlationId },
  };
}

/** Keeps the code and the fields we put there on purpose; drops stack traces and internals. */
function pick(ext: GraphQLFormattedError['extensions']): Record<string, unknown> {
  const out: Record<string, unknown> = { code: ext?.code };
  for (const k of ['field', 'id', 'reason', 'retryAfter', 'resumeAfter', 'upstream'] as const)
    if (ext?.[k] !== undefined) out[k] = ext[k];
  return out;
}
