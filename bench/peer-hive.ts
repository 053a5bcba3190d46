/**
 * Hive Gateway (@graphql-hive/gateway-runtime) as a peer for
 * bench/gateways.ts: the supergraph our composition made from the running
 * subgraph services, served on node:http, forwarding the client's
 * Authorization header to every subgraph (the services verify it).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { announce, supergraphPath } from './peer-protocol.js';

/**
 * The part of the runtime's API used here, typed by hand: its own type declarations
 * (graphql-yoga, whatwg-node) augment graphql's GraphQLErrorExtensions and the global fetch
 * types, and once in the program they break the type check of src/ (rate-limit.ts, opentext).
 */
interface HiveRuntime {
  (req: http.IncomingMessage, res: http.ServerResponse): void;
  dispose(): Promise<void> | void;
}
interface HiveModule {
  createGatewayRuntime(options: {
    supergraph: string;
    logging: boolean;
    landingPage: boolean;
    propagateHeaders: {
      fromClientToSubgraphs(payload: { request: Request }): Record<string, string | null>;
    };
  }): HiveRuntime;
}
const HIVE = '@graphql-hive/gateway-runtime';

async function main(): Promise<void> {
  const supergraph = fs.readFileSync(supergraphPath(), 'utf8');
  // A specifier in a variable: TypeScript then leaves the module's declarations out (see above).
  const { createGatewayRuntime } = (await import(HIVE)) as HiveModule;
  const gateway = createGatewayRuntime({
    supergraph,
    logging: false,
    landingPage: false,
    propagateHeaders: {
      fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }),
    },
  });
  const server = http.createServer(gateway);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const { version } = JSON.parse(fs.readFileSync(require.resolve(`${HIVE}/package.json`), 'utf8')) as {
    version: string;
  };
  announce(
    { url: `http://127.0.0.1:${port}/graphql`, version: `@graphql-hive/gateway-runtime ${version}` },
    async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.dispose();
    },
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
