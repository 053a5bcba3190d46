/**
 * Issue 9 §14: slow and idle sockets are closed, a silent WebSocket peer is dropped, and a client
 * that disconnects mid-request is not an error in the log.
 *
 * Each case waits for the server to close the connection; with Node's defaults (headers 60 s,
 * request 300 s, no idle timeout, no WebSocket ping) none of them closes within the test's time.
 */
import net from 'node:net';
import WebSocket from 'ws';
import { configureLogger } from '../../src/logger.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

const TIMEOUTS = {
  HTTP_HEADERS_TIMEOUT_MS: '1000',
  HTTP_REQUEST_TIMEOUT_MS: '2000',
  HTTP_KEEP_ALIVE_MS: '1000',
  HTTP_IDLE_TIMEOUT_MS: '3000',
  WS_PING_MS: '1000',
};

let gw: TestGateway;
let port: number;
/** Every log line written while the tests ran (the logger writes JSON lines to stderr). */
const lines: string[] = [];
const realWrite = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return (realWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  configureLogger({ level: 'debug' });
  gw = await startTestGateway(TIMEOUTS);
  port = Number(new URL(gw.url).port);
});

afterAll(async () => {
  await gw?.stop();
  process.stderr.write = realWrite;
  configureLogger({ level: 'error' });
});

/** Opens a raw TCP connection, writes `data`, and resolves with what the server sent once it closed. */
function exchange(data: string): Promise<{ received: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
    let received = '';
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ received }));
  });
}

it('a client that never finishes its headers is answered 408 and disconnected', async () => {
  const { received } = await exchange(
    'POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n',
  );
  // Node answers a header timeout with 408 before closing (or closes outright when nothing was parsed).
  expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
});

it('a request whose body stops arriving is cut off', async () => {
  const { received } = await exchange(
    'POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":',
  );
  expect(received === '' || /^HTTP\/1\.1 (408|400)/.test(received)).toBe(true);
});

it('an idle keep-alive connection is closed after its answer', async () => {
  const { received } = await exchange(
    'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n',
  );
  expect(received.startsWith('HTTP/1.1 200')).toBe(true);
});

it('a WebSocket peer that stops answering pings is dropped', async () => {
  // autoPong off: this client behaves like a peer that vanished without closing.
  const ws = new WebSocket(gw.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { autoPong: false });
  let pinged = false;
  ws.on('ping', () => (pinged = true));
  const code = await new Promise<number>((resolve, reject) => {
    ws.on('close', (c) => resolve(c));
    ws.on('error', reject);
  });
  expect(pinged).toBe(true);
  // Terminated by the server (no close frame): the client sees the abnormal closure code.
  expect(code).toBe(1006);
});

it('a client that disconnects mid-request is logged at debug, not as an error', async () => {
  const before = lines.length;
  await new Promise<void>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":"{',
      );
      // Gone before the body is complete.
      setImmediate(() => socket.destroy());
    });
    socket.on('close', () => resolve());
  });
  // Wait for the server to have noticed and logged the disconnect.
  const deadline = Date.now() + 10_000;
  const logged = () => lines.slice(before).filter((l) => l.includes('"msg":"client went away"'));
  while (logged().length === 0) {
    if (Date.now() > deadline) throw new Error('the disconnect was not logged');
    await new Promise((r) => setTimeout(r, 25));
  }
  expect(JSON.parse(logged()[0]!).level).toBe('debug');
  const errors = lines
    .slice(before)
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string })
    .filter((e) => e.level === 'error');
  expect(errors).toEqual([]);
});
