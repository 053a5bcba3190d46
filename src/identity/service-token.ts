/**
 * Tokens with which our own processes (standalone subgraphs, the worker) call
 * each other.
 *
 * - dev mode: minted locally with the dev signing key, for a fixed subject
 *   (`worker`, `subgraph:<name>`).
 * - jwks mode: obtained from the identity provider with the OAuth 2.0 client
 *   credentials grant (RFC 6749 §4.4) using AUTH_TOKEN_URL, AUTH_CLIENT_ID,
 *   AUTH_CLIENT_SECRET. The dev key is never used there.
 *
 * Either way a token is reused until shortly before it expires, and one
 * request at a time is made for a new one however many calls wait for it.
 */
import { ConfigError, type AuthConfig, type Config } from '../config/index.js';
import { log } from '../logger.js';
import { loadOrCreateDevKey, signDevToken, type DevKey } from './index.js';

export interface ServiceTokenSource {
  /** A bearer token valid for at least a little while; rejects if none can be had. */
  token(): Promise<string>;
}

/** A token is replaced this long before it expires (or at half its life if that is shorter). */
export const REFRESH_MARGIN_SEC = 60;
/** Lifetime assumed when the token endpoint gives no `expires_in` and the token carries no readable `exp`. */
export const ASSUMED_LIFETIME_SEC = 300;
/** A token endpoint that has not answered within this fails the request. */
export const TOKEN_ENDPOINT_TIMEOUT_MS = 10_000;
/** A token is reused at least this long, whatever lifetime it claims, so a bad `exp` cannot make every call fetch one. */
export const MIN_REUSE_SEC = 1;
/** After a failed fetch with no usable token, callers fail fast for this long instead of each asking again. */
export const FAILURE_BACKOFF_MS = 2_000;
/** Lifetime of locally minted dev service tokens. */
export const DEV_SERVICE_TOKEN_TTL_SEC = 3600;

interface Held {
  token: string;
  /** ms since epoch: fetch a new one from here on. */
  refreshAt: number;
  /** ms since epoch: unusable from here on. */
  expiresAt: number;
}

function refreshPoint(obtainedAt: number, lifetimeSec: number): number {
  const early = Math.min(REFRESH_MARGIN_SEC, lifetimeSec / 2);
  return obtainedAt + Math.max(MIN_REUSE_SEC, lifetimeSec - early) * 1000;
}

/**
 * Keeps one token and renews it through `obtain`. A renewal that fails while
 * the held token is still valid is logged and the held token used meanwhile
 * (the next call tries again); once it has expired, the failure reaches the caller.
 */
function caching(obtain: () => Promise<{ token: string; lifetimeSec: number }>): ServiceTokenSource {
  let held: Held | null = null;
  let pending: Promise<Held> | null = null;
  let failed: { error: unknown; until: number } | null = null;

  const renew = (): Promise<Held> => {
    if (failed && Date.now() < failed.until) return Promise.reject(failed.error);
    return (pending ??= (async () => {
      try {
        const obtainedAt = Date.now();
        const { token, lifetimeSec } = await obtain();
        held = {
          token,
          refreshAt: refreshPoint(obtainedAt, lifetimeSec),
          expiresAt: obtainedAt + Math.max(MIN_REUSE_SEC, lifetimeSec) * 1000,
        };
        failed = null;
        return held;
      } catch (error) {
        // The identity provider is down or refusing: do not let every internal call wait on it again.
        failed = { error, until: Date.now() + FAILURE_BACKOFF_MS };
        throw error;
      } finally {
        pending = null;
      }
    })());
  };

  return {
    async token() {
      const now = Date.now();
      if (held && now < held.refreshAt) return held.token;
      if (held && now < held.expiresAt) {
        // Early renewal: a failure here is not the caller's problem yet.
        const current = held.token;
        return renew().then(
          (h) => h.token,
          (err: unknown) => {
            log.warn('service token renewal failed; using the current token until it expires', { err });
            return current;
          },
        );
      }
      return (await renew()).token;
    },
  };
}

