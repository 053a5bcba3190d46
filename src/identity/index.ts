/**
 * Identity: who is calling, and in which roles.
 *
 * The gateway only ever sees a `TokenVerifier`; the development verifier here
 * checks EdDSA (Ed25519) JWTs signed with a key kept in the data directory.
 * It is written on node:crypto rather than `jose` because jose 6 is ESM-only:
 * plain Node 20.19+ can `require` it, but Jest 29's module loader cannot, so
 * every test touching identity would need a special transform.
 *
 * Ed25519 rather than HS256 so that anything which only verifies (a remote
 * subgraph, a JWKS endpoint) can be given the public half without being able
 * to mint tokens.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const ROLES = [
  'requester',
  'reviewer',
  'approver',
  'compliance',
  'operations',
  'service-agent',
  'auditor',
  'admin',
  'service',
] as const;
export type Role = (typeof ROLES)[number];

const ROLE_SET: ReadonlySet<string> = new Set(ROLES);

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && ROLE_SET.has(value);
}

export interface Principal {
  sub: string;
  roles: Role[];
  /** seconds since epoch */
  exp?: number;
}

/** A bad, expired, forged or missing token. Its message is safe to show a client. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

export interface TokenVerifier {
  /** Resolves to the caller; rejects with AuthError for any token it does not accept. */
  verify(token: string): Promise<Principal>;
  /**
   * Whether a token accepted at `acceptedAt` (ms since epoch) would still be checked against the
   * same keys now: false once the keys were replaced or are due to be fetched again. Lets an
   * acceptance be reused (verified-tokens.ts); a verifier without it is asked every time.
   */
  keysUnchangedSince?(acceptedAt: number): boolean;
}

// Three base64url segments. Checked up front because Buffer's base64url
// decoder silently skips characters it does not know.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// Far above any token we issue; stops a hostile header costing us a big JSON parse.
export const MAX_TOKEN_LENGTH = 8192;

/** Parses "Bearer <jwt>" (case-insensitive scheme); returns null for undefined/empty; throws AuthError if malformed. */
export function bearerToken(header: string | undefined | null): string | null {
  if (header === undefined || header === null) return null;
  const trimmed = header.trim();
  if (trimmed === '') return null;
  // RFC 7235: the scheme is case-insensitive and separated by one or more spaces.
  const match = /^Bearer +(\S+)$/i.exec(trimmed);
  if (!match) throw new AuthError('Authorization header must be "Bearer <token>"');
  const token = match[1]!;
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
    throw new AuthError('Bearer token is not a JWT');
  }
  return token;
}

// ---------------------------------------------------------------------------
// Development signing key
// ---------------------------------------------------------------------------

export interface DevKey {
  /** Key id, sent as the JWT `kid` header so a token from a replaced key fails with a clear message. */
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public half only, for a JWKS document or a process that must verify but never sign. */
  readonly publicJwk: JsonWebKey;
}

export const DEV_KEY_FILE = 'dev-signing-key.json';

const KeyFile = z.object({
  version: z.literal(1),
  kid: z.string().min(1),
  alg: z.literal('EdDSA'),
  createdAt: z.string(),
  privateJwk: z.object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: z.string().min(1),
    d: z.string().min(1),
  }),
});
type KeyFile = z.infer<typeof KeyFile>;

