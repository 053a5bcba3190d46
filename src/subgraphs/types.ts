import type { GraphQLSchema } from 'graphql';
import type { SubgraphName } from '../config/index.js';
import type { BaseContext } from '../context/index.js';

/** One subgraph, however it is hosted (in the gateway process or as its own service). */
export interface Subgraph<C extends BaseContext = BaseContext> {
  readonly name: SubgraphName;
  readonly schema: GraphQLSchema;
  /** A fresh per-request context: new DataLoaders every time. */
  contextFor(base: BaseContext): C;
  /** Starts background work (command relay, delivery worker). */
  start(): void;
  /** Finishes the work in hand, then stops background work. */
  stop(): Promise<void>;
  /** Runs due background work to completion; tests use it to wait without sleeping. */
  settle(): Promise<void>;
}
