import type { GraphQLSchema } from 'graphql';
import type { SubgraphName } from '../config/index.js';
import type { BaseContext } from '../context/index.js';
import type { OpenTextConfig } from '../config/opentext.js';
import { createOpenTextUpstreams, type OpenTextUpstreams } from '../upstreams/opentext/index.js';

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
  /**
   * Runs due background work to completion, and waits for the work the live
   * loops have in hand; returns how many pieces of work that was. Tests use
   * it (through SubgraphSet.settle) to wait for facts instead of sleeping.
   */
  settle(): Promise<number>;
  /** When the next piece of background work is due (a retry, a delivery confirmation), or null if none is left. */
  nextDue(): Promise<Date | null>;
}

/** The earliest of some due times; null when there is none. */
export function earliest(dues: ReadonlyArray<Date | null>): Date | null {
  return dues.reduce<Date | null>((a, b) => (!b ? a : !a || b < a ? b : a), null);
}

/**
 * Connected mode, as one process sees it: the settings (which backend each seam uses, the
 * Exstream domain and mappings, the Workflow Service URLs) and the OpenText clients built from
 * them once per process (one token cache, one circuit per upstream, one health registry for
 * /readyz). The embedded default passes none.
 */
export interface OpenTextConnection {
  config: OpenTextConfig;
  upstreams: OpenTextUpstreams;
}

/** The process's connection, or none when both seams are embedded (nothing to build, nothing to report). */
export function connectOpenText(config: OpenTextConfig): OpenTextConnection | undefined {
  if (config.generationBackend === 'embedded' && config.workflowBackend === 'embedded') return undefined;
  return { config, upstreams: createOpenTextUpstreams(config) };
}
