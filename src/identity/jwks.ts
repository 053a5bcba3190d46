/**
 * Production token verification: JWTs from an identity provider, checked
 * against the provider's JSON Web Key Set (AUTH_MODE=jwks).
 *
 * jose 6 is ESM-only and this package compiles to CommonJS. It is loaded with
 * a real dynamic `import()` (TypeScript keeps it as such under
 * `module: nodenext`), which plain Node and Jest with
 * --experimental-vm-modules both handle; a top-level `require` would break
 * under Jest. Only types are imported statically.
 *
 * Failures split in two:
 * - the token is bad (expired, forged, wrong issuer, unknown key...): an
 *   AuthError with a message safe to show, so the client gets UNAUTHENTICATED;
 * - we cannot get the provider's keys (down, timing out, serving garbage) and
 *   hold none recent enough: that is our fault, not the caller's, so it is
 *   UPSTREAM_UNAVAILABLE with HTTP 503 and Retry-After, and it is logged.
 *   A short outage does not reach callers: the last key set fetched keeps
 *   being used for up to STALE_KEYS_MAX_MS past its cache time.
 */
import type {
  CryptoKey,
  ExportedJWKSCache,
  JWTPayload,
  JWTVerifyGetKey,
  JWTVerifyOptions,
  JWKSCacheInput,
} from 'jose';
import type { AuthConfig } from '../config/index.js';
import { ErrorCode, GraphQLErrorWithCode } from '../errors/index.js';
import { log } from '../logger.js';
import { AuthError, MAX_TOKEN_LENGTH, rolesFromClaim, type Principal, type TokenVerifier } from './index.js';

type Jose = typeof import('jose');

/** After a successful fetch, an unknown key id refetches the key set at most this often (capped by the cache time). */
export const JWKS_COOLDOWN_MS = 30_000;
/** A key set request that has not answered within this fails. */
export const JWKS_FETCH_TIMEOUT_MS = 5_000;
/** How long past its cache time the last fetched key set stays in use while the provider cannot be reached. */
export const STALE_KEYS_MAX_MS = 60 * 60_000;
/** After a failed fetch, the stale key set is used without asking the provider again for this long (no request waits on a dead provider each time). */
export const JWKS_RETRY_AFTER_FAILURE_MS = 10_000;

/**
 * Signature algorithms that can come from a key set: asymmetric only. An HMAC
 * algorithm would let anyone holding the published key (everyone) sign.
 */
const ASYMMETRIC_ALGORITHMS = /^(?:(?:RS|PS|ES)(?:256|384|512)|EdDSA|Ed25519)$/;

/** The provider's keys cannot be had: UPSTREAM_UNAVAILABLE, HTTP 503. Not an AuthError: the caller did nothing wrong. */
export class IdentityProviderUnavailable extends GraphQLErrorWithCode {
  constructor(retryAfterSec: number) {
    super('The identity provider cannot be reached; try again shortly', ErrorCode.UPSTREAM_UNAVAILABLE, {
      // Read by Apollo Server for the HTTP status and headers, then removed from the response body.
      http: { status: 503, headers: new Map([['retry-after', String(retryAfterSec)]]) },
    });
    this.name = 'IdentityProviderUnavailable';
  }
}

export interface JwksVerifierOptions {
  /** Overrides the refetch cooldown for an unknown key id (tests of rotation). */
  cooldownMs?: number;
  /** Overrides the fetch timeout. */
  timeoutMs?: number;
}

let josePromise: Promise<Jose> | null = null;
function loadJose(): Promise<Jose> {
  // One import for the process; a failed import is retried next time rather than cached.
  josePromise ??= import('jose').catch((err: unknown) => {
    josePromise = null;
    throw err;
  });
  return josePromise;
}

