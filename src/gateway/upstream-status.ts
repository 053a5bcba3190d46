/**
 * An operation that could not be done at all because an upstream (OpenText Exstream, Workflow
 * Service, a subgraph's own dependency) is unavailable answers HTTP 503 with `Retry-After`, as
 * the connected-mode contract says: load balancers, proxies and clients' retry policies act on
 * that status. The subgraph that met the outage says so in the error's extensions
 * (`code: UPSTREAM_UNAVAILABLE`, `retryAfter` in seconds); the HTTP status a subgraph set does
 * not cross the federation boundary, so the gateway decides it here, once, for every transport
 * that has a status (graphql-ws carries the error in the payload only).
 *
 * Only an answer with no data is a 503: when some root fields resolved, the client has a useful
 * partial answer and gets it with 200 (under `application/json`) as GraphQL over HTTP says.
 */
import type { ApolloServerPlugin, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../errors/index.js';

/** When the error does not say how long to wait. */
export const DEFAULT_RETRY_AFTER_SEC = 5;

/** The 503's Retry-After for these errors, or null when the answer is not an outage. */
export function upstreamOutage(
  data: Record<string, unknown> | null | undefined,
  errors: readonly GraphQLFormattedError[] | undefined,
): number | null {
  if (!errors?.length) return null;
  const outages = errors.filter((e) => e.extensions?.code === ErrorCode.UPSTREAM_UNAVAILABLE);
  if (!outages.length) return null;
  const someData = data != null && Object.values(data).some((v) => v !== null && v !== undefined);
  if (someData) return null;
  let retryAfter = 0;
  for (const e of outages) {
    const sec = Number(e.extensions?.retryAfter);
    if (Number.isFinite(sec) && sec > retryAfter) retryAfter = Math.ceil(sec);
  }
  return retryAfter || DEFAULT_RETRY_AFTER_SEC;
}

export function upstreamOutageStatus<C extends object>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse(ctx: GraphQLRequestContextWillSendResponse<C>) {
          const body = ctx.response.body;
          if (body.kind !== 'single') return;
          const retryAfter = upstreamOutage(body.singleResult.data, body.singleResult.errors);
          if (retryAfter === null) return;
          ctx.response.http.status = 503;
          ctx.response.http.headers.set('retry-after', String(retryAfter));
        },
      };
    },
  };
}
