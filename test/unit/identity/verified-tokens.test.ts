import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuthConfig } from '../../../src/config/index.js';
import {
  AuthError,
  createDevVerifier,
  loadOrCreateDevKey,
  signDevToken,
  type DevKey,
  type TokenVerifier,
} from '../../../src/identity/index.js';
import { createJwksVerifier } from '../../../src/identity/jwks.js';
import { cachedVerifier, VERIFIED_TOKEN_CACHE_DEFAULTS } from '../../../src/identity/verified-tokens.js';
import { configureLogger } from '../../../src/logger.js';
import { startIdp, type TestIdp } from '../../support/idp.js';

/**
 * Remembered acceptances (verified-tokens.ts) give the answers the verifier itself gives: an
 * expired token is refused even when it was accepted a moment before, a refused token stays
 * refused, and a key the provider withdrew stops working when it would without the cache.
 */
configureLogger({ level: 'silent' });

const OPTS = { issuer: 'iss-v', audience: 'aud-v', rolesClaim: 'roles' };

/** Resolves once the clock has passed `ms` (since epoch): a wait on a condition, polled. */
async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms)
    await new Promise((r) => setTimeout(r, Math.max(5, Math.min(50, ms - Date.now()))));
}

const expOf = (token: string): number =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;

describe('with the dev key', () => {
  let dir: string;
  let key: DevKey;
  let verifier: TokenVerifier;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cg-verified-'));
    key = await loadOrCreateDevKey(dir);
    verifier = cachedVerifier(createDevVerifier(key, { ...OPTS, clockToleranceSec: 0 }), {
      ...VERIFIED_TOKEN_CACHE_DEFAULTS,
      clockToleranceSec: 0,
    });
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  test('a token accepted before is refused once it has expired', async () => {
    const token = await signDevToken(key, { sub: 'short', roles: ['auditor'], ttlSec: 1 }, OPTS);
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'short', roles: ['auditor'] });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'short' });
    await clockPast(expOf(token) * 1000);
    await expect(verifier.verify(token)).rejects.toThrow(new AuthError('Token has expired'));
    await expect(verifier.verify(token)).rejects.toThrow(new AuthError('Token has expired'));
  });

  test('a refused token is refused every time, with the same message', async () => {
    const good = await signDevToken(key, { sub: 'alice', roles: ['auditor'] }, OPTS);
    await verifier.verify(good);
    const [h, p, s] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const raised = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url');
    const forged = `${h}.${raised}.${s}`;
    for (let i = 0; i < 3; i++) {
      await expect(verifier.verify(forged)).rejects.toThrow(new AuthError('Token signature is invalid'));
    }
  });

  test('changing the principal handed out does not change what the next request gets', async () => {
    const token = await signDevToken(key, { sub: 'bob', roles: ['auditor'] }, OPTS);
    const first = await verifier.verify(token);
    first.roles.push('admin');
    first.sub = 'mallory';
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'bob', roles: ['auditor'] });
  });
});

describe('with an identity provider', () => {
  let idp: TestIdp;
  beforeEach(async () => {
    idp = await startIdp();
  });
  afterEach(() => idp.stop());

  function auth(overrides: Partial<AuthConfig> = {}): AuthConfig {
    return {
      mode: 'jwks',
      issuer: idp.issuer,
      audience: idp.audience,
      rolesClaim: 'realm_access.roles',
      jwksUrl: idp.jwksUrl,
      algorithms: ['RS256', 'ES256'],
      clockSkewSec: 30,
      jwksCacheSec: 1,
      internalSubjects: [],
      client: undefined,
      ...overrides,
    };
  }

  test('a withdrawn key: a token accepted before is refused once the key set is fetched again, as without the cache', async () => {
    const inner = createJwksVerifier(auth());
    const verifier = cachedVerifier(inner, { ...VERIFIED_TOKEN_CACHE_DEFAULTS, clockToleranceSec: 30 });
    const token = idp.token('carol', ['auditor'], { ttlSec: 600 });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'carol' });
    // The key set was fetched by now; a second answer comes from the cache.
    const fetchedBy = Date.now();
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'carol' });
    expect(idp.jwksRequests).toBe(1);
    // The provider rotates and withdraws the old key; once the one-second cache has run out, the
    // set is fetched again and the token is refused, with or without the acceptance remembered.
    idp.rotate({ dropOld: true });
    await clockPast(fetchedBy + 1_000);
    const refusal = await verifier.verify(token).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(AuthError);
    expect(idp.jwksRequests).toBe(2);
    await expect(inner.verify(token)).rejects.toThrow(refusal as AuthError);
    await expect(verifier.verify(token)).rejects.toThrow(refusal as AuthError);
    // A token with the new key is accepted.
    await expect(verifier.verify(idp.token('dave', ['auditor']))).resolves.toMatchObject({ sub: 'dave' });
  });
});