/** jose error codes that mean the token (not the key set) is at fault, with what the caller is told. */
function tokenFault(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'Token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimFault(err as { claim?: unknown; reason?: unknown });
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'Token signature is invalid';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'Token algorithm not accepted';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'Token was signed with an unknown key';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'Token is not a valid JWT';
    default:
      return null;
  }
}

function claimFault({ claim, reason }: { claim?: unknown; reason?: unknown }): string {
  if (reason === 'missing') {
    if (claim === 'exp') return 'Token has no expiry';
    if (claim === 'sub') return 'Token has no subject';
    return `Token has no "${String(claim)}" claim`;
  }
  // jose names only registered claims (exp, nbf, iat, iss, aud, sub, typ), so echoing one is safe.
  if (reason === 'invalid') return `Token "${String(claim)}" claim is not valid`;
  switch (claim) {
    case 'iss':
      return 'Token issuer not accepted';
    case 'aud':
      return 'Token audience not accepted';
    case 'nbf':
      return 'Token is not valid yet';
    case 'exp':
      return 'Token has expired';
    case 'sub':
      return 'Token has no subject';
    default:
      return 'Token claims not accepted';
  }
}

/** Errors from the key lookup that the token causes; anything else there is the key set failing. */
function isKeyLookupTokenFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === 'ERR_JWKS_NO_MATCHING_KEY' ||
    code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' ||
    code === 'ERR_JOSE_NOT_SUPPORTED'
  );
}

/**
 * Verifies identity-provider tokens: signature against the key set at
 * `auth.jwksUrl` (cached `jwksCacheSec`, refetched early when a token names a
 * key id not in the cache, i.e. after a rotation), then issuer, audience,
 * algorithm, expiry and not-before with `clockSkewSec` of tolerance. Every
 * token must carry `exp` and `sub`. Roles come from `auth.rolesClaim`.
 */
