/**
 * Wiring of the Exstream runtime monitor for the communications subgraph: the held-job reads and
 * release (always; nothing is ever held in the embedded mode), and, in connected mode with a store
 * to elect on, the monitor loop in whichever process wins the election `exstream-runtime-monitor:
 * <domain>` (src/store/leader.ts). A process that loses its lock stops polling at once and competes
 * again; one that stops releases the lock, so another replica takes over within EXSTREAM_POLL_MS.
 */
import type { Kysely } from 'kysely';
import type { CommandRelay } from '../../events/commands.js';
import type { Outbox } from '../../events/index.js';
import { log } from '../../logger.js';
import type { Store } from '../../store/db.js';
import { electLeader, type Leadership } from '../../store/leader.js';
import type { CommunicationsDB } from '../../store/tables.js';
import type { OpenTextConnection } from '../../subgraphs/types.js';
import { HeldJobs, RuntimeMonitor } from './runtime-jobs.js';

export interface MonitorHandle {
  readonly heldJobs: HeldJobs;
  /** The poller, in connected mode (null in the embedded mode). */
  readonly monitor: RuntimeMonitor | null;
  /** Whether this process polls now (it leads the election). */
  readonly leading: boolean;
  start(): void;
  stop(): Promise<void>;
}

export function startRuntimeMonitor(deps: {
  db: Kysely<CommunicationsDB>;
  outbox: Outbox<CommunicationsDB>;
  relay: CommandRelay;
  opentext?: OpenTextConnection;
  election?: Pick<Store, 'kind' | 'pool'>;
}): MonitorHandle {
  const exstream = deps.opentext?.upstreams.exstream ?? null;
  const settings = deps.opentext?.config.exstream ?? null;
  const heldJobs = new HeldJobs(deps.db, deps.outbox, exstream?.runtime ?? null);
  const monitor =
    exstream && settings
      ? new RuntimeMonitor(deps.db, deps.outbox, deps.relay, exstream.runtime, {
          domain: settings.domain,
          pollMs: settings.pollMs,
          lookbackHours: settings.lookbackHours,
        })
      : null;
  let election: Promise<Leadership | null> | null = null;
  // Set once the election has made its first attempt.
  let leadership: Leadership | null = null;
  return {
    heldJobs,
    monitor,
    get leading() {
      return leadership?.leading ?? false;
    },
    start() {
      if (!monitor || !deps.election || election) return;
      const store = deps.election;
      election = electLeader(store, {
        name: `exstream-runtime-monitor:${settings!.domain}`,
        checkMs: Math.min(settings!.pollMs, 5_000),
        onElected: (signal) => monitor.run(signal),
      }).then(
        (l) => (leadership = l),
        (err: unknown) => {
          log.error('runtime monitor election failed to start', { err });
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
