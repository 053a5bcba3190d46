/**
 * How bench/gateways.ts starts a peer gateway (bench/peer-hive.ts,
 * bench/peer-apollo.ts) in its own process, so each gateway has an event
 * loop of its own as in production: the supergraph SDL's file in argv[2], the
 * peer's URL back over IPC once it listens; it exits when the parent
 * disconnects or sends SIGTERM.
 */
export interface PeerReady {
  url: string;
  /** The gateway library and its version, as installed. */
  version: string;
}

export function announce(ready: PeerReady, close: () => Promise<void>): void {
  if (!process.send) throw new Error('a bench peer must be started with an IPC channel (child_process.fork)');
  const stop = () => {
    void close().finally(() => process.exit(0));
  };
  process.once('disconnect', stop);
  process.once('SIGTERM', stop);
  process.send(ready);
}

export function supergraphPath(): string {
  const file = process.argv[2];
  if (!file) throw new Error('usage: <peer>.js <supergraph SDL file>');
  return file;
}
