/**
 * A small identity provider for tests: a JSON Web Key Set at /jwks.json and
 * an OAuth 2.0 client-credentials token endpoint at /token, on 127.0.0.1 and
 * port 0. Tokens are signed with node:crypto rather than jose, so the
 * verifier under test is not checked against itself.
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type IdpAlg = 'RS256' | 'ES256';

export interface IdpKey {
  readonly kid: string;
  readonly alg: IdpAlg;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public JWK as published. */
  readonly jwk: Record<string, unknown>;
}

export interface IdpTokenOptions {
  /** Seconds from now; negative for an already expired token. Default 300. */
  ttlSec?: number;
  /** Seconds from now for `nbf`; omitted when undefined. */
  nbfSec?: number;
  iss?: string;
  aud?: string | string[];
  /** Replaces (or with undefined removes) any claim. */
  claims?: Record<string, unknown>;
  /** Signing key; default the current one. */
  key?: IdpKey;
  /** Extra or replaced header parameters (kid, typ...). */
  header?: Record<string, unknown>;
}

export interface IdpClient {
  secret: string;
  /** Lifetime of its access tokens. Default 300. */
  ttlSec?: number;
  roles?: string[];
}

export interface TokenRequest {
  clientId: string | null;
  form: Record<string, string>;
}

export interface TestIdp {
  readonly url: string;
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  readonly tokenUrl: string;
  /** The key tokens are signed with by default. */
  readonly current: IdpKey;
  /** Requests to /jwks.json so far. */
  readonly jwksRequests: number;
  /** Requests to /token so far (refused ones included), newest last. */
  readonly tokenRequests: TokenRequest[];
  /** While true, /jwks.json answers 503. */
  jwksDown: boolean;
  /** A signed token for `sub` with `roles` in the roles claim. */
  token(sub: string, roles: string[], opts?: IdpTokenOptions): string;
  /** A new signing key, published from now on; the old ones stay published unless `dropOld`. */
  rotate(opts?: { alg?: IdpAlg; dropOld?: boolean }): IdpKey;
  /** A key that is never published. */
  unpublishedKey(alg?: IdpAlg): IdpKey;
  addClient(id: string, client: IdpClient): void;
  stop(): Promise<void>;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export function newKey(alg: IdpAlg = 'RS256'): IdpKey {
  const { privateKey, publicKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = `k-${randomBytes(6).toString('hex')}`;
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

/** A compact JWS from any header and payload, signed by `signer` (or with an empty signature). */
export function compactJws(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signer?: (input: Buffer) => Buffer,
): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${signer ? b64url(signer(Buffer.from(input))) : ''}`;
}

export function signWith(key: IdpKey): (input: Buffer) => Buffer {
  // JWS ES256 signatures are r||s (IEEE P1363), not DER.
  return (input) =>
    key.alg === 'ES256'
      ? sign('sha256', input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', input, key.privateKey);
}

/** Sets `value` at a dotted path (`realm_access.roles`), as providers nest role claims. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

export async function startIdp(
  opts: { issuer?: string; audience?: string; rolesClaim?: string; alg?: IdpAlg } = {},
): Promise<TestIdp> {
  const issuer = opts.issuer ?? 'https://idp.test/realms/commsgraph';
  const audience = opts.audience ?? 'commsgraph-api';
  const rolesClaim = opts.rolesClaim ?? 'realm_access.roles';
  let keys: IdpKey[] = [newKey(opts.alg ?? 'RS256')];
  let jwksRequests = 0;
  const tokenRequests: TokenRequest[] = [];
  const clients = new Map<string, IdpClient>();
  let jwksDown = false;

  function token(sub: string, roles: string[], o: IdpTokenOptions = {}): string {
    const key = o.key ?? keys[keys.length - 1]!;
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: o.iss ?? issuer,
      aud: o.aud ?? audience,
      sub,
      iat: now,
      exp: now + (o.ttlSec ?? 300),
      jti: randomUUID(),
    };
    if (o.nbfSec !== undefined) payload.nbf = now + o.nbfSec;
    setPath(payload, rolesClaim, roles);
    for (const [k, v] of Object.entries(o.claims ?? {})) {
      if (v === undefined) delete payload[k];
      else payload[k] = v;
    }
    return compactJws({ alg: key.alg, typ: 'JWT', kid: key.kid, ...o.header }, payload, signWith(key));
  }

  function send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(text);
  }

  async function tokenEndpoint(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    let clientId: string | null = form.client_id ?? null;
    let secret: string | null = form.client_secret ?? null;
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const [id, sec] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id ?? '');
      secret = decodeURIComponent(sec ?? '');
    }
    tokenRequests.push({ clientId, form });
    if (req.method !== 'POST') return send(res, 405, { error: 'invalid_request' });
    if (form.grant_type !== 'client_credentials') return send(res, 400, { error: 'unsupported_grant_type' });
    const client = clientId ? clients.get(clientId) : undefined;
    if (!client || client.secret !== secret) {
      return send(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    const ttlSec = client.ttlSec ?? 300;
    const access = token(clientId!, client.roles ?? ['service'], { ttlSec, aud: form.audience ?? audience });
    send(res, 200, { access_token: access, token_type: 'Bearer', expires_in: ttlSec });
  }

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/jwks.json') {
      jwksRequests++;
      if (jwksDown) return send(res, 503, { error: 'unavailable' });
      return send(res, 200, { keys: keys.map((k) => k.jwk) });
    }
    if (path === '/token') {
      tokenEndpoint(req, res).catch(() => send(res, 500, { error: 'server_error' }));
      return;
    }
    send(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    issuer,
    audience,
    jwksUrl: `${url}/jwks.json`,
    tokenUrl: `${url}/token`,
    get current() {
      return keys[keys.length - 1]!;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    tokenRequests,
    get jwksDown() {
      return jwksDown;
    },
    set jwksDown(v: boolean) {
      jwksDown = v;
    },
    token,
    rotate({ alg, dropOld } = {}) {
      const key = newKey(alg ?? 'RS256');
      keys = dropOld ? [key] : [...keys, key];
      return key;
    },
    unpublishedKey: (alg) => newKey(alg),
    addClient: (id, client) => void clients.set(id, client),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
