import WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * Browsers on the allow-list (CORS_ORIGINS) get CORS answers; any other
 * origin gets none (a preflight from it is refused), for HTTP and for the
 * graphql-ws handshake. Apollo's CSRF prevention stays on either way.
 */
const ALLOWED = 'https://app.example.com';
const OTHER = 'https://evil.example.net';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ CORS_ORIGINS: `${ALLOWED},https://admin.example.com` });
});
afterAll(() => t.stop());

function corsHeaders(res: Response): string[] {
  return [...res.headers.keys()].filter((k) => k.startsWith('access-control-'));
}

function preflight(origin: string): Promise<Response> {
  return fetch(t.url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, authorization',
    },
  });
}

test('a preflight from an allowed origin is answered with that origin, the methods and headers', async () => {
  const res = await preflight(ALLOWED);
  expect(res.status).toBe(204);
  expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  expect(res.headers.get('vary')).toMatch(/origin/i);
  expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
  const headers = res.headers.get('access-control-allow-headers')!.split(/,\s*/);
  expect(headers).toEqual(
    expect.arrayContaining([
      'content-type',
      'authorization',
      'apollo-require-preflight',
      'x-apollo-operation-name',
    ]),
  );
  expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
  // No wildcard and no cookies: the API takes bearer tokens.
  expect(res.headers.get('access-control-allow-credentials')).toBeNull();
});

test("an allowed origin's request gets its origin back, and may read Retry-After", async () => {
  const token = await t.token('reader', 'auditor');
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { origin: ALLOWED, 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  expect(res.headers.get('access-control-expose-headers')).toMatch(/retry-after/i);
  expect(res.headers.get('vary')).toMatch(/origin/i);
});

test('another origin gets no CORS headers, and its preflight is refused', async () => {
  const pre = await preflight(OTHER);
  expect(pre.status).toBe(403);
  expect(corsHeaders(pre)).toEqual([]);
  expect(await pre.json()).toEqual({
    errors: [{ message: 'Origin not allowed', extensions: { code: 'FORBIDDEN' } }],
  });

  // The request itself is answered (a non-browser could send it anyway); the browser keeps it from the page.
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { origin: OTHER, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  expect(res.status).toBe(200);
  expect(corsHeaders(res)).toEqual([]);
  // An origin is matched exactly: not by prefix, not with another port or scheme.
  for (const near of [
    'https://app.example.com.evil.net',
    'http://app.example.com',
    'https://app.example.com:8443',
  ]) {
    const r = await preflight(near);
    expect(r.status).toBe(403);
    expect(corsHeaders(r)).toEqual([]);
  }
});

test('the health endpoints answer a browser without CORS trouble either way', async () => {
  const base = t.url.replace('/graphql', '');
  const res = await fetch(`${base}/healthz`, { headers: { origin: ALLOWED } });
  expect(res.status).toBe(200);
  expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
});

test('CSRF prevention is still on: a simple text/plain POST is refused, even from an allowed origin', async () => {
  const token = await t.token('csrf', 'admin');
  for (const origin of [ALLOWED, OTHER]) {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { origin, 'content-type': 'text/plain', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      data?: unknown;
      errors: Array<{ message: string; extensions: { code: string } }>;
    };
    expect(body.data).toBeUndefined();
    expect(body.errors[0]!.message).toMatch(/Cross-Site Request Forgery/);
    expect(body.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
  }
  // A GET without a preflighted header is a simple request too.
  const get = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}`, {
    headers: { origin: OTHER },
  });
  expect(get.status).toBe(400);
});

/** Opens a graphql-ws socket the way a browser on `origin` would (or a server, with no origin). */
function handshake(origin: string | undefined): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(t.url.replace(/^http/, 'ws'), 'graphql-transport-ws', origin ? { origin } : {});
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.once('error', reject);
  });
}

/** connection_init with a token, then a query over the socket; resolves with its result. */
async function queryOver(ws: WebSocket, token: string): Promise<unknown> {
  const messages: Array<{ type: string; id?: string; payload?: unknown }> = [];
  const next = () =>
    new Promise<{ type: string; id?: string; payload?: unknown }>((resolve) => {
      const m = messages.shift();
      if (m) return resolve(m);
      ws.once('message', () => resolve(messages.shift()!));
    });
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  expect((await next()).type).toBe('connection_ack');
  ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ __typename }' } }));
  const result = await next();
  ws.close();
  return result;
}

test('a WebSocket handshake from another origin is refused with 403', async () => {
  expect((await handshake(OTHER)).status).toBe(403);
  expect((await handshake('null')).status).toBe(403);
});

test('a WebSocket from an allowed origin, from the server itself, or from a non-browser works', async () => {
  const token = await t.token('ws-user', 'auditor');
  const self = new URL(t.url).origin;
  for (const origin of [ALLOWED, self, undefined]) {
    const { status, ws } = await handshake(origin);
    expect(status).toBe(101);
    expect(await queryOver(ws!, token)).toEqual({
      type: 'next',
      id: '1',
      payload: { data: { __typename: 'Query' } },
    });
  }
});
