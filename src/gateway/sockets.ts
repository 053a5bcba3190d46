/**
 * The server's sockets: how long a client may take, how long an idle connection lives, and how a
 * client that went away is told apart from a fault of ours.
 *
 * Node's HTTP server closes idle keep-alive connections (after `keepAliveTimeout`) and requests
 * that are slow to arrive (`headersTimeout`, `requestTimeout`), but a socket that stops moving in
 * the middle of an exchange stays open forever unless `timeout` is set; a WebSocket whose peer
 * vanished without a FIN (a laptop closed, a NAT that forgot the flow) stays open until a write
 * fails, which for a quiet subscription is never. Both hold memory and a subscription's work.
 */
import http from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import type { SocketTimeouts } from '../config/index.js';

/** The defaults of src/config, for servers started without a Config (tests, tools). */
export const DEFAULT_SOCKET_TIMEOUTS: SocketTimeouts = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  keepAliveMs: 5_000,
  idleTimeoutMs: 120_000,
  wsPingMs: 30_000,
  wsMaxBufferedBytes: 8_388_608,
};

/** An HTTP server that enforces `t` (header, request, keep-alive and idle timeouts). */
export function createHttpServer(t: SocketTimeouts): http.Server {
  const server = http.createServer({
    // How often Node checks header and request timeouts (default 30 s): a quarter of the shorter
    // one, so a slow client is cut off close to its deadline, not up to 30 s later.
    connectionsCheckingInterval: Math.max(250, Math.min(t.headersTimeoutMs, t.requestTimeoutMs) / 4),
  });
  applySocketTimeouts(server, t);
  return server;
}

function applySocketTimeouts(server: http.Server, t: SocketTimeouts): void {
  server.headersTimeout = t.headersTimeoutMs;
  server.requestTimeout = t.requestTimeoutMs;
  server.keepAliveTimeout = t.keepAliveMs;
  // A socket with no traffic either way for this long is destroyed (the default, 0, is never).
  server.setTimeout(t.idleTimeoutMs, (socket) => socket.destroy());
}

/**
 * Pings every WebSocket each `pingMs` and terminates one that did not answer the previous ping.
 * Browsers and graphql-ws clients answer pings by themselves (the protocol's pong). Returns the
 * function that stops it.
 */
export function heartbeat(wss: WebSocketServer, pingMs: number): () => void {
  const alive = new WeakMap<WebSocket, boolean>();
  wss.on('connection', (socket) => {
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
  });
  const timer = setInterval(() => {
    for (const socket of wss.clients) {
      if (alive.get(socket) === false) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, pingMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** How a request or response fails when the client disconnected first. */
const CLIENT_GONE_CODES = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * True when `err` is the client's disconnect, not a fault of ours: logged at debug, never as an
 * error (a user closing a tab is not an incident). With the request at hand, the client's side must
 * really be gone (its socket destroyed, or its request cut short): an ECONNRESET from the database
 * under a live request is an outage of ours, not a client leaving.
 */
export function clientWentAway(err: unknown, req?: http.IncomingMessage): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const looksLikeIt =
    (typeof e?.code === 'string' && CLIENT_GONE_CODES.has(e.code)) ||
    // The body stream of a request whose client went away ends with "aborted" (http.IncomingMessage).
    e?.message === 'aborted' ||
    e?.message === 'request aborted';
  if (!req) return looksLikeIt;
  const gone = req.destroyed || req.socket?.destroyed === true;
  return (looksLikeIt && (gone || !req.complete)) || (gone && !req.complete);
}
