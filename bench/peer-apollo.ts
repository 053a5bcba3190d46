/**
 * @apollo/gateway with @apollo/server as a peer for bench/gateways.ts: the
 * supergraph our composition made from the running subgraph services, each
 * subgraph a RemoteGraphQLDataSource that forwards the client's
 * Authorization header (the services verify it).
 */
import fs from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { announce, supergraphPath } from './peer-protocol.js';

interface PeerContext {
  authorization?: string;
}

class ForwardingDataSource extends RemoteGraphQLDataSource<PeerContext> {
  override willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<PeerContext>['willSendRequest']>>[0]): void {
    if (context.authorization) request.http?.headers.set('authorization', context.authorization);
  }
}

async function main(): Promise<void> {
  const gateway = new ApolloGateway({
    supergraphSdl: fs.readFileSync(supergraphPath(), 'utf8'),
    buildService: ({ url }) => new ForwardingDataSource({ url }),
  });
  const server = new ApolloServer<PeerContext>({
    // @apollo/gateway 2 implements @apollo/server-gateway-interface 1, @apollo/server 5 types
    // version 2 of it; the calls the server makes are the same (Apollo's docs pair them).
    gateway: gateway as unknown as ConstructorParameters<typeof ApolloServer<PeerContext>>[0] extends {
      gateway?: infer G;
    }
      ? G
      : never,
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  const { version } = JSON.parse(
    fs.readFileSync(require.resolve('@apollo/gateway/package.json'), 'utf8'),
  ) as {
    version: string;
  };
  announce({ url, version: `@apollo/gateway ${version}` }, () => server.stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
