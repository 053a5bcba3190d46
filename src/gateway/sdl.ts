import type { Executor } from '@graphql-tools/utils';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { communicationsSchema } from '../subgraphs/communications.js';
import { customersSchema } from '../subgraphs/customers.js';
import { workflowSchema } from '../subgraphs/workflow.js';
import { composeSupergraph, subgraphSdl } from './compose.js';
import { stitch } from './index.js';

export const SDL_DIR = 'src/schema/sdl';

/** The API schema clients see, as the gateway serves it (never executed here). */
export async function servedApiSchema(): Promise<{
  schema: GraphQLSchema;
  supergraphSdl: string;
  subgraphs: Record<string, string>;
}> {
  const schemas = {
    workflow: await workflowSchema(),
    customers: await customersSchema(),
    communications: await communicationsSchema(),
  };
  const subgraphs = Object.fromEntries(Object.entries(schemas).map(([n, s]) => [n, subgraphSdl(s)]));
  const { supergraphSdl } = composeSupergraph(
    Object.entries(subgraphs).map(([name, sdl]) => ({ name, url: `inprocess://${name}`, sdl })),
  );
  const never: Executor = () => {
    throw new Error('schema printing does not execute');
  };
  const schema = stitch(supergraphSdl, { workflow: never, customers: never, communications: never });
  return { schema, supergraphSdl, subgraphs };
}

/** Every committed SDL file, as `npm run schema:print` writes it. */
export async function sdlFiles(): Promise<Record<string, string>> {
  const { schema, supergraphSdl, subgraphs } = await servedApiSchema();
  const files: Record<string, string> = {};
  for (const [name, sdl] of Object.entries(subgraphs)) files[`${name}.graphql`] = `${sdl.trim()}\n`;
  files['supergraph.graphql'] = `${supergraphSdl.trim()}\n`;
  files['api.graphql'] = `${printSchema(lexicographicSortSchema(schema)).trim()}\n`;
  return files;
}
