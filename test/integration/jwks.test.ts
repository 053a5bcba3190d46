import { createHmac } from 'node:crypto';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { compactJws, startIdp, type TestIdp } from '../support/idp.js';
import { wsClient } from '../support/ws.js';

/**
 * Production authentication (AUTH_MODE=jwks): the gateway accepts the
 * identity provider's tokens, checked against its key set, and nothing else;
 * the dev key counts for nothing. Everything is observed over HTTP and
 * graphql-ws, against a local provider (test/support/idp.ts).
 *
 * The tests run in file order on one gateway: the first one needs a
 * provider the gateway has never reached, the last one takes it down.
 */
let idp: TestIdp;
let t: TestGateway;

const SKEW_SEC = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  idp = await startIdp({ rolesClaim: 'realm_access.roles' });
  t = await startTestGateway({
    AUTH_MODE: 'jwks',
    AUTH_JWKS_URL: idp.jwksUrl,
    AUTH_ISSUER: idp.issuer,
    AUTH_AUDIENCE: idp.audience,
    AUTH_ROLES_CLAIM: 'realm_access.roles',
    AUTH_CLOCK_SKEW_SEC: String(SKEW_SEC),
    // One second, so a rotated key set and an outage show within a test; the
    // cooldown for unknown key ids is never longer than this.
    AUTH_JWKS_CACHE_SEC: '1',
  });
});
afterAll(async () => {
  await t?.stop();
  await idp?.stop();
});

const CUSTOMER = `{ customer(id: "cus_001") { id email } }`;

/** POSTs an operation and keeps the HTTP status and headers, which the harness's gql drops. */
async function post(query: string, token?: string) {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as {
    data?: { customer: { id: string; email: string | null } | null } | null;
    errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
  };
  return { status: res.status, headers: res.headers, body };
}

test('before the provider was ever reached: 503 UPSTREAM_UNAVAILABLE, not a client error; fine once it answers', async () => {
  idp.jwksDown = true;
  const { result: r, lines } = await capturingStderr(() =>
    post(CUSTOMER, idp.token('sam', ['service-agent'])),
  );
  expect(lines.filter((l) => l.includes('key set could not be fetched'))).toHaveLength(1);
  expect(r.status).toBe(503);
  expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'UPSTREAM_UNAVAILABLE' });
  expect(r.body.errors?.[0]?.message).toMatch(/identity provider/);
  expect(JSON.stringify(r.body)).not.toContain(idp.url);

  idp.jwksDown = false;
  const ok = await post(CUSTOMER, idp.token('sam', ['service-agent']));
  expect(ok.status).toBe(200);
  expect(ok.body.data?.customer?.id).toBe('cus_001');
});

