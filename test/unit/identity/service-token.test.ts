import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import { createDevVerifier, loadOrCreateDevKey } from '../../../src/identity/index.js';
import { createJwksVerifier } from '../../../src/identity/jwks.js';
import {
  FAILURE_BACKOFF_MS,
  clientCredentialsTokens,
  serviceTokenSource,
} from '../../../src/identity/service-token.js';
import { configureLogger } from '../../../src/logger.js';
import { startIdp, type TestIdp } from '../../support/idp.js';

/** Service tokens between our own processes, against a real token endpoint on localhost. */
configureLogger({ level: 'silent' });

let idp: TestIdp;
let dir: string;
beforeEach(async () => {
  idp = await startIdp();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cg-service-token-'));
});
afterEach(async () => {
  await idp.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function jwksConfig(extra: Record<string, string> = {}) {
  return loadConfig({
    DATA_DIR: dir,
    AUTH_MODE: 'jwks',
    AUTH_JWKS_URL: idp.jwksUrl,
    AUTH_ISSUER: idp.issuer,
    AUTH_AUDIENCE: idp.audience,
    AUTH_ROLES_CLAIM: 'realm_access.roles',
    ...extra,
  });
}

test('jwks mode: a client-credentials token the gateway accepts, as the client, with the service role', async () => {
  idp.addClient('commsgraph-worker', { secret: 's3cr:et/+', roles: ['service'] });
  const config = jwksConfig({
    AUTH_TOKEN_URL: idp.tokenUrl,
    AUTH_CLIENT_ID: 'commsgraph-worker',
    AUTH_CLIENT_SECRET: 's3cr:et/+',
  });
  const source = await serviceTokenSource(config, 'worker', 'the worker');
  const token = await source.token();
  expect(await createJwksVerifier(config.auth).verify(token)).toMatchObject({
    sub: 'commsgraph-worker',
    roles: ['service'],
  });
  expect(idp.tokenRequests).toHaveLength(1);
  expect(idp.tokenRequests[0]).toEqual({
    clientId: 'commsgraph-worker',
    form: { grant_type: 'client_credentials', audience: idp.audience },
  });
  // No dev key was created or used.
  await expect(fs.access(path.join(dir, 'dev-signing-key.json'))).rejects.toThrow();
});

test('jwks mode without client credentials: refused at start with a message naming the settings', async () => {
  const err = await serviceTokenSource(jwksConfig(), 'worker', 'the worker').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(
    /AUTH_TOKEN_URL, AUTH_CLIENT_ID, AUTH_CLIENT_SECRET: required in jwks mode/,
  );
  expect((err as Error).message).toMatch(/the worker/);
});

test('dev mode: tokens signed with the dev key for the given subject', async () => {
  const config = loadConfig({ DATA_DIR: dir });
  const source = await serviceTokenSource(config, 'subgraph:workflow', 'the workflow service');
  const token = await source.token();
  const verifier = createDevVerifier(await loadOrCreateDevKey(dir), config.auth);
  expect(await verifier.verify(token)).toMatchObject({ sub: 'subgraph:workflow', roles: ['service'] });
  // Reused, not re-minted per call.
  expect(await source.token()).toBe(token);
});

test('a token is reused until shortly before it expires; concurrent callers share one request', async () => {
  idp.addClient('svc', { secret: 'pw', ttlSec: 3600 });
  const source = clientCredentialsTokens({ tokenUrl: idp.tokenUrl, clientId: 'svc', clientSecret: 'pw' });
  const tokens = await Promise.all([source.token(), source.token(), source.token()]);
  expect(new Set(tokens).size).toBe(1);
  expect(await source.token()).toBe(tokens[0]);
  expect(idp.tokenRequests).toHaveLength(1);
});

test('renewed before expiry; a failed renewal keeps the current token until it expires, then fails', async () => {
  // A 4 s token: renewed from 2 s (half its life, as 60 s is more), unusable at 4 s.
  idp.addClient('svc', { secret: 'pw', ttlSec: 4 });
  const source = clientCredentialsTokens({ tokenUrl: idp.tokenUrl, clientId: 'svc', clientSecret: 'pw' });
  const first = await source.token();
  await sleep(2_100);
  const second = await source.token();
  expect(second).not.toBe(first);
  expect(idp.tokenRequests).toHaveLength(2);

  // The provider now refuses the client (secret rotated on its side).
  idp.addClient('svc', { secret: 'rotated', ttlSec: 4 });
  await sleep(2_100);
  expect(await source.token()).toBe(second);
  expect(idp.tokenRequests).toHaveLength(3);

  await sleep(2_100);
  const err = await source.token().catch((e: unknown) => e as Error);
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toMatch(/refused client svc: 401 invalid_client/);
  expect((err as Error).message).not.toMatch(/pw/);
});

test('wrong secret or an unreachable endpoint: the call fails with a clear message; callers right after fail fast, later ones ask again', async () => {
  idp.addClient('svc', { secret: 'right' });
  const wrong = clientCredentialsTokens({ tokenUrl: idp.tokenUrl, clientId: 'svc', clientSecret: 'wrong' });
  await expect(wrong.token()).rejects.toThrow(/401 invalid_client: Client authentication failed/);
  // Within the back-off the same failure comes back without another request to the provider.
  await expect(wrong.token()).rejects.toThrow(/invalid_client/);
  expect(idp.tokenRequests).toHaveLength(1);
  await sleep(FAILURE_BACKOFF_MS + 100);
  await expect(wrong.token()).rejects.toThrow(/invalid_client/);
  expect(idp.tokenRequests).toHaveLength(2);

  const tokenUrl = idp.tokenUrl;
  await idp.stop();
  const gone = clientCredentialsTokens({ tokenUrl, clientId: 'svc', clientSecret: 'right' });
  await expect(gone.token()).rejects.toThrow(/unreachable/);
  idp = await startIdp();
});
