/**
 * OTDS / OCP token endpoint of the fake (api-reference §2, §11 "OTDS / OCP token").
 *
 * - `POST /tenants/{tenant}/oauth2/token` takes JSON; `POST /otdsws/otdstenant/{t}/oauth2/token`,
 *   `POST /otdstenant/{t}/oauth2/token` and `POST /otdsws/oauth2/token` take a form. A body in
 *   the other encoding is refused (400 `invalid_request`), as a real endpoint would not parse it.
 * - Checks `client_id`/`client_secret`; answers `{access_token, token_type:"Bearer", expires_in}`
 *   with `expires_in` configurable (default 900 s). Tokens are opaque random strings.
 * - Bad credentials: 401 `{"error":"invalid_client",...}`, or with `faultStyle: 'apigee'` the OCP
 *   gateway's `fault` body.
 */
import { randomBytes } from 'node:crypto';
import type { FakeCaller, FakeRequest, FakeResponse } from './types.js';
import { json } from './types.js';

export interface FakeClient {
  clientId: string;
  secret: string;
  /** Defaults to `<clientId>@OAuthClients`, the form of OTDS service clients [V:sdk `empowerUser`]. */
  subject?: string;
  groups?: string[];
}

interface IssuedToken extends FakeCaller {
  expiresAt: number;
}

export const TOKEN_PATH =
  /^\/(?:tenants\/[^/]+|otdsws\/otdstenant\/[^/]+|otdstenant\/[^/]+|otdsws)\/oauth2\/token$/;

export class FakeOtds {
  readonly #clients = new Map<string, FakeClient>();
  readonly #tokens = new Map<string, IssuedToken>();
  /** Seconds in `expires_in`. */
  expiresInSec = 900;
  /** Fake-only: answer bad credentials with the Apigee `fault` body instead of OAuth2's. */
  faultStyle: 'oauth' | 'apigee' = 'oauth';
  tokenRequests = 0;

  constructor(readonly now: () => number) {}

  addClient(client: FakeClient): void {
    this.#clients.set(client.clientId, client);
  }

  /** Fake-only: every token issued so far is expired from now on. */
  expireAllTokens(): void {
    const now = this.now();
    for (const token of this.#tokens.values()) token.expiresAt = Math.min(token.expiresAt, now - 1);
  }

  /** The caller of a bearer token: `valid`, `expired` or `unknown`. */
  authenticate(
    authorization: string | undefined,
  ): { state: 'valid'; caller: FakeCaller } | { state: 'expired' | 'unknown' } {
    const match = /^Bearer (\S+)$/i.exec(authorization ?? '');
    const token = match ? this.#tokens.get(match[1]!) : undefined;
    if (!token) return { state: 'unknown' };
    if (this.now() >= token.expiresAt) return { state: 'expired' };
    return {
      state: 'valid',
      caller: { clientId: token.clientId, subject: token.subject, groups: token.groups },
    };
  }

  handleToken(req: FakeRequest): FakeResponse {
    if (req.method !== 'POST') return json(405, { error: 'invalid_request', error_description: 'POST only' });
    this.tokenRequests++;
    const tenantForm = req.path.startsWith('/tenants/');
    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    let fields: Record<string, string>;
    if (tenantForm) {
      if (contentType !== 'application/json')
        return this.#badRequest('the tenant endpoint takes a JSON body');
      try {
        fields = req.json<Record<string, string>>();
      } catch {
        return this.#badRequest('malformed JSON');
      }
    } else {
      if (contentType !== 'application/x-www-form-urlencoded')
        return this.#badRequest('a form body is required');
      fields = Object.fromEntries(new URLSearchParams(req.body.toString('utf8')));
    }
    if (fields.grant_type !== 'client_credentials') {
      return json(400, { error: 'unsupported_grant_type', error_description: 'client_credentials only' });
    }
    const client = fields.client_id ? this.#clients.get(fields.client_id) : undefined;
    if (!client || client.secret !== fields.client_secret) {
      if (this.faultStyle === 'apigee') {
        return json(401, {
          fault: {
            faultstring: 'Invalid client credentials',
            detail: { errorcode: 'oauth.v2.InvalidClientIdentifier' },
          },
        });
      }
      return json(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    const value = randomBytes(24).toString('base64url');
    this.#tokens.set(value, {
      clientId: client.clientId,
      subject: client.subject ?? `${client.clientId}@OAuthClients`,
      groups: client.groups ?? [],
      expiresAt: this.now() + this.expiresInSec * 1000,
    });
    return json(200, {
      access_token: value,
      token_type: 'Bearer',
      expires_in: this.expiresInSec,
      ...(fields.scope ? { scope: fields.scope } : {}),
    });
  }

  #badRequest(description: string): FakeResponse {
    return json(400, { error: 'invalid_request', error_description: description });
  }
}
