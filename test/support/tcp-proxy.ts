import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1, port 0, in front of a real service (PostgreSQL), that a test can
 * take down and bring back: `down()` cuts every open connection and refuses new ones (each is
 * closed as soon as it arrives, as a database that restarts or a network that drops does);
 * `up()` lets connections through again. Nothing of the protocol is read or changed.
 */
export interface TcpProxy {
  readonly port: number;
  /** Connections passed through so far (a reconnect shows here). */
  readonly accepted: number;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let refusing = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get accepted() {
      return accepted;
    },
    down() {
      refusing = true;
      for (const socket of [...open]) socket.destroy();
      open.clear();
    },
    up() {
      refusing = false;
    },
    async close() {
      refusing = true;
      for (const socket of [...open]) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
