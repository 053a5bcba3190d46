import { generateKeyPairSync, createHmac, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AuthError,
  DEV_KEY_FILE,
  ROLES,
  bearerToken,
  createDevVerifier,
  loadOrCreateDevKey,
  signDevToken,
} from '../../../src/identity/index.js';
import type { DevKey } from '../../../src/identity/index.js';

const OPTS = { issuer: 'commsgraph-dev', audience: 'commsgraph', rolesClaim: 'roles' };
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Signs arbitrary header/payload, to build tokens signDevToken would refuse to make. */
function rawToken(
  privateKey: KeyObject,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
) {
  const input = `${b64({ alg: 'EdDSA', typ: 'JWT', ...header })}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

function validClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: OPTS.issuer,
    aud: OPTS.audience,
    sub: 'alice',
    iat: now,
    exp: now + 60,
    roles: ['approver'],
    ...overrides,
  };
}

let dir: string;
let key: DevKey;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cg-identity-'));
  key = await loadOrCreateDevKey(path.join(dir, 'shared'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  jest.restoreAllMocks();
});

describe('ROLES', () => {
  it('lists the product roles', () => {
    expect(ROLES).toEqual([
      'requester',
      'reviewer',
      'approver',
      'compliance',
      'operations',
      'service-agent',
      'auditor',
      'admin',
      'service',
    ]);
  });
});

describe('bearerToken', () => {
  it.each([undefined, null, '', '   '])('returns null for %p', (h) => {
    expect(bearerToken(h)).toBeNull();
  });

  it('extracts the token, whatever the case of the scheme', () => {
    expect(bearerToken('Bearer aaa.bbb.ccc')).toBe('aaa.bbb.ccc');
    expect(bearerToken('bearer aaa.bbb.ccc')).toBe('aaa.bbb.ccc');
    expect(bearerToken('BEARER   aaa.bbb.ccc ')).toBe('aaa.bbb.ccc');
  });

  it.each([
    'Basic dXNlcjpwYXNz',
    'Bearer',
    'Bearer ',
    'Bearer a.b.c extra',
    'Bearer not-a-jwt',
    'Bearer a.b',
    'a.b.c',
  ])('throws AuthError for %p', (h) => {
    expect(() => bearerToken(h)).toThrow(AuthError);
  });
});

describe('loadOrCreateDevKey', () => {
  it('creates a private (0600) key file on first use and reuses it after', async () => {
    const dataDir = path.join(dir, 'fresh', 'nested');
    const first = await loadOrCreateDevKey(dataDir);
    const stat = await fs.stat(path.join(dataDir, DEV_KEY_FILE));
    if (process.platform !== 'win32') expect(stat.mode & 0o777).toBe(0o600);
    const second = await loadOrCreateDevKey(dataDir);
    expect(second.kid).toBe(first.kid);
    expect(second.publicJwk).toEqual(first.publicJwk);
    // The public JWK must not leak the private scalar.
    expect(first.publicJwk).not.toHaveProperty('d');
  });

  it('agrees on one key when several callers race to create it, leaving no temp files', async () => {
    const dataDir = path.join(dir, 'race');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateDevKey(dataDir)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(await fs.readdir(dataDir)).toEqual([DEV_KEY_FILE]);
    // A token signed with one of them verifies with the key as later loaded.
    const token = await signDevToken(keys[3]!, { sub: 'bob', roles: [] }, OPTS);
    const reloaded = await loadOrCreateDevKey(dataDir);
    await expect(createDevVerifier(reloaded, OPTS).verify(token)).resolves.toMatchObject({ sub: 'bob' });
  });

  it('refuses a damaged key file instead of silently replacing it', async () => {
    const dataDir = path.join(dir, 'damaged');
    await fs.mkdir(dataDir);
    await fs.writeFile(path.join(dataDir, DEV_KEY_FILE), '{"version":1}');
    await expect(loadOrCreateDevKey(dataDir)).rejects.toThrow(/delete it/);
    await expect(fs.readFile(path.join(dataDir, DEV_KEY_FILE), 'utf8')).resolves.toBe('{"version":1}');
  });
});

describe('signDevToken + createDevVerifier', () => {
  const verifier = () => createDevVerifier(key, OPTS);

  it('round-trips subject and roles, expiring after 12 hours by default', async () => {
    const before = Math.floor(Date.now() / 1000);
    const token = await signDevToken(key, { sub: 'alice', roles: ['requester', 'approver'] }, OPTS);
    const p = await verifier().verify(token);
    expect(p.sub).toBe('alice');
    expect(p.roles).toEqual(['requester', 'approver']);
    expect(p.exp! - before).toBeGreaterThanOrEqual(12 * 3600);
    expect(p.exp! - before).toBeLessThanOrEqual(12 * 3600 + 2);
  });

  it('honours ttlSec', async () => {
    const before = Math.floor(Date.now() / 1000);
    const p = await verifier().verify(await signDevToken(key, { sub: 'a', roles: [], ttlSec: 90 }, OPTS));
    expect(p.exp! - before).toBeGreaterThanOrEqual(90);
    expect(p.exp! - before).toBeLessThanOrEqual(92);
    expect(p.roles).toEqual([]);
  });

  it('refuses to sign unknown roles, an empty subject or a bad ttl', async () => {
    await expect(signDevToken(key, { sub: 'a', roles: ['wizard' as never] }, OPTS)).rejects.toThrow(/wizard/);
    await expect(signDevToken(key, { sub: '', roles: [] }, OPTS)).rejects.toThrow(/sub/);
    await expect(signDevToken(key, { sub: 'a', roles: [], ttlSec: 0 }, OPTS)).rejects.toThrow(/ttl/);
    await expect(signDevToken(key, { sub: 'a', roles: [], ttlSec: 1.5 }, OPTS)).rejects.toThrow(/ttl/);
  });

  it('drops unknown roles and duplicates instead of failing', async () => {
    const token = rawToken(
      key.privateKey,
      validClaims({ roles: ['approver', 'wizard', 42, 'auditor', 'approver'] }),
    );
    await expect(verifier().verify(token)).resolves.toMatchObject({ roles: ['approver', 'auditor'] });
  });

  it('accepts a space-separated role string', async () => {
    const token = rawToken(key.privateKey, validClaims({ roles: 'reviewer  compliance' }));
    await expect(verifier().verify(token)).resolves.toMatchObject({ roles: ['reviewer', 'compliance'] });
  });

  it('treats a missing roles claim as no roles', async () => {
    const token = rawToken(key.privateKey, validClaims({ roles: undefined }));
    await expect(verifier().verify(token)).resolves.toMatchObject({ roles: [] });
  });

  it('reads roles from a custom claim, literal or dotted', async () => {
    const ns = { ...OPTS, rolesClaim: 'https://commsgraph.example/roles' };
    const t1 = await signDevToken(key, { sub: 'a', roles: ['admin'] }, ns);
    await expect(createDevVerifier(key, ns).verify(t1)).resolves.toMatchObject({ roles: ['admin'] });
    // The default claim name finds nothing in that token.
    await expect(verifier().verify(t1)).resolves.toMatchObject({ roles: [] });

    const nested = { ...OPTS, rolesClaim: 'realm_access.roles' };
    const t2 = rawToken(
      key.privateKey,
      validClaims({ roles: undefined, realm_access: { roles: ['operations'] } }),
    );
    await expect(createDevVerifier(key, nested).verify(t2)).resolves.toMatchObject({ roles: ['operations'] });
  });

  it('accepts an audience array that contains ours', async () => {
    const token = rawToken(key.privateKey, validClaims({ aud: ['other', OPTS.audience] }));
    await expect(verifier().verify(token)).resolves.toMatchObject({ sub: 'alice' });
  });

  it.each<[string, Record<string, unknown>]>([
    ['no sub', { sub: undefined }],
    ['empty sub', { sub: '  ' }],
    ['non-string sub', { sub: 7 }],
    ['wrong issuer', { iss: 'someone-else' }],
    ['no issuer', { iss: undefined }],
    ['wrong audience', { aud: 'other' }],
    ['audience array without ours', { aud: ['a', 'b'] }],
    ['no expiry', { exp: undefined }],
    ['non-numeric expiry', { exp: 'tomorrow' }],
    ['expired', { exp: Math.floor(Date.now() / 1000) - 1 }],
    ['not yet valid', { nbf: Math.floor(Date.now() / 1000) + 600 }],
  ])('rejects a token with %s', async (_label, overrides) => {
    await expect(verifier().verify(rawToken(key.privateKey, validClaims(overrides)))).rejects.toThrow(
      AuthError,
    );
  });

  it('rejects a token once it expires, allowing the configured clock tolerance', async () => {
    const token = await signDevToken(key, { sub: 'a', roles: [], ttlSec: 60 }, OPTS);
    const t0 = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(t0 + 61_000);
    await expect(verifier().verify(token)).rejects.toThrow(/expired/);
    await expect(
      createDevVerifier(key, { ...OPTS, clockToleranceSec: 30 }).verify(token),
    ).resolves.toMatchObject({
      sub: 'a',
    });
  });

  it('rejects a token signed by another key', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    await expect(verifier().verify(rawToken(other, validClaims(), { kid: key.kid }))).rejects.toThrow(
      /signature/,
    );
    await expect(verifier().verify(rawToken(other, validClaims()))).rejects.toThrow(/signature/);
  });

  it('rejects a token whose kid names another key', async () => {
    const token = rawToken(key.privateKey, validClaims(), { kid: 'dev-somebody-else' });
    await expect(verifier().verify(token)).rejects.toThrow(/different key/);
  });

  it('rejects a tampered payload', async () => {
    const token = await signDevToken(key, { sub: 'alice', roles: ['requester'] }, OPTS);
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${b64({ ...payload, roles: ['admin'] })}.${s}`;
    await expect(verifier().verify(forged)).rejects.toThrow(AuthError);
  });

  it('rejects alg "none" and HS256 signed with the public key (algorithm confusion)', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(validClaims())}.`;
    await expect(verifier().verify(none)).rejects.toThrow(AuthError);
    const noneWithSig = `${b64({ alg: 'none' })}.${b64(validClaims())}.AAAA`;
    await expect(verifier().verify(noneWithSig)).rejects.toThrow(/algorithm/);

    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(validClaims())}`;
    const secret = JSON.stringify(key.publicJwk);
    const hs = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    await expect(verifier().verify(hs)).rejects.toThrow(/algorithm/);
  });

  it('rejects critical header extensions it does not understand', async () => {
    const token = rawToken(key.privateKey, validClaims(), { crit: ['exp'] });
    await expect(verifier().verify(token)).rejects.toThrow(AuthError);
  });

  it.each(['', 'garbage', 'a.b.c', 'a.b.c.d', `${'a'.repeat(9000)}.b.c`])(
    'rejects malformed token %#',
    async (t) => {
      await expect(verifier().verify(t)).rejects.toThrow(AuthError);
    },
  );

  it('rejects a payload that is not a JSON object', async () => {
    const input = `${b64({ alg: 'EdDSA' })}.${b64('[1,2]')}`;
    const token = `${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
    await expect(verifier().verify(token)).rejects.toThrow(/JSON object/);
  });

  it('rejects a negative clock tolerance up front', () => {
    expect(() => createDevVerifier(key, { ...OPTS, clockToleranceSec: -1 })).toThrow(TypeError);
  });
});
