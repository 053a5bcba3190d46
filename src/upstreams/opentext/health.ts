import type { UpstreamName } from './errors.js';

/**
 * - `unknown`: not called yet since the start;
 * - `up`: the last call was answered (any considered answer, a 404 included);
 * - `down`: the circuit is open, calls are refused without being tried;
 * - `half-open`: the circuit lets one trial call through;
 * - `unauthorized`: the upstream refuses our credentials (OTDS client, or 401 after a fresh token)
 *   or a 403: reachable, but unusable until an administrator fixes the client.
 */
export type UpstreamState = 'unknown' | 'up' | 'down' | 'half-open' | 'unauthorized';

/**
 * What /readyz reports on: one entry per circuit. Exstream has two, because its Design service
 * (`/design/api/v1`) and its Orchestration service (on-demand generation and the runtime,
 * `/orchestration/api/v1`) are separate deployments (api-reference §1, the CE servers list):
 * `exstream` is the orchestration side, `exstream-design` the design side.
 */
export type CircuitName = UpstreamName | 'exstream-design';

export type UpstreamStates = Partial<Record<CircuitName, UpstreamState>>;

/**
 * The state of each OpenText upstream this process uses, for `/readyz` and `/metrics`: an
 * unreachable upstream does not fail readiness (reads keep working from our own store), it is
 * reported in the body (`{"upstreams":{"exstream":"down"}}`). One registry per process, shared
 * by the clients of every connector.
 */
export class UpstreamHealth {
  readonly #states = new Map<CircuitName, UpstreamState>();
  readonly #listeners = new Set<(name: CircuitName, state: UpstreamState) => void>();

  /** Makes an upstream appear in the snapshot (as `unknown`) before its first call. */
  register(name: CircuitName): void {
    if (!this.#states.has(name)) this.#states.set(name, 'unknown');
  }

  set(name: CircuitName, state: UpstreamState): void {
    if (this.#states.get(name) === state) return;
    this.#states.set(name, state);
    for (const listener of this.#listeners) listener(name, state);
  }

  get(name: CircuitName): UpstreamState | undefined {
    return this.#states.get(name);
  }

  snapshot(): UpstreamStates {
    return Object.fromEntries(this.#states) as UpstreamStates;
  }

  /** Called on every change of state (logs, metrics); returns the unsubscribe function. */
  onChange(listener: (name: CircuitName, state: UpstreamState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
