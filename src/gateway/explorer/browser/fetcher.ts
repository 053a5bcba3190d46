import { createGraphiQLFetcher, type Fetcher, type FetcherOpts, type FetcherParams } from '@graphiql/toolkit';
import { getOperationAST } from 'graphql';
import { createClient, type Client, type ExecutionResult, type FormattedExecutionResult } from 'graphql-ws';

type Headers = NonNullable<FetcherOpts['headers']>;

/**
 * The headers editor's headers as the server should see them. The editor
 * comes preset with `Authorization: Bearer ` for the user to complete; until
 * a token follows, that header is left out, so the schema still loads
 * (introspection answers without a token) instead of failing on a malformed
 * header.
 */
export function requestHeaders(headers: Headers | undefined): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'authorization' && /^\s*bearer\s*$/i.test(String(value))) continue;
    out[name] = value;
  }
  return out;
}

/** The Authorization header, whatever its case; graphql-ws carries it as `authorization` in the connection params. */
export function authorizationOf(headers: Headers): string | undefined {
  const entry = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization');
  return entry === undefined ? undefined : String(entry[1]);
}

/** A closed socket (4401, 4403, ...) surfaces as a readable error in the result pane, not as `{}`. */
async function* closeAsError(
  results: AsyncIterable<FormattedExecutionResult>,
): AsyncIterable<ExecutionResult> {
  try {
    for await (const result of results) {
      // What arrives is JSON (formatted errors); the toolkit's type names graphql-ws's
      // ExecutionResult, whose errors are GraphQLError instances. GraphiQL only prints them.
      yield result as ExecutionResult;
    }
  } catch (err) {
    if (err instanceof CloseEvent) {
      throw new Error(`The server closed the subscription socket: ${err.code} ${err.reason}`.trim(), {
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Queries and mutations over HTTP to `httpUrl`; subscriptions over
 * graphql-ws to `wsUrl`, authenticated as the server expects: the headers
 * editor's Authorization in the connection params. One client per token:
 * graphql-ws connects lazily and closes an idle socket, so an unused client
 * holds nothing, and changing the token never cuts another tab's stream.
 */
export function explorerFetcher(httpUrl: string, wsUrl: string): Fetcher {
  const http = createGraphiQLFetcher({ url: httpUrl });
  const clients = new Map<string, Client>();
  const clientFor = (authorization: string | undefined): Client => {
    const key = authorization ?? '';
    let client = clients.get(key);
    if (!client) {
      client = createClient({ url: wsUrl, connectionParams: authorization ? { authorization } : {} });
      clients.set(key, client);
    }
    return client;
  };
  return (params: FetcherParams, opts?: FetcherOpts) => {
    const headers = requestHeaders(opts?.headers);
    const operation =
      opts?.documentAST && getOperationAST(opts.documentAST, params.operationName ?? undefined);
    if (operation?.operation === 'subscription') {
      return closeAsError(
        clientFor(authorizationOf(headers)).iterate({
          query: params.query,
          operationName: params.operationName ?? undefined,
          variables: params.variables as Record<string, unknown> | undefined,
        }),
      );
    }
    return http(params, { ...opts, headers });
  };
}
