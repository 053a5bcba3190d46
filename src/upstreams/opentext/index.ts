/**
 * The OpenText connectors' plumbing, built once per process from the connected-mode settings:
 * one OTDS token provider (one token per token URL, shared by both connectors), one HTTP client
 * per upstream service with its own circuit (Exstream has two: Design, and Orchestration for
 * on-demand and runtime), one health registry for /readyz, and the Exstream API modules.
 * Nothing here is built in the embedded mode.
 */
import type { OpenTextConfig } from '../../config/opentext.js';
import { ExstreamDesignApi } from './exstream/design.js';
import { ExstreamOnDemandApi } from './exstream/ondemand.js';
import { ExstreamRuntimeApi } from './exstream/runtime.js';
import { UpstreamHealth } from './health.js';
import { UpstreamClient } from './http.js';
import { OtdsTokenProvider } from './otds.js';

export interface ExstreamApis {
  /** Orchestration: on-demand generation and the runtime (circuit `exstream`). */
  client: UpstreamClient;
  /** Design: resources, links, manifests (circuit `exstream-design`). */
  designClient: UpstreamClient;
  design: ExstreamDesignApi;
  ondemand: ExstreamOnDemandApi;
  runtime: ExstreamRuntimeApi;
}

export interface OpenTextUpstreams {
  health: UpstreamHealth;
  tokens: OtdsTokenProvider | null;
  exstream: ExstreamApis | null;
  /** The Workflow Service client: its calls pass full URLs built from WORKFLOW_SERVICE_URL and WORKFLOW_HISTORY_URL. */
  workflow: UpstreamClient | null;
}

export function createOpenTextUpstreams(
  config: OpenTextConfig,
  options: { health?: UpstreamHealth; now?: () => number } = {},
): OpenTextUpstreams {
  const health = options.health ?? new UpstreamHealth();
  const now = options.now;
  const tokens = config.otds
    ? new OtdsTokenProvider({ config: config.otds, resilience: config.resilience, health, now })
    : null;
  let exstream: ExstreamApis | null = null;
  if (config.exstream && tokens) {
    const client = new UpstreamClient({
      name: 'exstream',
      baseUrl: config.exstream.url,
      resilience: config.resilience,
      health,
      tokens,
      expiredTokenMayAnswer500: true,
      now,
    });
    // Design is a separate Exstream service (its own base path and deployment): its own circuit,
    // so the catalogue's refreshes failing do not refuse generation, nor the other way round.
    const designClient = new UpstreamClient({
      name: 'exstream',
      circuit: 'exstream-design',
      baseUrl: config.exstream.url,
      resilience: config.resilience,
      health,
      tokens,
      expiredTokenMayAnswer500: true,
      now,
    });
    exstream = {
      client,
      designClient,
      design: new ExstreamDesignApi(designClient, config.exstream.domain),
      ondemand: new ExstreamOnDemandApi(client, config.exstream.domain),
      runtime: new ExstreamRuntimeApi(client, config.exstream.domain),
    };
  }
  const workflow =
    config.workflow && tokens
      ? new UpstreamClient({
          name: 'workflow',
          baseUrl: '',
          resilience: config.resilience,
          health,
          tokens,
          now,
        })
      : null;
  return { health, tokens, exstream, workflow };
}

export { UpstreamHealth, type UpstreamState, type UpstreamStates } from './health.js';
export { UpstreamUnavailableError, OpenTextAuthError, UpstreamProtocolError } from './errors.js';
export { ExstreamGenerationError, ExstreamDesignError, ExstreamRuntimeError } from './exstream/errors.js';
