import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { assetsDir, readManifest } from '../../src/gateway/explorer/assets.js';
import { createExplorer } from '../../src/gateway/explorer/index.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { startIdp, type TestIdp } from '../support/idp.js';

/**
 * What GET /graphql gives a browser, over HTTP: the GraphiQL page and its
 * bundled files (their types, caching, compression and CSP), the page shown
 * where introspection is off, Apollo Sandbox as a setting, and nothing when
 * off. explorer.e2e drives the page itself in Chromium.
 */

const ROOT = path.resolve(__dirname, '../..');
/** What a browser sends when it navigates to a URL. */
const NAVIGATION = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

beforeAll(async () => {
  // The bundle comes from `npm run build` (npm ci's prepare); build it if this checkout has not.
  if (!readManifest(assetsDir())) {
    await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: ROOT, timeout: 600_000 });
  }
}, 600_000);

const open = (url: string, init: RequestInit = {}) =>
  fetch(url, { ...init, headers: { accept: NAVIGATION, ...(init.headers as Record<string, string>) } });

describe('EXPLORER=graphiql (the default), in development', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw?.stop());

  test('a browser gets the GraphiQL page: no inline script, a CSP of this origin only', async () => {
    const res = await open(gw.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = Object.fromEntries(
      res.headers
        .get('content-security-policy')!
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...sources]) => [name, sources]),
    );
    const host = new URL(gw.url).host;
    expect(csp).toMatchObject({
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'worker-src': ["'self'"],
      'connect-src': ["'self'", `ws://${host}`, `wss://${host}`],
      'frame-ancestors': ["'none'"],
    });
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![1]).toMatch(/type="module" src="graphql\/explorer\/explorer-\w+\.js"/);
    expect(scripts[0]![2]).toBe('');
    expect(html).toContain('id="graphiql"');
    // In development (AUTH_MODE=dev) the page says how to get a token.
    expect(html).toContain('npm run --silent token -- --sub NAME --roles ROLE');
  });

  test('its files come with their content type, a year of caching, and gzip when asked', async () => {
    const html = await (await open(gw.url)).text();
    const linked = [...html.matchAll(/(?:src|href)="(graphql\/explorer\/[^"]+)"/g)].map((m) => m[1]!);
    expect(linked.map((f) => path.extname(f)).sort()).toEqual(['.css', '.js']);
    for (const file of linked) {
      const url = new URL(file, gw.url).toString();
      const plain = await new Promise<http.IncomingMessage & { body: Buffer }>((resolve, reject) =>
        http
          .get(url, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(Object.assign(res, { body: Buffer.concat(chunks) })));
          })
          .on('error', reject),
      );
      const zipped = await new Promise<http.IncomingMessage & { body: Buffer }>((resolve, reject) =>
        http
          .get(url, { headers: { 'accept-encoding': 'gzip, deflate, br' } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(Object.assign(res, { body: Buffer.concat(chunks) })));
          })
          .on('error', reject),
      );
      const type = file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8';
      for (const res of [plain, zipped]) {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe(type);
        expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
      }
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.body.length).toBeLessThan(plain.body.length);
      expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    }
  });

  test('only the files the build wrote are served', async () => {
    const base = new URL('/graphql/explorer/', gw.url).toString();
    for (const name of [
      'manifest.json',
      'nothing-here.js',
      '..%2F..%2Fpackage.json',
      'x/../../../package.json',
    ]) {
      expect((await fetch(`${base}${name}`)).status).toBe(404);
    }
  });

  test('a GraphQL client asking for JSON gets the API, not the page', async () => {
    const query = encodeURIComponent('{ __typename }');
    for (const accept of ['application/json', 'application/graphql-response+json', '*/*']) {
      const res = await fetch(`${gw.url}?query=${query}`, {
        headers: { accept, 'apollo-require-preflight': 'true' },
      });
      expect(res.headers.get('content-type')).toMatch(/json/);
      expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    }
  });

  test('HEAD answers the headers alone', async () => {
    const res = await fetch(gw.url, { method: 'HEAD', headers: { accept: NAVIGATION } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe('');
  });
});

test('loading the explorer is not charged to the anonymous rate limit', async () => {
  const gw = await startTestGateway({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1' });
  try {
    for (let i = 0; i < 3; i++) {
      const page = await open(gw.url);
      expect(page.status).toBe(200);
      const html = await page.text();
      for (const [, file] of html.matchAll(/(?:src|href)="(graphql\/explorer\/[^"]+)"/g)) {
        expect((await fetch(new URL(file!, gw.url))).status).toBe(200);
      }
    }
  } finally {
    await gw.stop();
  }
});

describe('in production, where introspection is off', () => {
  let idp: TestIdp;
  let gw: TestGateway;
  beforeAll(async () => {
    idp = await startIdp();
    gw = await startTestGateway({
      NODE_ENV: 'production',
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: idp.audience,
      AUTH_ROLES_CLAIM: 'realm_access.roles',
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await idp?.stop();
  });

  test('the page says introspection is off and where the SDL is, and runs no script', async () => {
    const res = await open(gw.url);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('introspection is off');
    expect(html).toContain('src/schema/sdl/');
    expect(html).toContain('api.graphql');
    expect(html).toContain('npm run schema:print');
    expect(html).not.toContain('<script');
    // No development-token hint: production accepts only the identity provider's tokens.
    expect(html).not.toContain('npm run --silent token');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    // GraphiQL's files are not served where it cannot work.
    const manifest = readManifest(assetsDir())!;
    expect((await fetch(new URL(`/graphql/explorer/${manifest.script}`, gw.url))).status).toBe(404);
  });
});

describe('the other settings', () => {
  test('EXPLORER=sandbox serves Apollo Sandbox, subscribing over graphql-ws on the same URL', async () => {
    const gw = await startTestGateway({ EXPLORER: 'sandbox' });
    try {
      const html = await (await open(gw.url)).text();
      expect(html).toContain('embeddable-sandbox.cdn.apollographql.com');
      expect(html).toContain("initialSubscriptionEndpoint: endpoint.replace(/^http/, 'ws')");
    } finally {
      await gw.stop();
    }
  });

  test('EXPLORER=off serves no page: a browser gets the API answer', async () => {
    const gw = await startTestGateway({ EXPLORER: 'off' });
    try {
      const res = await open(gw.url);
      expect(res.headers.get('content-type')).toMatch(/json/);
      expect(await res.text()).not.toContain('<html');
    } finally {
      await gw.stop();
    }
  });

  test('GraphiQL chosen but not built: a 503 page that says to run npm run build', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'explorer-unbuilt-'));
    const explorer = createExplorer({
      kind: 'graphiql',
      title: 'Test gateway',
      introspection: true,
      tokenHint: false,
      assets: empty,
    })!;
    const server = http.createServer((req, res) => {
      void explorer(req, res).then((done) => done || res.writeHead(404).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await open(`http://127.0.0.1:${port}/graphql`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('npm run build');
    } finally {
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
