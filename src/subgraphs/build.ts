import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import {
  getNamedType,
  GraphQLError,
  isInputObjectType,
  isObjectType,
  parse,
  type GraphQLField,
  type GraphQLSchema,
} from 'graphql';
import { buildSchema, createResolversMap, type NonEmptyArray } from 'type-graphql';
import { ErrorCode, GraphQLErrorWithCode } from '../errors/index.js';
import { authChecker } from '../policy/index.js';
import { validateArgs } from '../schema/shared/validation.js';

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
    // Not class-validator: our own declarative checks (src/schema/shared/validation.ts) run on
    // every argument after authorisation and before the resolver.
    validate: false,
    validateFn: validateArgs,
  });
  const typeDefs = parse(`${LINK}\n${printSchemaWithDirectives(schema)}`);
  const resolvers = createResolversMap(schema) as Record<string, Record<string, unknown>>;
  qualifyInputErrors(schema, resolvers);
  for (const [typeName, ref] of Object.entries(opts.references)) {
    resolvers[typeName] = { ...(resolvers[typeName] ?? {}), ...ref };
  }
  // @apollo/subgraph types its resolver map loosely against graphql-js; the shapes match at runtime.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return buildSubgraphSchema({ typeDefs, resolvers: resolvers as any });
}

/**
 * The services name the offending field relative to the input they were given (`email`,
 * `data.segments`); the schema-level checks name it from the argument (`input.email`). So that
 * a client always gets the same path for the same field, a BAD_USER_INPUT thrown by the
 * resolver of a field with one input-object argument is reported under that argument.
 */
function qualifyInputErrors(schema: GraphQLSchema, resolvers: Record<string, Record<string, unknown>>): void {
  for (const [typeName, map] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) continue;
    for (const [fieldName, field] of Object.entries(type.getFields())) {
      const inputs = field.args.filter((a) => isInputObjectType(getNamedType(a.type)));
      if (inputs.length !== 1 || !(fieldName in map)) continue;
      const entry = map[fieldName];
      const wrap = (fn: unknown) =>
        typeof fn === 'function' ? qualifying(fn as Resolver, field, inputs[0]!.name) : fn;
      if (typeof entry === 'function') map[fieldName] = wrap(entry);
      else if (entry && typeof entry === 'object') {
        const e = entry as { resolve?: unknown; subscribe?: unknown };
        map[fieldName] = { ...e, resolve: wrap(e.resolve), subscribe: wrap(e.subscribe) };
      }
    }
  }
}

type Resolver = (...args: unknown[]) => unknown;

function qualifying(fn: Resolver, field: GraphQLField<unknown, unknown>, argName: string): Resolver {
  const qualify = (err: unknown): unknown => {
    if (!(err instanceof GraphQLError) || err.extensions.code !== ErrorCode.BAD_USER_INPUT) return err;
    const path = err.extensions.field;
    if (typeof path !== 'string' || !path) return err;
    const head = path.split(/[.[]/, 1)[0];
    if (field.args.some((a) => a.name === head)) return err;
    return new GraphQLErrorWithCode(err.message, ErrorCode.BAD_USER_INPUT, {
      ...err.extensions,
      field: `${argName}.${path}`,
    });
  };
  return function (this: unknown, ...args: unknown[]) {
    try {
      const result = fn.apply(this, args);
      return result instanceof Promise
        ? result.catch((err: unknown) => {
            throw qualify(err);
          })
        : result;
    } catch (err) {
      throw qualify(err);
    }
  };
}
