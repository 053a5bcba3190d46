/**
 * Wiring of the Workflow Service poller for the workflow subgraph: in connected mode
 * (`WORKFLOW_BACKEND=otws`) with a store to elect on, the poller runs in whichever process wins
 * the election `workflow-service-poller` (src/store/leader.ts). A process that loses its lock stops
 * polling at once and competes again; one that stops releases the lock, so another replica takes
 * over within its check interval. Nothing runs in the embedded mode.
 */
import { log } from '../../../logger.js';
import type { Store } from '../../../store/db.js';
import { electLeader, type Leadership } from '../../../store/leader.js';
import { HistoryApi, upstreamTransport } from '../../../upstreams/opentext/workflow/index.js';
import type { OpenTextConnection } from '../../../subgraphs/types.js';
import type { WorkflowDeps } from '../deps.js';
import { WorkflowServicePoller } from './poller.js';

export const POLLER_ELECTION = 'workflow-service-poller';

export interface PollerHandle {
  /** The poller, in connected mode (null in the embedded mode). */
  readonly poller: WorkflowServicePoller | null;
  /** Whether this process polls now (it leads the election). */
  readonly leading: boolean;
  start(): void;
  stop(): Promise<void>;
}

export function workflowServicePoller(deps: {
  d: WorkflowDeps;
  opentext?: OpenTextConnection;
  election?: Pick<Store, 'kind' | 'pool'>;
}): PollerHandle {
  const client = deps.opentext?.upstreams.workflow ?? null;
  const settings = deps.opentext?.config.workflow ?? null;
  const poller =
    client && settings
      ? new WorkflowServicePoller(deps.d, new HistoryApi(upstreamTransport(client, settings)), {
          pollMs: settings.pollMs,
          processKeys: Object.values(settings.processKeys),
          identityMap: settings.identityMap,
        })
      : null;
  let election: Promise<Leadership | null> | null = null;
  // Set once the election has made its first attempt.
  let leadership: Leadership | null = null;
  return {
    poller,
    get leading() {
      return leadership?.leading ?? false;
    },
    start() {
      if (!poller || !deps.election || election) return;
      election = electLeader(deps.election, {
        name: POLLER_ELECTION,
        checkMs: Math.min(settings!.pollMs, 5_000),
        onElected: (signal) => poller.run(signal),
      }).then(
        (l) => (leadership = l),
        (err: unknown) => {
          log.error('workflow service poller election failed to start', { err });
          return null;
        },
      );
    },
    async stop() {
      const l = await election;
      await l?.stop();
    },
  };
}
