import { log } from '../logger.js';
import { shutdownTracing } from '../telemetry/preload.js';

/**
 * SIGTERM and SIGINT drain the process once: `stop` finishes in-flight work,
 * then the process exits 0 (1 if draining failed). A second signal while
 * draining is ignored rather than cutting the drain short.
 */
export function drainOnSignals(stop: () => Promise<void>): void {
  let exiting = false;
  const shutdown = (signal: string) => {
    if (exiting) return;
    exiting = true;
    log.info('draining', { signal });
    stop().then(
      // The last spans (the drain's own) are flushed before the process goes.
      () => shutdownTracing().finally(() => process.exit(0)),
      (err) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
