/**
 * OTDS client_credentials tokens for the OpenText connectors (api-reference §2).
 *
 * - Both token forms: the OCP tenant endpoint (`/tenants/{id}/oauth2/token`) takes a JSON body;
 *   OTDS (`/otdsws/oauth2/token`, `/otdstenant/{id}/oauth2/token`) a form. `OTDS_SCOPE` is sent
 *   when set.
 * - One token per token URL (one provider per process, shared by every connector), cached until
 *   `expires_in` minus a margin, never fetched per call. Concurrent callers that find it
 *   missing or stale wait on one shared request.
 * - `invalidate` drops the token a call was refused with (only if it is still the cached one, so
 *   that twenty callers refused with the same token cause one refresh, not twenty).
 * - The client secret is sent in the body only; it is in no log line or error (`Secret`).
 */
import { z } from 'zod';
import type { OtdsConfig, ResilienceConfig } from '../../config/opentext.js';
import { log } from '../../logger.js';
import { OpenTextAuthError, UpstreamProtocolError } from './errors.js';
import type { UpstreamHealth } from './health.js';
import { UpstreamClient, type AccessToken, type TokenSource } from './http.js';

/** `OtdsTokenResponse` of the SDK [V:sdk]; `refresh_token` and `scope` are ignored. */
const TokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().positive(),
});

/** OAuth2 error body `{error, error_description}` [I] or the API gateway's fault [V:page FOR]. */
const ErrorBody = z.union([
  z.object({ error: z.string(), error_description: z.string().optional() }),
  z.object({
    fault: z.object({
      faultstring: z.string().optional(),
      detail: z.object({ errorcode: z.string() }).optional(),
    }),
  }),
]);

export interface OtdsTokenProviderOptions {
  config: OtdsConfig;
  resilience: ResilienceConfig;
  health: UpstreamHealth;
  /** Refresh this long before `expires_in` runs out (capped at a tenth of the lifetime). Default 60 s. */
  marginMs?: number;
  now?: () => number;
}

export class OtdsTokenProvider implements TokenSource {
  readonly #config: OtdsConfig;
  readonly #client: UpstreamClient;
  readonly #marginMs: number;
  readonly #now: () => number;
  readonly #health: UpstreamHealth;
  #current: (AccessToken & { refreshAt: number }) | null = null;
  #pending: Promise<AccessToken> | null = null;
  /** Token requests sent, for metrics and tests. */
  requests = 0;

  constructor(options: OtdsTokenProviderOptions) {
    this.#config = options.config;
    this.#marginMs = options.marginMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#health = options.health;
    this.#client = new UpstreamClient({
      name: 'otds',
      baseUrl: options.config.tokenUrl,
      resilience: options.resilience,
      health: options.health,
      now: this.#now,
    });
  }

  token(): Promise<AccessToken> {
    const current = this.#current;
    if (current && this.#now() < current.refreshAt) return Promise.resolve(current);
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  invalidate(token: AccessToken): void {
    if (this.#current?.value === token.value) this.#current = null;
  }

  async #fetch(): Promise<AccessToken> {
    const { clientId, clientSecret, scope, tokenForm } = this.#config;
    const fields: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret.reveal(),
      ...(scope ? { scope } : {}),
    };
    this.requests++;
    const response = await this.#client.request({
      operation: 'otds.token',
      method: 'POST',
      path: '',
      body: tokenForm === 'tenant-json' ? { json: fields } : { form: fields },
      // Asking for a token twice only yields two tokens.
      idempotent: true,
    });
    const body = response.json();
    if (response.status !== 200) {
      const parsed = ErrorBody.safeParse(body);
      const code = parsed.success
        ? 'error' in parsed.data
          ? parsed.data.error
          : parsed.data.fault.detail?.errorcode
        : undefined;
      const detail = parsed.success
        ? 'error' in parsed.data
          ? parsed.data.error_description
          : parsed.data.fault.faultstring
        : undefined;
      const message = this.#scrub(
        `OTDS refused the client credentials of ${clientId} (HTTP ${response.status}${code ? `, ${code}` : ''}${detail ? `: ${detail}` : ''})`,
      );
      log.error('OTDS token request refused', { status: response.status, code, clientId });
      this.#health.set('otds', 'unauthorized');
      throw new OpenTextAuthError('otds', response.status, message, code);
    }
    const parsed = TokenResponse.safeParse(body);
    if (!parsed.success) {
      throw new UpstreamProtocolError(
        'otds',
        'otds.token',
        response.status,
        'the token response has no access_token/expires_in',
      );
    }
    const obtainedAt = this.#now();
    const lifetimeMs = parsed.data.expires_in * 1000;
    const token = {
      value: parsed.data.access_token,
      obtainedAt,
      expiresAt: obtainedAt + lifetimeMs,
      refreshAt: obtainedAt + lifetimeMs - Math.min(this.#marginMs, lifetimeMs / 10),
    };
    this.#current = token;
    return token;
  }

  /** An upstream that echoes the request into its error must not get the secret into ours. */
  #scrub(message: string): string {
    const secret = this.#config.clientSecret.reveal();
    return secret ? message.split(secret).join('[redacted]') : message;
  }
}