export function createJwksVerifier(auth: AuthConfig, opts: JwksVerifierOptions = {}): TokenVerifier {
  if (!auth.jwksUrl) throw new Error('AUTH_JWKS_URL is required to verify identity-provider tokens');
  const jwksUrl = new URL(auth.jwksUrl);
  const refused = auth.algorithms.filter((a) => !ASYMMETRIC_ALGORITHMS.test(a));
  if (refused.length || !auth.algorithms.length) {
    throw new Error(
      `AUTH_ALGORITHMS: only asymmetric signature algorithms can be verified with a key set (refused: ${refused.join(', ') || 'an empty list'})`,
    );
  }
  const cacheMs = auth.jwksCacheSec * 1000;
  // Never longer than the cache time: a set that is due for refetch anyway should not refuse a new key.
  const cooldownMs = opts.cooldownMs ?? Math.min(JWKS_COOLDOWN_MS, cacheMs);
  const timeoutMs = opts.timeoutMs ?? JWKS_FETCH_TIMEOUT_MS;
  const verifyOptions: JWTVerifyOptions = {
    issuer: auth.issuer,
    audience: auth.audience,
    algorithms: auth.algorithms,
    clockTolerance: auth.clockSkewSec,
    requiredClaims: ['exp', 'sub'],
  };

  // jose writes each successfully fetched key set and its time into this object.
  const fetched: Partial<ExportedJWKSCache> = {};
  let keys: { remote: JWTVerifyGetKey; stale: (jwks: ExportedJWKSCache['jwks']) => JWTVerifyGetKey } | null =
    null;
  let staleSet: { jwks: ExportedJWKSCache['jwks']; getKey: JWTVerifyGetKey } | null = null;
  let failedAt = -Infinity;
  let loggedAt = -Infinity;

  async function keySet(jose: Jose) {
    keys ??= {
      remote: jose.createRemoteJWKSet(jwksUrl, {
        cacheMaxAge: cacheMs,
        cooldownDuration: cooldownMs,
        timeoutDuration: timeoutMs,
        [jose.jwksCache]: fetched as JWKSCacheInput,
      }),
      stale: (jwks) => jose.createLocalJWKSet(jwks),
    };
    return keys;
  }

  /** The last fetched key set while it may still stand in for the provider, else null. */
  function lastKnown(set: NonNullable<typeof keys>): JWTVerifyGetKey | null {
    if (!fetched.jwks || fetched.uat === undefined) return null;
    if (Date.now() > fetched.uat + cacheMs + STALE_KEYS_MAX_MS) return null;
    if (staleSet?.jwks !== fetched.jwks) staleSet = { jwks: fetched.jwks, getKey: set.stale(fetched.jwks) };
    return staleSet.getKey;
  }

  async function getKey(jose: Jose, ...[header, token]: Parameters<JWTVerifyGetKey>) {
    const set = await keySet(jose);
    const fallback = lastKnown(set);
    // A fetch failed after the last good one, moments ago: do not make this request wait on it again.
    const recentFailure =
      failedAt > (fetched.uat ?? -Infinity) && Date.now() - failedAt < JWKS_RETRY_AFTER_FAILURE_MS;
    if (fallback && recentFailure) return fallback(header, token);
    try {
      return await set.remote(header, token);
    } catch (err) {
      if (isKeyLookupTokenFault(err)) throw err;
      // A failure after a good fetch starts a new outage; it is always logged.
      const newOutage = failedAt <= (fetched.uat ?? -Infinity);
      failedAt = Date.now();
      if (newOutage || failedAt - loggedAt >= JWKS_RETRY_AFTER_FAILURE_MS) {
        // Otherwise at most one line per retry period, however many requests arrive during an outage.
        loggedAt = failedAt;
        log.error('identity provider key set could not be fetched', {
          url: jwksUrl.href,
          usingLastKnownKeys: !!fallback,
          err,
        });
      }
      if (fallback) return fallback(header, token);
      throw new IdentityProviderUnavailable(Math.ceil(JWKS_RETRY_AFTER_FAILURE_MS / 1000));
    }
  }

  async function jwtVerify(jose: Jose, token: string): Promise<JWTPayload> {
    const resolve: JWTVerifyGetKey = (header, jws) => getKey(jose, header, jws);
    try {
      return (await jose.jwtVerify(token, resolve, verifyOptions)).payload;
    } catch (err) {
      // A token without a key id where the set has several keys of its type:
      // jose hands back the candidates; the one whose signature checks wins.
      if ((err as { code?: unknown }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw err;
      for await (const key of err as AsyncIterable<CryptoKey>) {
        try {
          return (await jose.jwtVerify(token, key, verifyOptions)).payload;
        } catch (inner) {
          if ((inner as { code?: unknown }).code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') continue;
          throw inner;
        }
      }
      throw new AuthError('Token signature is invalid');
    }
  }

  return {
    async verify(token: string): Promise<Principal> {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH)
        throw new AuthError('Token is not a JWT');
      const jose = await loadJose();
      let payload: JWTPayload;
      try {
        payload = await jwtVerify(jose, token);
      } catch (err) {
        if (err instanceof AuthError || err instanceof IdentityProviderUnavailable) throw err;
        const message = tokenFault(err);
        if (message) throw new AuthError(message);
        throw err;
      }
      const sub = payload.sub;
      if (typeof sub !== 'string' || sub.trim() === '') throw new AuthError('Token has no subject');
      // requiredClaims guarantees exp is present and jose that it is a number.
      return { sub, roles: rolesFromClaim(payload, auth.rolesClaim), exp: payload.exp! };
    },
    // The key set that accepted a token then is the one in use now: not refetched since (a
    // rotation, an unknown key id), and not yet due for refetch. A stale set used through an
    // outage is past its cache time, so its acceptances are never reused.
    keysUnchangedSince(acceptedAt: number): boolean {
      const uat = fetched.uat;
      return uat !== undefined && uat <= acceptedAt && Date.now() < uat + cacheMs;
    },
  };
}
