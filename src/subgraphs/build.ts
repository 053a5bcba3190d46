import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse, type GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap, type NonEmptyArray } from 'type-graphql';
import { authChecker } from '../resolvers/policy.js';

/** The Federation 2 directives our subgraphs use. */
const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@requires", "@inaccessible"])`;

/**
 * type-graphql builds the schema from the classes; @apollo/subgraph turns it
 * into a Federation 2 subgraph (`_service`, `_entities`). Reference resolvers
 * (`__resolveReference`) are merged into the resolver map.
 */
export async function buildFederatedSchema(opts: {
  // type-graphql's own signature takes constructors of any shape.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  resolvers: NonEmptyArray<Function>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  orphanedTypes?: Function[];
  references: Record<string, object>;
}): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: opts.resolvers,
    orphanedTypes: opts.orphanedTypes,
    authChecker,
    // Every subscription here brings its own `subscribe` reading our event bus;
    // type-graphql still insists on a PubSub, so it gets one that refuses use.
    pubSub: {
      publish: () => {
        throw new Error('publish through the outbox, not type-graphql');
      },
      subscribe: () => {
        throw new Error('subscriptions declare their own subscribe');
      },
    },
    // Federation directives are validated by composition, not here.
    skipCheck: true,
    validate: false,
  });
  const typeDefs = parse(`${LINK}\n${printSchemaWithDirectives(schema)}`);
  const resolvers = createResolversMap(schema) as Record<string, Record<string, unknown>>;
  for (const [typeName, ref] of Object.entries(opts.references)) {
    resolvers[typeName] = { ...(resolvers[typeName] ?? {}), ...ref };
  }
  // @apollo/subgraph types its resolver map loosely against graphql-js; the shapes match at runtime.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return buildSubgraphSchema({ typeDefs, resolvers: resolvers as any });
}
