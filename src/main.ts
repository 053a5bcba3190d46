// First: compiled code of the last start is read back for every module after it (compile-cache.ts).
import { persistCompileCache } from './compile-cache.js';
// Then tracing, which patches the modules loaded after it (src/telemetry/preload.ts).
import './telemetry/preload.js';
import 'reflect-metadata';
import { drainOnSignals } from './gateway/lifecycle.js';
import { ConfigError, loadConfig } from './config/index.js';
import { startGateway } from './gateway/index.js';
import { CompositionError } from './gateway/compose.js';
import { configureLogger, log } from './logger.js';
import { PortInUseError } from './gateway/port.js';
import { DataDirLockedError } from './store/db.js';
import { surviveDroppedConnections } from './store/connection-errors.js';

/** `npm start`: the gateway, with the subgraphs in-process by default. */
async function main(): Promise<void> {
  const config = loadConfig();
  // A library's dropped promise failing on a broken connection must not end the process.
  surviveDroppedConnections();
  configureLogger({ level: config.logLevel, name: 'gateway' });
  const starting = startGateway(config);
  // Installed before the start completes: a SIGTERM that arrives as the
  // server begins to listen still drains (after the start) instead of killing.
  drainOnSignals(async () => {
    const gateway = await starting.catch(() => null);
    await gateway?.stop();
  });
  const gateway = await starting;
  // startMs and phases: where the start's time went (read by `npm run bench:start`).
  log.info('CommsGraph is up', {
    url: gateway.url,
    mode: config.gatewayMode,
    dataDir: config.dataDir,
    ...gateway.timings,
  });
  persistCompileCache();
}

main().catch((err) => {
  if (
    err instanceof ConfigError ||
    err instanceof CompositionError ||
    err instanceof PortInUseError ||
    err instanceof DataDirLockedError
  ) {
    // The operator's to fix, and said in one plain line.
    process.stderr.write(`${err.message}\n`);
  } else {
    log.error('failed to start', { err });
  }
  process.exit(1);
});
