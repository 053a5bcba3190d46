import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import { ErrorCode } from '../errors/index.js';
import type { Principal } from '../identity/index.js';
import { log } from '../logger.js';
import { redisClient } from '../redis.js';
import { corsPolicy, type CorsPolicy } from './cors.js';
import { sendJson, type GraphQLRefusal } from './http.js';

/**
 * Rate limiting per identity (token subject) and, without a token, per
 * client address. It counts operations: each operation of a batched HTTP
 * request, each graphql-ws `subscribe`, each document download or report.
 *
 * The algorithm is GCRA (a token bucket kept as one timestamp per key): a
 * budget of `limit` operations that refills continuously over the window, so
 * a client may burst up to `limit` and then gets one more every
 * `window / limit`. One number per key makes it cheap in memory and a single
 * atomic script in Redis.
 */

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until the refused operation would be allowed (0 when allowed). */
  retryAfterSec: number;
  /** Operations still allowed right now after this one. */
  remaining: number;
}

export interface RateLimiter {
  take(key: string, cost: number): Promise<RateDecision>;
  close(): Promise<void>;
}

/** The settings are "per minute". */
export const RATE_LIMIT_WINDOW_MS = 60_000;
/** Keys the in-memory limiter keeps at most; past it the least recently charged key goes. */
export const MEMORY_RATE_LIMIT_MAX_KEYS = 100_000;
/** Keys in Redis: `<prefix>id:<subject>` and `<prefix>ip:<address>`. */
export const REDIS_RATE_LIMIT_PREFIX = 'commsgraph:ratelimit:';
/** A Redis answer slower than this counts as Redis being down (the operation goes through). */
export const REDIS_RATE_LIMIT_TIMEOUT_MS = 250;
/** Minimum time between two "rate limiter unavailable" log lines, so an outage does not flood the log. */
const FAILURE_LOG_INTERVAL_MS = 10_000;
/**
 * Proxies in front of the gateway when TRUST_PROXY is on. The client address
 * is the X-Forwarded-For entry this many places from the right: the one our
 * own load balancer appended. Entries further left are whatever the client
 * sent and cannot be trusted (a client could make up a new address per
 * request and never be limited).
 */
export const TRUSTED_PROXY_HOPS = 1;
/** Float rounding of `window / limit` must not cost a client its last operation. */
const EPSILON_MS = 0.001;

interface Gcra {
  decision: RateDecision;
  /** The new theoretical arrival time to store, when allowed. */
  tat: number;
}

/** One GCRA step: `stored` is the key's theoretical arrival time (ms), absent for a new key. */
function gcra(stored: number | undefined, now: number, limit: number, windowMs: number, cost: number): Gcra {
  const interval = windowMs / limit;
  const tat = Math.max(stored ?? now, now);
  const next = tat + interval * cost;
  const allowAt = next - windowMs;
  if (allowAt > now + EPSILON_MS) {
    // A cost above the whole budget never fits; tell the client the window rather than "never".
    const waitMs = cost > limit ? windowMs : allowAt - now;
    return {
      decision: {
        allowed: false,
        retryAfterSec: Math.max(1, Math.ceil(waitMs / 1000)),
        remaining: Math.max(0, Math.floor((windowMs - (tat - now)) / interval + EPSILON_MS)),
      },
      tat,
    };
  }
  return {
    decision: {
      allowed: true,
      retryAfterSec: 0,
      remaining: Math.max(0, Math.floor((windowMs - (next - now)) / interval + EPSILON_MS)),
    },
    tat: next,
  };
}

export interface MemoryRateLimiterOptions {
  /** Operations per window. */
  limit: number;
  windowMs?: number;
  maxKeys?: number;
  /** Milliseconds; tests pass a clock they move. */
  now?: () => number;
}

/**
 * One process's limiter. Memory stays bounded under a flood of new keys
 * (random client addresses): keys whose bucket is full again are dropped as
 * new ones arrive, and past `maxKeys` the least recently charged key is
 * dropped even if its bucket is not full (that client gets a fresh budget,
 * which is the lenient side to err on).
 */
export class MemoryRateLimiter implements RateLimiter {
  /** key → theoretical arrival time; Map order is the order keys were last charged. */
  private readonly tats = new Map<string, number>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private lastEvictionLog = -Infinity;