test('a provider token works, with roles read from the nested realm_access.roles claim', async () => {
  const agent = await post(CUSTOMER, idp.token('sam', ['service-agent']));
  expect(agent.body.errors).toBeUndefined();
  expect(agent.body.data?.customer?.email).toEqual(expect.stringContaining('@'));

  // Same person data, a role that may not see contact details: the role really came from the token.
  const auditor = await post(CUSTOMER, idp.token('ada', ['auditor']));
  expect(auditor.body.data?.customer).toEqual({ id: 'cus_001', email: null });
  expect(auditor.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

  // Roles in another claim than the configured one count for nothing: no role, so nothing is read.
  const elsewhere = await post(
    CUSTOMER,
    idp.token('eve', [], { claims: { roles: ['service-agent', 'admin'] } }),
  );
  expect(elsewhere.body.data?.customer ?? null).toBeNull();
  expect(elsewhere.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
});

test('a dev-key token (what `npm run token` makes) is refused: UNAUTHENTICATED', async () => {
  const r = await post(CUSTOMER, await t.token('mallory', 'admin'));
  expect(r.status).toBe(401);
  expect(r.body.data ?? null).toBeNull();
  expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
});

describe('refused tokens: 401 UNAUTHENTICATED with a message that says why, and no data', () => {
  const beyondSkew = SKEW_SEC + 90;
  const cases: Array<[string, () => string, RegExp]> = [
    ['expired beyond the clock skew', () => idp.token('a', ['admin'], { ttlSec: -beyondSkew }), /expired/],
    [
      'not yet valid beyond the skew',
      () => idp.token('a', ['admin'], { nbfSec: beyondSkew }),
      /not valid yet/,
    ],
    ['from another issuer', () => idp.token('a', ['admin'], { iss: 'https://evil.test/' }), /issuer/],
    ['for another audience', () => idp.token('a', ['admin'], { aud: 'some-other-api' }), /audience/],
    [
      'with alg "none" and an empty signature',
      () =>
        compactJws(
          { alg: 'none', typ: 'JWT' },
          {
            iss: idp.issuer,
            aud: idp.audience,
            sub: 'a',
            exp: now() + 300,
            realm_access: { roles: ['admin'] },
          },
        ),
      /not a JWT/,
    ],
    [
      'with alg "none" and a made-up signature',
      () =>
        compactJws(
          { alg: 'none', typ: 'JWT' },
          {
            iss: idp.issuer,
            aud: idp.audience,
            sub: 'a',
            exp: now() + 300,
            realm_access: { roles: ['admin'] },
          },
          () => Buffer.from('x'),
        ),
      /algorithm/,
    ],
    [
      'HS256-signed with the published public key as the secret',
      () =>
        compactJws(
          { alg: 'HS256', typ: 'JWT', kid: idp.current.kid },
          {
            iss: idp.issuer,
            aud: idp.audience,
            sub: 'a',
            exp: now() + 300,
            realm_access: { roles: ['admin'] },
          },
          hmacWithPublicKey,
        ),
      /algorithm/,
    ],
    ['with a tampered payload', () => tamper(idp.token('a', ['auditor'])), /signature/],
    [
      'signed by a key the provider never published',
      () => idp.token('a', ['admin'], { key: idp.unpublishedKey() }),
      /unknown key/,
    ],
    ['without a subject', () => idp.token('a', ['admin'], { claims: { sub: undefined } }), /subject/],
  ];

  test.each(cases)('%s', async (_label, make, message) => {
    const r = await post(CUSTOMER, make());
    expect(r.status).toBe(401);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(r.body.errors?.[0]?.message).toMatch(message);
  });
});

test('within the clock skew, a just-expired or not-quite-valid token is still accepted', async () => {
  const justExpired = await post(CUSTOMER, idp.token('sam', ['service-agent'], { ttlSec: -(SKEW_SEC - 20) }));
  expect(justExpired.body.errors).toBeUndefined();
  expect(justExpired.body.data?.customer?.id).toBe('cus_001');
  const early = await post(CUSTOMER, idp.token('sam', ['service-agent'], { nbfSec: SKEW_SEC - 20 }));
  expect(early.body.errors).toBeUndefined();
});

test('after the provider rotates its key, tokens with the new key are accepted without a restart', async () => {
  const before = await post(CUSTOMER, idp.token('sam', ['service-agent']));
  expect(before.status).toBe(200);
  const oldKey = idp.current;
  const fetchesBefore = idp.jwksRequests;

  // The new key replaces the old one outright, and is of another type.
  const newKey = idp.rotate({ alg: 'ES256', dropOld: true });
  // Past the (one-second) cooldown: an unknown key id may now trigger a refetch.
  await sleep(1_100);
  const after = await post(CUSTOMER, idp.token('sam', ['service-agent'], { key: newKey }));
  expect(after.body.errors).toBeUndefined();
  expect(after.body.data?.customer?.id).toBe('cus_001');
  expect(idp.jwksRequests).toBeGreaterThan(fetchesBefore);

  // The withdrawn key no longer opens anything.
  const withdrawn = await post(CUSTOMER, idp.token('sam', ['service-agent'], { key: oldKey }));
  expect(withdrawn.status).toBe(401);
  expect(withdrawn.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
});

test('graphql-ws: a provider token is accepted, and the socket closes with 4401 when it expires', async () => {
  const token = idp.token('ada', ['auditor'], { ttlSec: 2 });
  const client = wsClient(t.url, token);
  const events: string[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    client.on('closed', (e) => resolve(e as { code: number; reason: string })),
  );
  client.on('connected', () => events.push('connected'));
  client.subscribe(
    { query: 'subscription { caseUpdated { id } }' },
    { next: () => undefined, error: () => events.push('error'), complete: () => events.push('complete') },
  );
  try {
    const ev = await closed;
    // Accepted first (the token was good), then closed when it ran out.
    expect(events[0]).toBe('connected');
    expect(ev.code).toBe(4401);
    expect(ev.reason).toMatch(/expired/i);
  } finally {
    await client.dispose();
  }
});

test('graphql-ws: a dev-key token is refused with 4401 before the connection is acknowledged', async () => {
  const client = wsClient(t.url, await t.token('mallory', 'admin'));
  const events: string[] = [];
  client.on('connected', () => events.push('connected'));
  const closed = new Promise<{ code: number }>((resolve) =>
    client.on('closed', (e) => resolve(e as { code: number })),
  );
  client.subscribe(
    { query: 'subscription { caseUpdated { id } }' },
    { next: () => undefined, error: () => undefined, complete: () => undefined },
  );
  try {
    expect((await closed).code).toBe(4401);
    expect(events).toEqual([]);
  } finally {
    await client.dispose();
  }
});

test('a provider outage after keys were fetched: tokens keep working on the last key set', async () => {
  const key = idp.current;
  expect((await post(CUSTOMER, idp.token('sam', ['service-agent'], { key }))).status).toBe(200);
  idp.jwksDown = true;
  // Past the one-second cache: the gateway has to ask the provider, which answers 503.
  await sleep(1_100);
  const fetchesBefore = idp.jwksRequests;
  const { result: during, lines } = await capturingStderr(() =>
    post(CUSTOMER, idp.token('sam', ['service-agent'], { key })),
  );
  // Logged for operators, invisible to the caller.
  expect(lines.find((l) => l.includes('key set could not be fetched'))).toMatch(/"usingLastKnownKeys":true/);
  expect(during.status).toBe(200);
  expect(during.body.data?.customer?.email).toEqual(expect.stringContaining('@'));
  expect(idp.jwksRequests).toBeGreaterThan(fetchesBefore);
  // And bad tokens are still bad.
  const forged = await post(CUSTOMER, idp.token('a', ['admin'], { key: idp.unpublishedKey('ES256') }));
  expect(forged.status).toBe(401);
  idp.jwksDown = false;
});

/** Runs `fn` with stderr (where the logger writes) captured instead of printed. */
async function capturingStderr<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { result: await fn(), lines };
  } finally {
    process.stderr.write = write;
  }
}

test('graphql-ws with the provider unreachable: closed with 1013 (try again later), not 4401', async () => {
  // A provider this second gateway has never reached, so it holds no keys at all.
  const down = await startIdp({ rolesClaim: 'realm_access.roles' });
  down.jwksDown = true;
  const g = await startTestGateway({
    AUTH_MODE: 'jwks',
    AUTH_JWKS_URL: down.jwksUrl,
    AUTH_ISSUER: down.issuer,
    AUTH_AUDIENCE: down.audience,
    AUTH_ROLES_CLAIM: 'realm_access.roles',
  });
  const client = wsClient(g.url, down.token('ada', ['auditor']));
  try {
    const closed = new Promise<{ code: number }>((resolve) =>
      client.on('closed', (e) => resolve(e as { code: number })),
    );
    client.subscribe(
      { query: 'subscription { caseUpdated { id } }' },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    );
    expect((await capturingStderr(() => closed)).result.code).toBe(1013);
  } finally {
    await client.dispose();
    await g.stop();
    await down.stop();
  }
});

function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** The classic algorithm-confusion forgery: HMAC keyed with the RSA public key as anyone can fetch it. */
function hmacWithPublicKey(input: Buffer): Buffer {
  const pem = idp.current.publicKey.export({ type: 'spki', format: 'pem' });
  return createHmac('sha256', pem).update(input).digest();
}

/** Swaps the payload for one with more roles, keeping header and signature. */
function tamper(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  payload.realm_access = { roles: ['admin'] };
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}
