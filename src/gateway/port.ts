import net from 'node:net';

/** The configured port is taken: said in one line, before anything slow starts. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly host: string,
  ) {
    super(`PORT ${port} on ${host} is already in use; stop what uses it or set PORT to another port`);
    this.name = 'PortInUseError';
  }
}

/**
 * Fails at once with PortInUseError when the port cannot be bound, so a start that cannot
 * listen says so before opening the store, migrating and seeding (which take seconds) rather than
 * after. The port is bound and released at once; the server binds it again when it is ready.
 * Port 0 (any free port) is always free.
 */
export async function checkPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? new PortInUseError(port, host) : err),
    );
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
