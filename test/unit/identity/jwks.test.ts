import type { AuthConfig } from '../../../src/config/index.js';
import { AuthError } from '../../../src/identity/index.js';
import { createJwksVerifier, IdentityProviderUnavailable } from '../../../src/identity/jwks.js';
import { configureLogger } from '../../../src/logger.js';
import { compactJws, signWith, startIdp, type TestIdp } from '../../support/idp.js';

/**
 * The JWKS verifier against a real key set served over HTTP on localhost:
 * caching, key rotation, an unreachable provider. What clients see through
 * the gateway is in test/integration/jwks.test.ts.
 */
configureLogger({ level: 'silent' });

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
    algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    clockSkewSec: 30,
    jwksCacheSec: 600,
    internalSubjects: [],
    client: undefined,
    ...overrides,
  };
}

test('a valid token gives subject, known roles from the nested claim, and expiry', async () => {
  const v = createJwksVerifier(auth());
  const token = idp.token('alice', ['approver', 'wizard', 'approver', 'auditor'], { ttlSec: 120 });
  const p = await v.verify(token);
  expect(p.sub).toBe('alice');
  expect(p.roles).toEqual(['approver', 'auditor']);
  expect(p.exp).toBe(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp);
});

test('roles may come as a space-separated string (OAuth scope style)', async () => {
  const v = createJwksVerifier(auth({ rolesClaim: 'scope' }));
  const p = await v.verify(idp.token('svc', [], { claims: { scope: 'openid service operations' } }));
  expect(p.roles).toEqual(['service', 'operations']);
});

test('ES256 keys verify as well as RS256', async () => {
  const es = idp.rotate({ alg: 'ES256' });
  const v = createJwksVerifier(auth());
  await expect(v.verify(idp.token('e', ['auditor'], { key: es }))).resolves.toMatchObject({ sub: 'e' });
});

test('the key set is fetched once and reused for many tokens', async () => {
  const v = createJwksVerifier(auth());
  for (let i = 0; i < 5; i++) await v.verify(idp.token(`u${i}`, ['auditor']));
  expect(idp.jwksRequests).toBe(1);
});

test('a token with an unknown key id refetches the set once, so a rotated key is accepted without a restart', async () => {
  const v = createJwksVerifier(auth(), { cooldownMs: 0 });
  await v.verify(idp.token('a', ['auditor']));
  expect(idp.jwksRequests).toBe(1);
  const next = idp.rotate({ alg: 'ES256', dropOld: true });
  await expect(v.verify(idp.token('b', ['auditor'], { key: next }))).resolves.toMatchObject({ sub: 'b' });
  expect(idp.jwksRequests).toBe(2);
  // Known again from now on: no more fetches.
  await v.verify(idp.token('c', ['auditor'], { key: next }));
  expect(idp.jwksRequests).toBe(2);
});

test('within the cooldown, tokens naming unknown keys do not make the verifier hammer the provider', async () => {
  const v = createJwksVerifier(auth(), { cooldownMs: 60_000 });
  await v.verify(idp.token('a', ['auditor']));
  const stranger = idp.unpublishedKey();
  for (let i = 0; i < 3; i++) {
    await expect(v.verify(idp.token('x', ['admin'], { key: stranger }))).rejects.toThrow(
      new AuthError('Token was signed with an unknown key'),
    );
  }
  expect(idp.jwksRequests).toBe(1);
});

test('a token without a key id is checked against each key of its type', async () => {
  const second = idp.rotate({ alg: 'RS256' });
  const v = createJwksVerifier(auth());
  const noKid = idp.token('n', ['auditor'], { key: second, header: { kid: undefined } });
  expect(JSON.parse(Buffer.from(noKid.split('.')[0]!, 'base64url').toString())).not.toHaveProperty('kid');
  await expect(v.verify(noKid)).resolves.toMatchObject({ sub: 'n' });
  const forged = idp.token('n', ['admin'], { key: idp.unpublishedKey(), header: { kid: undefined } });
  await expect(v.verify(forged)).rejects.toThrow(new AuthError('Token signature is invalid'));
});

test.each([
  ['no expiry', { claims: { exp: undefined } }, 'Token has no expiry'],
  ['no subject', { claims: { sub: undefined } }, 'Token has no subject'],
  ['a blank subject', { claims: { sub: '  ' } }, 'Token has no subject'],
  ['a non-numeric expiry', { claims: { exp: 'tomorrow' } }, 'Token "exp" claim is not valid'],
])('a token with %s is refused', async (_label, opts, message) => {
  const v = createJwksVerifier(auth());
  await expect(v.verify(idp.token('a', ['auditor'], opts))).rejects.toThrow(new AuthError(message));
});

test('an algorithm left out of AUTH_ALGORITHMS is refused even with a published key', async () => {
  const es = idp.rotate({ alg: 'ES256' });
  const v = createJwksVerifier(auth({ algorithms: ['RS256'] }));
  await expect(v.verify(idp.token('a', ['auditor'], { key: es }))).rejects.toThrow(
    new AuthError('Token algorithm not accepted'),
  );
});

test('symmetric or "none" algorithms cannot be configured', () => {
  expect(() => createJwksVerifier(auth({ algorithms: ['RS256', 'HS256'] }))).toThrow(/HS256/);
  expect(() => createJwksVerifier(auth({ algorithms: ['none'] }))).toThrow(/none/);
  expect(() => createJwksVerifier(auth({ algorithms: [] }))).toThrow(/AUTH_ALGORITHMS/);
});

test('a provider that has never answered makes verification fail as UPSTREAM_UNAVAILABLE (503), not as a bad token', async () => {
  idp.jwksDown = true;
  const v = createJwksVerifier(auth());
  const err = await v.verify(idp.token('a', ['auditor'])).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(IdentityProviderUnavailable);
  expect(err).not.toBeInstanceOf(AuthError);
  expect((err as IdentityProviderUnavailable).extensions).toMatchObject({
    code: 'UPSTREAM_UNAVAILABLE',
    http: { status: 503 },
  });
  // Back up: the next request fetches again and succeeds.
  idp.jwksDown = false;
  await expect(v.verify(idp.token('a', ['auditor']))).resolves.toMatchObject({ sub: 'a' });
});

test('a provider that is down when the cache runs out: the last key set keeps working', async () => {
  const v = createJwksVerifier(auth({ jwksCacheSec: 1 }));
  await v.verify(idp.token('a', ['auditor']));
  idp.jwksDown = true;
  // Let the one-second cache run out so the next verification must refetch.
  await new Promise((r) => setTimeout(r, 1_100));
  await expect(v.verify(idp.token('b', ['auditor']))).resolves.toMatchObject({ sub: 'b' });
  expect(idp.jwksRequests).toBe(2);
  // Further requests do not each wait on the dead provider.
  await v.verify(idp.token('c', ['auditor']));
  expect(idp.jwksRequests).toBe(2);
  // A forged token is still refused from the stale set.
  const forged = compactJws(
    { alg: 'RS256', kid: idp.current.kid },
    { iss: idp.issuer, aud: idp.audience, sub: 'x', exp: 9e9 },
    signWith(idp.unpublishedKey()),
  );
  await expect(v.verify(forged)).rejects.toThrow(new AuthError('Token signature is invalid'));
});