/** Dev mode: tokens for `sub` with the `service` role, signed with the dev key. */
export function devServiceTokens(
  key: DevKey,
  sub: string,
  auth: Pick<AuthConfig, 'issuer' | 'audience' | 'rolesClaim'>,
  ttlSec = DEV_SERVICE_TOKEN_TTL_SEC,
): ServiceTokenSource {
  return caching(async () => ({
    token: await signDevToken(key, { sub, roles: ['service'], ttlSec }, auth),
    lifetimeSec: ttlSec,
  }));
}

export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
}

/** The `exp` of a JWT, unverified: only used to decide when to ask for a new token. */
function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}

/** The token endpoint's `error` / `error_description` (RFC 6749 §5.2), never the request. */
function describeFailure(status: number, body: string): string {
  try {
    const json = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    const parts = [json.error, json.error_description].filter((p): p is string => typeof p === 'string');
    if (parts.length) return `${status} ${parts.join(': ').slice(0, 300)}`;
  } catch {
    // Not JSON: the status alone says enough, and the body may echo anything.
  }
  return String(status);
}

/**
 * jwks mode: tokens from the identity provider's token endpoint with the
 * client credentials grant. The client authenticates with HTTP Basic
 * (client_secret_basic, which every OAuth server must accept) and asks for
 * `audience` (needed by some providers, ignored by the rest as RFC 6749 requires).
 */
export function clientCredentialsTokens(
  client: ClientCredentials,
  opts: { audience?: string; scope?: string; timeoutMs?: number } = {},
): ServiceTokenSource {
  // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
  const basic = Buffer.from(
    `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
  ).toString('base64');
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (opts.audience) form.set('audience', opts.audience);
  if (opts.scope) form.set('scope', opts.scope);
  const body = form.toString();

  return caching(async () => {
    let res: Response;
    try {
      res = await fetch(client.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(opts.timeoutMs ?? TOKEN_ENDPOINT_TIMEOUT_MS),
      });
    } catch (err) {
      throw new Error(`service token: token endpoint ${client.tokenUrl} unreachable`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) {
      throw new Error(
        `service token: token endpoint ${client.tokenUrl} refused client ${client.clientId}: ${describeFailure(res.status, text)}`,
      );
    }
    let json: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw new Error(
        `service token: token endpoint ${client.tokenUrl} answered with something other than JSON`,
      );
    }
    const token = json.access_token;
    if (typeof token !== 'string' || !token) {
      throw new Error(`service token: token endpoint ${client.tokenUrl} answered without an access_token`);
    }
    if (typeof json.token_type === 'string' && json.token_type.toLowerCase() !== 'bearer') {
      throw new Error(
        `service token: token endpoint issued a "${json.token_type}" token; a bearer token is needed`,
      );
    }
    const expiresIn = Number(json.expires_in);
    const exp = jwtExpiry(token);
    const lifetimeSec =
      Number.isFinite(expiresIn) && expiresIn > 0
        ? expiresIn
        : exp !== undefined
          ? Math.max(0, exp - Date.now() / 1000)
          : ASSUMED_LIFETIME_SEC;
    return { token, lifetimeSec };
  });
}

/**
 * The token source for one of our processes, by auth mode. In jwks mode
 * without client credentials it fails with a ConfigError, so a process that
 * has to call the others refuses to start instead of failing on first use.
 */
export async function serviceTokenSource(
  config: Config,
  sub: string,
  role: string,
): Promise<ServiceTokenSource> {
  if (config.auth.mode === 'dev') {
    return devServiceTokens(await loadOrCreateDevKey(config.dataDir), sub, config.auth);
  }
  if (!config.auth.client) {
    throw new ConfigError([
      `AUTH_TOKEN_URL, AUTH_CLIENT_ID, AUTH_CLIENT_SECRET: required in jwks mode, ${role} calls the other services with a token from the identity provider`,
    ]);
  }
  return clientCredentialsTokens(config.auth.client, { audience: config.auth.audience });
}