function devKeyFromFile(file: KeyFile): DevKey {
  const privateKey = createPrivateKey({ key: { ...file.privateJwk }, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const publicJwk: JsonWebKey = {
    ...publicKey.export({ format: 'jwk' }),
    kid: file.kid,
    alg: 'EdDSA',
    use: 'sig',
  };
  return Object.freeze({ kid: file.kid, alg: 'EdDSA' as const, privateKey, publicKey, publicJwk });
}

function newKeyFile(): KeyFile {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  if (!jwk.x || !jwk.d) throw new Error('node:crypto returned an Ed25519 JWK without x/d');
  return {
    version: 1,
    kid: `dev-${randomBytes(6).toString('hex')}`,
    alg: 'EdDSA',
    createdAt: new Date().toISOString(),
    privateJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d },
  };
}

async function readKeyFile(file: string): Promise<DevKey> {
  const raw = await fs.readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    // Not regenerated on purpose: a silent new key would invalidate every
    // token already handed out, and hide whatever damaged the file.
    throw new Error(`${file} is not valid JSON; delete it to generate a new dev signing key`);
  }
  const parsed = KeyFile.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `${file} is not a dev signing key (${parsed.error.issues[0]?.message ?? 'invalid'}); delete it to generate a new one`,
    );
  }
  return devKeyFromFile(parsed.data);
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/** Loads the dev signing key from `<dataDir>/dev-signing-key.json`, creating it (random, file mode 0600, atomic write) on first use. */
export async function loadOrCreateDevKey(dataDir: string): Promise<DevKey> {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, DEV_KEY_FILE);
  try {
    return await readKeyFile(file);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }

  await fs.mkdir(dir, { recursive: true });
  const keyFile = newKeyFile();
  // Write the whole file under a private temporary name first, so no reader
  // ever sees a half-written key, and it is 0600 from the moment it exists.
  const tmp = path.join(dir, `.${DEV_KEY_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(keyFile, null, 2) + '\n', 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // link() publishes the file atomically and fails if it already exists, so
    // when the token CLI and a server start at the same moment both end up on
    // the one key that won instead of each keeping its own.
    await fs.link(tmp, file);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) {
      await fs.unlink(tmp).catch(() => undefined);
      return readKeyFile(file);
    }
    // Some filesystems (certain mounts, FAT) cannot hard-link; rename is still
    // atomic there, just last-writer-wins under a race.
    await fs.rename(tmp, file);
    return devKeyFromFile(keyFile);
  }
  await fs.unlink(tmp).catch(() => undefined);
  return devKeyFromFile(keyFile);
}

// ---------------------------------------------------------------------------
// Signing and verifying
// ---------------------------------------------------------------------------

export interface DevTokenOptions {
  issuer: string;
  audience: string;
  /** Claim holding the role list; a dotted path such as `realm_access.roles` is looked up when no claim has that literal name. */
  rolesClaim: string;
}

export const DEFAULT_TTL_SEC = 12 * 60 * 60;
const REGISTERED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']);

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export async function signDevToken(
  key: DevKey,
  claims: { sub: string; roles: Role[]; ttlSec?: number },
  opts: DevTokenOptions,
): Promise<string> {
  if (!claims.sub) throw new TypeError('sub must be a non-empty string');
  const unknown = claims.roles.filter((r) => !isRole(r));
  if (unknown.length) throw new TypeError(`unknown role(s): ${unknown.join(', ')}`);
  const ttl = claims.ttlSec ?? DEFAULT_TTL_SEC;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new TypeError('ttlSec must be a positive integer');
  if (REGISTERED_CLAIMS.has(opts.rolesClaim)) {
    throw new TypeError(`rolesClaim "${opts.rolesClaim}" would overwrite a registered JWT claim`);
  }

  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'EdDSA', typ: 'JWT', kid: key.kid };
  const payload = {
    iss: opts.issuer,
    aud: opts.audience,
    sub: claims.sub,
    iat: now,
    exp: now + ttl,
    // Lets an audit trail tell two tokens for the same person apart.
    jti: randomUUID(),
    [opts.rolesClaim]: [...new Set(claims.roles)],
  };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  // Ed25519 hashes internally, hence no digest algorithm.
  const signature = sign(null, Buffer.from(signingInput), key.privateKey);
  return `${signingInput}.${b64url(signature)}`;
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new AuthError(`Token ${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthError(`Token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function claimAt(payload: Record<string, unknown>, name: string): unknown {
  // Own properties only, so a claim name like "__proto__" or "constructor" reads nothing.
  if (Object.hasOwn(payload, name)) return payload[name];
  let node: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Known roles from the claim, in token order, de-duplicated; anything else is ignored. */
function rolesFrom(value: unknown): Role[] {
  // An array is what we issue; a space-separated string is how OAuth-style
  // providers often send the same thing.
  const items: unknown[] = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/\s+/) : [];
  return [...new Set(items.filter(isRole))];
}

/**
 * The caller's roles from the configured claim: a literal claim name, or a
 * dotted path such as `realm_access.roles`; an array or a space-separated
 * string. Shared by every verifier so dev and production read roles alike.
 */
export function rolesFromClaim(payload: Record<string, unknown>, claim: string): Role[] {
  return rolesFrom(claimAt(payload, claim));
}

function numericDate(payload: Record<string, unknown>, claim: string): number | undefined {
  const v = payload[claim];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new AuthError(`Token "${claim}" claim is not a number`);
  return v;
}

export function createDevVerifier(
  key: DevKey,
  opts: DevTokenOptions & { clockToleranceSec?: number },
): TokenVerifier {
  const tolerance = opts.clockToleranceSec ?? 0;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new TypeError('clockToleranceSec must be >= 0');

  return {
    async verify(token: string): Promise<Principal> {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
        throw new AuthError('Token is not a JWT');
      }
      const [h, p, s] = token.split('.') as [string, string, string];
      const header = decodeSegment(h, 'header');
      // Pinning the algorithm is what stops "alg: none" and algorithm
      // confusion; never let the token choose how it is checked.
      if (header.alg !== 'EdDSA') throw new AuthError('Token algorithm not accepted');
      if (header.crit !== undefined)
        throw new AuthError('Token has critical header parameters we do not support');
      if (header.kid !== undefined && header.kid !== key.kid) {
        throw new AuthError('Token was signed with a different key');
      }
      const signatureOk = verify(null, Buffer.from(`${h}.${p}`), key.publicKey, Buffer.from(s, 'base64url'));
      if (!signatureOk) throw new AuthError('Token signature is invalid');

      // Claims are only looked at once the signature is known good.
      const payload = decodeSegment(p, 'payload');
      if (payload.iss !== opts.issuer) throw new AuthError('Token issuer not accepted');
      const aud = payload.aud;
      const audOk = Array.isArray(aud) ? aud.includes(opts.audience) : aud === opts.audience;
      if (!audOk) throw new AuthError('Token audience not accepted');

      const now = Date.now() / 1000;
      const exp = numericDate(payload, 'exp');
      // Every token we issue expires; one that does not is treated as forged or misissued.
      if (exp === undefined) throw new AuthError('Token has no expiry');
      if (now - tolerance >= exp) throw new AuthError('Token has expired');
      const nbf = numericDate(payload, 'nbf');
      if (nbf !== undefined && now + tolerance < nbf) throw new AuthError('Token is not valid yet');

      const sub = payload.sub;
      if (typeof sub !== 'string' || sub.trim() === '') throw new AuthError('Token has no subject');

      return { sub, roles: rolesFromClaim(payload, opts.rolesClaim), exp };
    },
    // One key for the life of the process: an acceptance holds until the token expires.
    keysUnchangedSince: () => true,
  };
}
