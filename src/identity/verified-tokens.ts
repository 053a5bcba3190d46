import { Lru } from '../lru.js';
import type { Principal, TokenVerifier } from './index.js';

/**
 * Accepted tokens, remembered so that a client sending the same token on every request (all of
 * them do) is not checked again each time: signature verification was the largest single item in
 * the gateway's and the subgraph services' CPU profiles after GraphQL execution itself.
 *
 * Only acceptances are remembered; a refused token is checked again every time and refused the
 * same way. A remembered acceptance stands only while the verifier would give the same answer:
 * - never past the token's own expiry (with the verifier's clock tolerance), so an expired token
 *   is refused even if it was accepted a moment ago;
 * - only while the verifier says the keys that accepted it are unchanged (`keysUnchangedSince`):
 *   a JWKS verifier's key set refetched, or due for refetch, voids the acceptances made before,
 *   so a key the provider withdrew stops working exactly when it would without this cache;
 *   a verifier that cannot say so is never cached;
 * - for at most `maxAgeMs` (a bound on how long anything is taken on trust).
 * The map is bounded: the least recently used entry goes first.
 */
export interface VerifiedTokenCacheOptions {
  /** Most tokens remembered at once. */
  maxEntries: number;
  /** Longest an acceptance is reused without a fresh check. */
  maxAgeMs: number;
  /** The verifier's clock tolerance: it refuses a token once `now - tolerance >= exp`. */
  clockToleranceSec: number;
  /** For tests of the clock; Date.now by default. */
  now?: () => number;
}

export const VERIFIED_TOKEN_CACHE_DEFAULTS = { maxEntries: 10_000, maxAgeMs: 5 * 60_000 } as const;

interface Accepted {
  principal: Principal;
  acceptedAt: number;
  /** ms since epoch: after this the entry is void (expiry, maxAgeMs). */
  until: number;
}

export function cachedVerifier(inner: TokenVerifier, opts: VerifiedTokenCacheOptions): TokenVerifier {
  const keysUnchangedSince = inner.keysUnchangedSince?.bind(inner);
  if (!keysUnchangedSince || opts.maxEntries <= 0 || opts.maxAgeMs <= 0) return inner;
  const now = opts.now ?? Date.now;
  const accepted = new Lru<string, Accepted>(opts.maxEntries);
  // A copy each time: a caller that changed its principal must not change the next request's.
  const copy = (p: Principal): Principal => ({ ...p, roles: [...p.roles] });

  return {
    async verify(token: string): Promise<Principal> {
      const t = now();
      const hit = accepted.get(token);
      if (hit) {
        if (t < hit.until && keysUnchangedSince(hit.acceptedAt)) return copy(hit.principal);
        accepted.delete(token);
      }
      const principal = await inner.verify(token);
      // A token without an expiry is never remembered (our verifiers refuse those anyway).
      if (principal.exp !== undefined) {
        const until = Math.min(t + opts.maxAgeMs, (principal.exp + opts.clockToleranceSec) * 1000);
        if (until > t) accepted.set(token, { principal: copy(principal), acceptedAt: t, until });
      }
      return principal;
    },
    keysUnchangedSince,
  };
}