  constructor(opts: MemoryRateLimiterOptions) {
    if (!(opts.limit > 0)) throw new Error('a rate limiter needs a limit above 0');
    this.limit = opts.limit;
    this.windowMs = opts.windowMs ?? RATE_LIMIT_WINDOW_MS;
    this.maxKeys = Math.max(1, opts.maxKeys ?? MEMORY_RATE_LIMIT_MAX_KEYS);
    this.now = opts.now ?? Date.now;
  }

  /** Keys held now. */
  get size(): number {
    return this.tats.size;
  }

  async take(key: string, cost: number): Promise<RateDecision> {
    const now = this.now();
    this.sweep(now);
    const { decision, tat } = gcra(this.tats.get(key), now, this.limit, this.windowMs, cost);
    if (decision.allowed) {
      // Re-inserting moves the key to the end: the Map stays ordered by last charge.
      this.tats.delete(key);
      this.tats.set(key, tat);
      if (this.tats.size > this.maxKeys) this.evictOldest(now);
    }
    return decision;
  }

  async close(): Promise<void> {
    this.tats.clear();
  }

  /** Drops keys from the old end while their bucket is full again; each key is dropped once, so this is cheap on average. */
  private sweep(now: number): void {
    for (const [key, tat] of this.tats) {
      if (tat > now) return;
      this.tats.delete(key);
    }
  }

  private evictOldest(now: number): void {
    const oldest = this.tats.keys().next();
    if (oldest.done) return;
    this.tats.delete(oldest.value);
    if (now - this.lastEvictionLog >= FAILURE_LOG_INTERVAL_MS) {
      this.lastEvictionLog = now;
      log.warn('rate limiter full: dropping active keys', { maxKeys: this.maxKeys });
    }
  }
}

/**
 * The GCRA step in Redis, atomic, on Redis's clock so replicas with skewed
 * clocks still share one budget. Returns {allowed, retryAfterMs, remaining}.
 * TIME in a writing script is fine: Redis 5+ replicates the script's effects.
 */
const GCRA_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local eps = 0.001
local interval = window / limit
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval * cost
local allowAt = nxt - window
if allowAt > now + eps then
  local wait = allowAt - now
  if cost > limit then wait = window end
  return {0, math.ceil(wait), math.max(0, math.floor((window - (tat - now)) / interval + eps))}
