import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { proxyDocumentRoute } from '../../../src/gateway/documents.js';
import {
  bearerToken,
  createDevVerifier,
  loadOrCreateDevKey,
  signDevToken,
  type Role,
} from '../../../src/identity/index.js';

/**
 * Remote mode: the gateway passes downloads through to the communications service. It applies
 * the same checks first, so a refused request never reaches the service, and what it forwards
 * is a path and query it built itself from the checked id and part.
 */
const AUTH = { issuer: 'test', audience: 'test', rolesClaim: 'roles' };
let upstream: http.Server;
let gateway: http.Server;
let gatewayUrl: string;
const seen: { url: string; authorization: string | undefined }[] = [];
let token: (sub: string, ...roles: Role[]) => Promise<string>;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-proxy-'));

const listen = (server: http.Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );

beforeAll(async () => {
  const key = await loadOrCreateDevKey(dir);
  const verifier = createDevVerifier(key, AUTH);
  token = (sub, ...roles) => signDevToken(key, { sub, roles }, AUTH);

  // Stands in for the communications service: records what reaches it, answers with a PDF.
  upstream = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(200, {
      'content-type': 'application/pdf',
      'content-security-policy': "sandbox; default-src 'none'",
      'set-cookie': 'upstream=1',
    });
    res.end('%PDF-1.7 bytes');
  });
  const route = proxyDocumentRoute(`${await listen(upstream)}/graphql`);
  gateway = http.createServer((req, res) => {
    const auth = async () => {
      const t = bearerToken(req.headers.authorization);
      return t ? verifier.verify(t) : null;
    };
    void route(req, res, auth).then((handled) => {
      if (!handled) res.writeHead(418).end();
    });
  });
  gatewayUrl = await listen(gateway);
});
afterAll(async () => {
  await new Promise((r) => gateway.close(r));
  await new Promise((r) => upstream.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  seen.length = 0;
});

function get(
  pathAndQuery: string,
  bearer?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const url = new URL(gatewayUrl);
    http
      .request(
        {
          host: url.hostname,
          port: url.port,
          path: pathAndQuery,
          headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
        },
      )
      .on('error', reject)
      .end();
  });
}

test('an allowed caller is passed through with its token, and only the checked id and part go upstream', async () => {
  const ops = await token('olga', 'operations');
  const res = await get('/documents/doc_1/content?part=body.html&extra=../../x', ops);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/pdf');
  expect(res.headers['content-security-policy']).toMatch(/^sandbox/);
  // Only the download's own headers come back, not whatever else the service sets.
  expect(res.headers['set-cookie']).toBeUndefined();
  expect(seen).toEqual([{ url: '/documents/doc_1/content?part=body.html', authorization: `Bearer ${ops}` }]);
});

test('refused requests never reach the service', async () => {
  const ops = await token('olga', 'operations');
  const cases: [string, string | undefined, number][] = [
    ['/documents/doc_1/content', undefined, 401],
    ['/documents/doc_1/content', await token('rita', 'requester'), 403],
    ['/documents/doc_1/content', await token('partner', 'service'), 403],
    ['/documents/doc_1/content?part=../../etc/passwd', ops, 400],
    ['/documents/doc_1/content?part=%2Fetc%2Fpasswd', ops, 400],
    ['/documents/..%2Fadmin/content', ops, 404],
    ['/documents/doc_1/content/extra', ops, 404],
  ];
  for (const [p, bearer, status] of cases) {
    expect({ p, status: (await get(p, bearer)).status }).toEqual({ p, status });
  }
  expect(seen).toEqual([]);
});

test('paths outside /documents/ are not the route’s to answer', async () => {
  expect((await get('/documents/../graphql', await token('olga', 'operations'))).status).toBe(418);
  expect(seen).toEqual([]);
});
