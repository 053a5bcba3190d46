import { composeServices } from '@theguild/federation-composition';
import { parse, printSchema, type GraphQLSchema } from 'graphql';
import { printSubgraphSchema } from '@apollo/subgraph';

export interface SubgraphSdl {
  name: string;
  url: string;
  sdl: string;
}

export class CompositionError extends Error {
  constructor(readonly details: string[]) {
    super(`The subgraphs do not compose into a supergraph:\n${details.map((d) => `  - ${d}`).join('\n')}`);
    this.name = 'CompositionError';
  }
}

/** The SDL a subgraph publishes through `_service { sdl }`, federation directives included. */
export function subgraphSdl(schema: GraphQLSchema): string {
  return printSubgraphSchema(schema);
}

/** Composes at start; a failure stops the start with every problem listed. */
export function composeSupergraph(subgraphs: SubgraphSdl[]): { supergraphSdl: string; apiSdl: string } {
  const result = composeServices(
    subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })),
  );
  if (result.errors) throw new CompositionError(result.errors.map((e) => e.message));
  return { supergraphSdl: result.supergraphSdl, apiSdl: result.publicSdl };
}

export { printSchema };