end
redis.call('SET', KEYS[1], string.format('%.3f', nxt), 'PX', math.ceil(nxt - now))
return {1, 0, math.max(0, math.floor((window - (nxt - now)) / interval + eps))}
`;

/** The command ioredis defines from GCRA_LUA (defineCommand adds it at run time, hence the cast where it is called). */
interface WithRateTake {
  commsgraphRateTake(
    key: string,
    limit: number,
    windowMs: number,
    cost: number,
  ): Promise<[number, number, number]>;
}

export interface RedisRateLimiterOptions {
  limit: number;
  windowMs?: number;
  /** Namespaces the keys (`<prefix><key>`). */
  prefix: string;
}

/**
 * A limiter shared by every replica on the same Redis. When Redis does not
 * answer, the operation is allowed and the failure logged: the limit
 * protects capacity, it is not an access control, and refusing everyone
 * because the counter store is down would turn a Redis outage into an API
 * outage. Each process still has its operation limits meanwhile.
 */
export class RedisRateLimiter implements RateLimiter {
  private lastFailureLog = -Infinity;

  constructor(
    private readonly redis: Redis,
    private readonly opts: RedisRateLimiterOptions,
  ) {
    if (!(opts.limit > 0)) throw new Error('a rate limiter needs a limit above 0');
    if (!('commsgraphRateTake' in redis)) {
      redis.defineCommand('commsgraphRateTake', { numberOfKeys: 1, lua: GCRA_LUA });
    }
  }

  async take(key: string, cost: number): Promise<RateDecision> {
    const windowMs = this.opts.windowMs ?? RATE_LIMIT_WINDOW_MS;
    try {
      const [allowed, retryMs, remaining] = await (this.redis as unknown as WithRateTake).commsgraphRateTake(
        this.opts.prefix + key,
        this.opts.limit,
        windowMs,
        cost,
      );
      return {
        allowed: allowed === 1,
        retryAfterSec: allowed === 1 ? 0 : Math.max(1, Math.ceil(retryMs / 1000)),
        remaining,
      };
    } catch (err) {
      const now = Date.now();
      if (now - this.lastFailureLog >= FAILURE_LOG_INTERVAL_MS) {
        this.lastFailureLog = now;
        log.error('rate limiter unavailable (Redis): operations are not limited meanwhile', { err });
      }
      return { allowed: true, retryAfterSec: 0, remaining: this.opts.limit };
    }
  }

  /** The connection belongs to whoever made it (RateLimits.close). */
  async close(): Promise<void> {}
}

export interface RateLimitSettings {
  /** Per identity (token subject); 0 = off. */
  perMinute: number;
  /** Per client address, for calls without a token; 0 = off. */
  anonymousPerMinute: number;
}

/** The client's address: the socket's, or with trustProxy the one our proxy put in X-Forwarded-For. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const raw = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const hop = hops[hops.length - TRUSTED_PROXY_HOPS];
    if (hop) return hop;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** What a client sees when refused: FORBIDDEN (the contract's codes are closed) with reason RATE_LIMITED. */
export function rateLimitedError(retryAfterSec: number): GraphQLError {
  return new GraphQLError(`Rate limit exceeded: try again in ${retryAfterSec} s`, {
    extensions: {
      code: ErrorCode.FORBIDDEN,
      reason: 'RATE_LIMITED',
      retryAfter: retryAfterSec,
      // Apollo turns this into the response's status and headers, and strips it from the body.
      http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSec)]]) },
    },
  });
}

/** The request context as far as the limiter cares. */
interface WithPrincipal {
  principal: Principal | null;
}

/** One HTTP request's GraphQL operations, charged together. */
interface Charge {
  req: IncomingMessage | undefined;
  /** Operations of the request seen so far (a batch has several). */
  cost: number;
  decision?: Promise<GraphQLError | null>;
}

/**
 * Where a GraphQL request's context carries its charge. A property, not a
 * WeakMap keyed by the context: Apollo gives each operation a shallow copy
 * of the context, and Object.assign copies symbol-keyed properties, so every
 * operation of a batch sees the same Charge.
 */
const CHARGE = Symbol('rateLimitCharge');
type Charged = { [CHARGE]?: Charge };

/**
 * The gateway's rate limits: one limiter for identities, one for anonymous
 * addresses, each off when its setting is 0. Used at three places in
 * serve.ts: HTTP routes, GraphQL operations (an Apollo plugin) and
 * graphql-ws subscribes.
 */
export class RateLimits {
  constructor(
    private readonly identity: RateLimiter | null,
    private readonly anonymous: RateLimiter | null,
    private readonly trustProxy: boolean,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  /**
   * From the settings: in memory, or in Redis when `redisUrl` is set (every
   * replica then shares one budget per key). Null when both limits are off.
   */
  static create(
    settings: RateLimitSettings,
    opts: { trustProxy: boolean; redisUrl?: string },
  ): RateLimits | null {
    if (!settings.perMinute && !settings.anonymousPerMinute) return null;
    const windowMs = RATE_LIMIT_WINDOW_MS;
    if (opts.redisUrl) {
      const redis = new (redisClient())(opts.redisUrl, {
        commandTimeout: REDIS_RATE_LIMIT_TIMEOUT_MS,
        maxRetriesPerRequest: 1,
        // Connects on the first operation: a gateway that fails to start leaves no connection behind.
        lazyConnect: true,
      });
      // Connection errors surface as failed takes (logged there); without a listener ioredis prints them itself.
      redis.on('error', () => {});
      const prefix = REDIS_RATE_LIMIT_PREFIX;
      const make = (limit: number, kind: string) =>
        limit ? new RedisRateLimiter(redis, { limit, windowMs, prefix: `${prefix}${kind}:` }) : null;
      return new RateLimits(
        make(settings.perMinute, 'id'),
        make(settings.anonymousPerMinute, 'ip'),
        opts.trustProxy,
        async () => {
          // QUIT needs a live connection; otherwise stop reconnecting at once.
          if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
          else redis.disconnect();
        },
      );
    }
    const make = (limit: number) => (limit ? new MemoryRateLimiter({ limit, windowMs }) : null);
    return new RateLimits(make(settings.perMinute), make(settings.anonymousPerMinute), opts.trustProxy);
  }

  /** Charges one caller `cost` operations; the error to answer with when refused. */
  async charge(
    principal: Principal | null,
    req: IncomingMessage | undefined,
    cost = 1,
  ): Promise<GraphQLError | null> {
    const limiter = principal ? this.identity : this.anonymous;
    if (!limiter) return null;
    const key = principal ? principal.sub : req ? clientAddress(req, this.trustProxy) : 'unknown';
    const decision = await limiter.take(key, cost);
    return decision.allowed ? null : rateLimitedError(decision.retryAfterSec);
  }

  /**
   * Charges one operation to an HTTP request's caller (a bad token is charged
   * to the address); the refusal to answer with, or null when allowed. For
   * /graphql the GraphQL layer answers it in the negotiated media type.
   */
  async refusal(req: IncomingMessage, auth: () => Promise<Principal | null>): Promise<GraphQLRefusal | null> {
    const principal = await auth().catch(() => null);
    const refused = await this.charge(principal, req);
    if (!refused) return null;
    const retryAfter = refused.extensions.retryAfter as number;
    return {
      status: 429,
      message: refused.message,
      extensions: { code: ErrorCode.FORBIDDEN, reason: 'RATE_LIMITED', retryAfter },
      headers: { 'retry-after': String(retryAfter) },
    };
  }

  /**
   * For HTTP routes other than /graphql (document downloads, reports): one
   * operation. Answers 429 itself and returns true when refused. A bad
   * token is charged to the address; the route then answers 401.
   */
  async refuseHttp(
    req: IncomingMessage,
    res: ServerResponse,
    auth: () => Promise<Principal | null>,
  ): Promise<boolean> {
    const refused = await this.refusal(req, auth);
    if (!refused) return false;
    sendJson(
      res,
      refused.status,
      { errors: [{ message: refused.message, extensions: refused.extensions }] },
      refused.headers,
    );
    return true;
  }

  /** Ties a GraphQL request's context to its HTTP request, so the plugin knows the client address. */
  bind<C extends object>(context: C, req: IncomingMessage): C {
    (context as Charged)[CHARGE] = { req, cost: 0 };
    return context;
  }

  /**
   * Charges a request's GraphQL operations before any of them runs: all of
   * a batch or none of it, so a client never gets a 429 for a batch part of
   * which went through. Apollo starts every operation of a batch (calling
   * requestDidStart) synchronously, one after the other, within one turn;
   * each adds itself to the request's charge, and the charge is taken once,
   * in the microtask after that turn. The batch test in
   * test/integration/rate-limit.test.ts holds Apollo to this.
   * Operations are counted valid or not; a refused one gets 429 with
   * Retry-After at the first hook where Apollo answers a thrown error.
   */
  plugin<C extends WithPrincipal>(): ApolloServerPlugin<C> {
    return {
      requestDidStart: async ({ contextValue }) => {
        const mine = ((contextValue as Charged)[CHARGE] ??= { req: undefined, cost: 0 });
        mine.cost++;
        mine.decision ??= Promise.resolve().then(() =>
          this.charge(contextValue.principal, mine.req, mine.cost),
        );
        const refused = await mine.decision;
        if (!refused) return;
        return {
          didResolveOperation: async () => {
            throw refused;
          },
        };
      },
    };
  }

  /** A graphql-ws `subscribe`: one operation; the errors to refuse that subscription with (the socket stays open). */
  async subscription(principal: Principal | null, req: IncomingMessage): Promise<GraphQLError[] | undefined> {
    const refused = await this.charge(principal, req);
    return refused ? [refused] : undefined;
  }

  async close(): Promise<void> {
    await Promise.all([this.identity?.close(), this.anonymous?.close()]);
    await this.onClose();
  }
}

/** The gateway's browser-origin policy and rate limits, from the settings (serve.ts's `guard`). */
export function guardFor(config: Config): { cors: CorsPolicy; rateLimits: RateLimits | null } {
  return {
    cors: corsPolicy(config.security.corsOrigins),
    rateLimits: RateLimits.create(config.security.rateLimit, {
      trustProxy: config.security.trustProxy,
      redisUrl: config.redisUrl,
    }),
  };
}
