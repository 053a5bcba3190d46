import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestContext } from '@apollo/server';
import type { FormattedExecutionResult } from 'graphql';
import type { ForwardingContext } from './executors.js';

/**
 * A subgraph service answers identical queries of one caller, in flight at the same moment, with
 * one execution: the same terms as the gateway's sharing of subgraph calls (./inflight.ts), applied
 * where the query arrives, so whoever calls the service (our gateway, another Federation 2 gateway
 * that shares nothing, several gateway replicas, a client hitting the service directly) gets the
 * same saving.
 *
 * What makes two requests "identical" is chosen so that sharing can never show one caller another's
 * data or skip a check:
 * - the same `Authorization` header: the service verifies the token and authorises every field for
 *   it, so two requests with the same token are the same identity and get the same answer; requests
 *   without a token never share;
 * - the same document (Apollo's hash of the query text), operation name and variables;
 * - a query, resolved and validated: mutations and subscriptions always run, and each request is
 *   parsed, validated and authenticated on its own before it may join.
 *
 * A request that joins gets the first request's answer as that request sends it (errors already
 * masked), written as its own response; nothing is kept once the first request has answered: this
 * is not a cache. If the first request's answer is not a single result (an incremental delivery)
 * or its processing failed unexpectedly, the requests that waited run themselves.
 */
export function sharingQueriesPlugin<C extends ForwardingContext>(
  onShared: () => void,
): ApolloServerPlugin<C> {
  /** The first request's answer by key, while it runs: null tells a joiner to run itself. */
  const inflight = new Map<string, Promise<SharedAnswer | null>>();
  /** How to settle what a first request's joiners wait for, by its request context. */
  const leaders = new WeakMap<object, (answer: SharedAnswer | null) => void>();
  const settle = (requestContext: object, answer: SharedAnswer | null) => {
    const done = leaders.get(requestContext);
    if (!done) return;
    leaders.delete(requestContext);
    done(answer);
  };

  return {
    // Apollo's pipeline threw past every hook (a bug, not a GraphQL error): willSendResponse is not
    // called then, and the joiners must not wait forever.
    async unexpectedErrorProcessingRequest({ requestContext }) {
      settle(requestContext, null);
    },
    async requestDidStart() {
      return {
        async responseForOperation(requestContext) {
          const key = sharingKey(requestContext);
          if (key === null) return null;
          const first = inflight.get(key);
          if (!first) {
            let resolve!: (answer: SharedAnswer | null) => void;
            inflight.set(key, new Promise<SharedAnswer | null>((r) => (resolve = r)));
            leaders.set(requestContext, (answer) => {
              inflight.delete(key);
              resolve(answer);
            });
            return null;
          }
          const answer = await first;
          if (!answer) return null;
          onShared();
          return {
            http: { status: answer.status, headers: new HeaderMap() },
            body: { kind: 'single', singleResult: answer.result },
          };
        },
        async willSendResponse(requestContext) {
          const body = requestContext.response.body;
          settle(
            requestContext,
            body?.kind === 'single'
              ? { status: requestContext.response.http.status, result: body.singleResult }
              : null,
          );
        },
      };
    },
  };
}

/** What a joining request answers: the first request's formatted result and its HTTP status. */
interface SharedAnswer {
  status: number | undefined;
  result: FormattedExecutionResult;
}

/** The key two requests share under, or null for a request that never shares. */
function sharingKey<C extends ForwardingContext>(requestContext: GraphQLRequestContext<C>): string | null {
  const ctx = requestContext.contextValue;
  if (requestContext.operation?.operation !== 'query' || !ctx.authorization || ctx.longLived) return null;
  // queryHash is set for every request that got this far (Apollo's sha256 of the query text).
  const hash = requestContext.queryHash;
  if (!hash) return null;
  const { operationName, variables } = requestContext.request;
  return `${ctx.authorization}\n${hash}\n${operationName ?? ''}\n${JSON.stringify(variables ?? {})}`;
}
