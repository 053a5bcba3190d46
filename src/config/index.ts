import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseJsonSetting } from './json.js';
import { loadOpenTextConfig, type OpenTextConfig } from './opentext.js';

/**
 * The environment, validated once at start. Every problem is reported at
 * once (not the first one only) so an operator fixes a bad deployment in one
 * round trip.
 */
const Env = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z.string().url().optional(),
  /** With it, events travel through Redis, so every replica's subscribers see every change. */
  REDIS_URL: z.string().url().optional(),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /**
   * Milliseconds between the embedded store's VACUUM/ANALYZE passes (src/store/upkeep.ts: PGlite has
   * no autovacuum); 0 turns them off. Ignored with DATABASE_URL, whose server runs its own.
   */
  STORE_UPKEEP_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /** `inprocess` runs the subgraphs inside the gateway; `remote` calls SUBGRAPH_URLS. */
  GATEWAY_MODE: z.enum(['inprocess', 'remote']).default('inprocess'),
  /**
   * Run the gateway's queries and mutations on graphql-jit (compiled once per document) rather than
   * graphql-js; subscriptions stay on graphql-js. `false` is the way back should a document behave
   * differently (src/gateway/jit.ts).
   */
  GATEWAY_JIT: z.enum(['true', 'false']).default('true'),
  /** `workflow=http://host:4001/graphql,customers=...` */
  SUBGRAPH_URLS: z.string().optional(),
  /**
   * Seed demo customers, templates and cases (finishing an interrupted seeding on the next start).
   * Unset: on, except with NODE_ENV=production, where a store must never get demo data by default.
   */
  SEED_DEMO: z.enum(['true', 'false']).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Human-readable logs (pino-pretty) instead of JSON lines; development only (read by src/logger.ts). */
  LOG_PRETTY: z.enum(['true', 'false']).optional(),
  /** Serve GET /metrics on this port only, unauthenticated (then not on the main port); unset, on the main port for operations and admin. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** The interface METRICS_PORT listens on; defaults to HOST. */
  METRICS_HOST: z.string().optional(),
  /** Distinct operation names the metrics label; further names are counted as `__other__`. */
  METRICS_MAX_OPERATIONS: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Milliseconds between delivery status steps of the embedded delivery engine. */
  DELIVERY_STEP_MS: z.coerce.number().int().min(0).max(60_000).default(50),
  /** Milliseconds the gateway waits for in-flight work on SIGTERM. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  /** A client must send a request's headers within this (slow-header attacks). */
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(20_000),
  /** A client must send a whole request (headers and body) within this (slow-body attacks). */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(60_000),
  /** An idle keep-alive connection is closed after this; behind a load balancer, set it above the balancer's idle timeout. */
  HTTP_KEEP_ALIVE_MS: z.coerce.number().int().min(1_000).max(600_000).default(5_000),
  /** A connection on which nothing moves for this long (no bytes either way) is closed. */
  HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(120_000),
  /** WebSocket ping interval; a peer that has not answered the previous ping is disconnected. */
  WS_PING_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /**
   * Bytes a WebSocket may have waiting to be sent before the server closes it with 1013 (try again
   * later): a subscriber reading slower than its shared stream sends; it reconnects and resumes `after`.
   */
  WS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(65_536).max(1_073_741_824).default(8_388_608),
  /** Batch generation workers in this process (gateway or communications service); `false` leaves them to `npm run worker`. */
  RUN_WORKERS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Days the events tables keep events: how long a subscriber can be away and still resume with `after`. */
  EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Seconds a claimed batch record may run before it is retried elsewhere (its worker is taken for dead); a retry is harmless (idempotency keys), only wasted work. */
  JOB_EXPIRE_SECONDS: z.coerce.number().int().min(10).max(86_400).default(300),
  /** `npm run worker` only: serve GET /healthz and /readyz on this port (for container probes); unset, no HTTP. */
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Batch records generated at once per process. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Worker threads rendering documents off the event loop (default: 2, or 1 on one core); 0 renders on the event-loop thread. */
  RENDER_WORKERS: z.coerce.number().int().min(0).max(32).optional(),
  // JSON settings, parsed (with every problem reported) in loadConfig:
  /** Approval stages of ad hoc correspondence, per document type: one stage or the full three. */
  CORRESPONDENCE_STAGES: z.string().optional(),
  /** Routing of generation exception cases: the first rule matching kind (and channel) sets team and due hours. */
  EXCEPTION_ROUTING: z.string().optional(),
  /** Which communication a SERVICE case milestone sends, by milestone, customer segment and case status. */
  MILESTONE_COMMUNICATIONS: z.string().optional(),
  /** Dispute response policy: {acknowledgeWithinBusinessDays, finalResponseWithinBusinessDays, warnBusinessDaysBefore}. */
  DISPUTE_POLICY: z.string().optional(),
  /**
   * How long a mutation waits for the work it started (a reissue, a milestone's or a dispute
   * letter's document, an exception's case) before answering with what is there; 0 does not wait.
   */
  FOLLOW_UP_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** How often dispute deadlines are checked for alerts, in milliseconds. */
  DEADLINE_CHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  AUTH_ISSUER: z.string().default('commsgraph-dev'),
  AUTH_AUDIENCE: z.string().default('commsgraph'),
  AUTH_ROLES_CLAIM: z.string().default('roles'),
  // --- Security (see the README's "Production security" section) ---
  /** `dev` verifies tokens made by `npm run token`; `jwks` verifies an identity provider's tokens. Production defaults to (and requires) `jwks`. */
  AUTH_MODE: z.enum(['dev', 'jwks']).optional(),
  /** The identity provider's JSON Web Key Set; required in `jwks` mode. */
  AUTH_JWKS_URL: z.string().url().optional(),
  /** Signature algorithms accepted from the identity provider. */
  AUTH_ALGORITHMS: z.string().default('RS256,PS256,ES256,EdDSA'),
  /** Seconds of clock difference tolerated on exp and nbf. */
  AUTH_CLOCK_SKEW_SEC: z.coerce.number().int().min(0).max(300).default(30),
  /** Seconds a fetched key set is trusted before it is fetched again (an unknown kid refetches sooner). */
  AUTH_JWKS_CACHE_SEC: z.coerce.number().int().min(1).max(86_400).default(600),
  /** OAuth client credentials with which processes call each other in `jwks` mode (token endpoint, client id, secret). */
  AUTH_TOKEN_URL: z.string().url().optional(),
  AUTH_CLIENT_ID: z.string().optional(),
  AUTH_CLIENT_SECRET: z.string().optional(),
  /** Token subjects of our own processes in `jwks` mode (comma-separated); defaults to AUTH_CLIENT_ID, as most providers issue `sub` = client id for client credentials. */
  AUTH_INTERNAL_SUBJECTS: z.string().optional(),
  /** What each `service` client (by token subject) may receive on subscriptions; JSON, see ServiceScope. */
  SERVICE_SCOPES: z.string().optional(),
  /** Browser origins allowed to call the API (comma-separated); none means same-origin only. */
  CORS_ORIGINS: z.string().optional(),
  /** The API explorer at GET /graphql for browsers: GraphiQL served from this origin, Apollo Sandbox (from Apollo's CDN), or none. */
  EXPLORER: z.enum(['graphiql', 'sandbox', 'off']).default('graphiql'),
  /** Introspection and "did you mean" suggestions; off in production unless set to true. */
  INTROSPECTION: z.enum(['true', 'false']).optional(),
  FIELD_SUGGESTIONS: z.enum(['true', 'false']).optional(),
  /** A trusted documents manifest (GraphQL Code Generator client preset's persisted-documents.json): when set, only its operations run. */
  TRUSTED_DOCUMENTS: z.string().optional(),
  /** Take the client address from X-Forwarded-For (behind a load balancer you trust). */
  TRUST_PROXY: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  LIMIT_MAX_DEPTH: z.coerce.number().int().min(1).max(100).default(12),
  LIMIT_MAX_ALIASES: z.coerce.number().int().min(0).max(1000).default(30),
  LIMIT_MAX_ROOT_FIELDS: z.coerce.number().int().min(1).max(100).default(10),
  LIMIT_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(1000).default(20),
  LIMIT_MAX_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(5_000),
  LIMIT_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** Demand control: the most an operation may cost, counting list sizes (`first`). */
  LIMIT_MAX_COST: z.coerce.number().int().min(1).max(10_000_000).default(20_000),
  /** Operations in one batched HTTP request (a JSON array body); 1 turns batching off. */
  LIMIT_MAX_BATCH: z.coerce.number().int().min(1).max(100).default(10),
  /** Operations per minute per identity (and per client address without a token); 0 turns limiting off. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(600),
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(60),
});

const DEFAULT_ROUTING = JSON.stringify([
  { kind: 'MISSING_DATA', team: 'data-quality', dueHours: 8 },
  { kind: 'TEMPLATE_ERROR', team: 'template-authors', dueHours: 24 },
  { kind: 'DELIVERY_FAILURE', team: 'operations-{channel}', dueHours: 4 },
  { kind: 'UPSTREAM_UNAVAILABLE', team: 'operations', dueHours: 4 },
]);

const DEFAULT_MILESTONES = JSON.stringify([
  { milestone: 'CLAIM_INTAKE', segment: 'premium', templateId: 'tpl_claim_intake_premium' },
  { milestone: 'CLAIM_INTAKE', templateId: 'tpl_claim_intake' },
  { milestone: 'UNDERWRITING_REVIEW', templateId: 'tpl_underwriting_review' },
  { milestone: 'SERVICE_ESCALATION', templateId: 'tpl_service_escalation' },
  { milestone: 'PAYMENT_CONFIRMATION', templateId: 'tpl_payment_confirmation' },
]);

const DEFAULT_CORRESPONDENCE =
  '{"claim_letter":["APPROVAL"],"account_confirmation":["APPROVAL"],"regulatory_notice":["REVIEW","APPROVAL","COMPLIANCE"]}';

/** What a `service` client may receive on subscriptions; an absent list means no restriction on that dimension. */
export interface ServiceScope {
  /** Subscription fields it may open (caseUpdated, deliveryStatusChanged, ...). */
  subscriptions?: string[];
  /** Channels of the deliveries and documents it hears about. */
  channels?: Array<'PRINT' | 'EMAIL' | 'WEB' | 'MOBILE'>;
  /** Kinds of the cases (and case-linked events) it hears about. */
  caseKinds?: string[];
  /** Kinds of generation exceptions it hears about. */
  exceptionKinds?: Array<'MISSING_DATA' | 'TEMPLATE_ERROR' | 'DELIVERY_FAILURE' | 'UPSTREAM_UNAVAILABLE'>;
}

const ServiceScopes = z.record(
  z.string().min(1),
  z
    .object({
      subscriptions: z.array(z.string().min(1)).optional(),
      channels: z.array(z.enum(['PRINT', 'EMAIL', 'WEB', 'MOBILE'])).optional(),
      caseKinds: z.array(z.string().min(1)).optional(),
      exceptionKinds: z
        .array(z.enum(['MISSING_DATA', 'TEMPLATE_ERROR', 'DELIVERY_FAILURE', 'UPSTREAM_UNAVAILABLE']))
        .optional(),
    })
    .strict(),
);

export interface AuthConfig {
  mode: 'dev' | 'jwks';
  issuer: string;
  audience: string;
  rolesClaim: string;
  jwksUrl: string | undefined;
  algorithms: string[];
  clockSkewSec: number;
  jwksCacheSec: number;
  /** Token subjects that are our own processes (see src/policy INTERNAL). */
  internalSubjects: string[];
  /** Client credentials for calls between our own processes in `jwks` mode. */
  client: { tokenUrl: string; clientId: string; clientSecret: string } | undefined;
}

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxDirectives: number;
  maxTokens: number;
  maxBodyBytes: number;
  maxCost: number;
  maxBatch: number;
}

export interface SecurityConfig {
  corsOrigins: string[];
  introspection: boolean;
  fieldSuggestions: boolean;
  trustedDocuments: string | undefined;
  trustProxy: boolean;
  limits: OperationLimits;
  rateLimit: { perMinute: number; anonymousPerMinute: number };
  /** Keyed by the service's token subject. When unset (null), service clients are not narrowed; when set, an unlisted service receives nothing. */
  serviceScopes: Record<string, ServiceScope> | null;
}

export type SubgraphName = 'workflow' | 'customers' | 'communications';
export const SUBGRAPH_NAMES: readonly SubgraphName[] = ['workflow', 'customers', 'communications'];

export interface SocketTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveMs: number;
  idleTimeoutMs: number;
  wsPingMs: number;
  /** A WebSocket with more than this waiting to be sent is closed with 1013 (shared-subscriptions.ts). */
  wsMaxBufferedBytes: number;
}

export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  dbPoolMax: number;
  /** The embedded store's upkeep interval (STORE_UPKEEP_INTERVAL_MS); 0 = off. */
  storeUpkeepIntervalMs: number;
  gatewayMode: 'inprocess' | 'remote';
  /** Queries and mutations on graphql-jit (GATEWAY_JIT; src/gateway/jit.ts). */
  gatewayJit: boolean;
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  seedDemo: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** GET /metrics (src/telemetry/metrics.ts): on its own port when `port` is set, else on the main port. */
  metrics: { port: number | undefined; host: string; maxOperationNames: number };
  deliveryStepMs: number;
  shutdownGraceMs: number;
  /** Socket timeouts of the HTTP and WebSocket server (src/gateway/sockets.ts). */
  sockets: SocketTimeouts;
  auth: AuthConfig;
  security: SecurityConfig;
  /** What a browser gets at GET /graphql (see src/gateway/explorer). */
  explorer: 'graphiql' | 'sandbox' | 'off';
  /** Document type → approval stages (in order) for CORRESPONDENCE cases. */
  correspondenceStages: Record<string, ApprovalStageName[]>;
  /** First match wins; a kind no rule matches goes to `operations`, due in 24 hours. */
  exceptionRouting: ExceptionRoute[];
  /** First match wins; a milestone no rule matches sends nothing. */
  milestoneCommunications: MilestoneRule[];
  disputePolicy: {
    acknowledgeWithinBusinessDays: number;
    finalResponseWithinBusinessDays: number;
    warnBusinessDaysBefore: number;
  };
  deadlineCheckMs: number;
  /** Milliseconds a mutation waits for the work it started (src/datasources/follow-up.ts). */
  followUpWaitMs: number;
  runWorkers: boolean;
  workerConcurrency: number;
  /** Render worker threads per process (src/datasources/communications/engine/pool.ts); 0: in-thread. */
  renderWorkers: number;
  jobExpireSeconds: number;
  workerHealthPort: number | undefined;
  eventsRetentionDays: number;
  /** Connected mode: OpenText Exstream, Workflow Service and OTDS (src/config/opentext.ts). */
  opentext: OpenTextConfig;
}

const DisputePolicy = z
  .object({
    acknowledgeWithinBusinessDays: z.number().int().min(0).max(60),
    finalResponseWithinBusinessDays: z.number().int().min(1).max(260),
    warnBusinessDaysBefore: z.number().int().min(0).max(30),
  })
  .refine((p) => p.acknowledgeWithinBusinessDays <= p.finalResponseWithinBusinessDays, {
    message: 'the acknowledgement cannot be due after the final response',
  });
const DEFAULT_DISPUTE_POLICY =
  '{"acknowledgeWithinBusinessDays":5,"finalResponseWithinBusinessDays":40,"warnBusinessDaysBefore":2}';

export const MILESTONES = [
  'CLAIM_INTAKE',
  'UNDERWRITING_REVIEW',
  'SERVICE_ESCALATION',
  'PAYMENT_CONFIRMATION',
] as const;
export type Milestone = (typeof MILESTONES)[number];

export interface MilestoneRule {
  milestone: Milestone;
  segment?: string;
  status?: string;
  templateId: string;
}

const MilestoneRules = z.array(
  z.object({
    milestone: z.enum(MILESTONES),
    segment: z.string().min(1).optional(),
    status: z.enum(['OPEN', 'IN_PROGRESS', 'RESOLVED']).optional(),
    templateId: z.string().min(1),
  }),
);

export interface ExceptionRoute {
  kind: 'MISSING_DATA' | 'TEMPLATE_ERROR' | 'DELIVERY_FAILURE' | 'UPSTREAM_UNAVAILABLE';
  channel?: 'PRINT' | 'EMAIL' | 'WEB' | 'MOBILE';
  team: string;
  dueHours: number;
}

const ExceptionRouting = z.array(
  z.object({
    kind: z.enum(['MISSING_DATA', 'TEMPLATE_ERROR', 'DELIVERY_FAILURE', 'UPSTREAM_UNAVAILABLE']),
    channel: z.enum(['PRINT', 'EMAIL', 'WEB', 'MOBILE']).optional(),
    team: z.string().min(1).max(100),
    dueHours: z
      .number()
      .positive()
      .max(24 * 90),
  }),
);

export type ApprovalStageName = 'REVIEW' | 'APPROVAL' | 'COMPLIANCE';
const STAGE_ORDER: ApprovalStageName[] = ['REVIEW', 'APPROVAL', 'COMPLIANCE'];

const CorrespondenceStages = z.record(
  z.string().regex(/^[a-z][a-z0-9_]{1,60}$/),
  z
    .array(z.enum(['REVIEW', 'APPROVAL', 'COMPLIANCE']))
    .min(1)
    .refine(
      (stages) =>
        stages.every((s, i) => i === 0 || STAGE_ORDER.indexOf(s) > STAGE_ORDER.indexOf(stages[i - 1]!)),
      {
        message: 'stages must be distinct and in the order REVIEW, APPROVAL, COMPLIANCE',
      },
    ),
);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function parseSubgraphUrls(raw: string | undefined, problems: string[]): Config['subgraphUrls'] {
  const out: Config['subgraphUrls'] = {};
  if (!raw) return out;
  for (const pair of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, url] = pair.split('=');
    if (!name || !url || !(SUBGRAPH_NAMES as readonly string[]).includes(name)) {
      problems.push(`SUBGRAPH_URLS: "${pair}" is not <workflow|customers|communications>=<url>`);
      continue;
    }
    try {
      new URL(url);
    } catch {
      problems.push(`SUBGRAPH_URLS: "${url}" is not a URL`);
      continue;
    }
    out[name as SubgraphName] = url;
  }
  return out;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  // The structured variables are checked even when others failed, so one run reports everything.
  const subgraphUrls = parseSubgraphUrls(env.SUBGRAPH_URLS, problems);
  const correspondenceStages = parseJsonSetting(
    'CORRESPONDENCE_STAGES',
    env.CORRESPONDENCE_STAGES ?? DEFAULT_CORRESPONDENCE,
    CorrespondenceStages,
    problems,
    {},
  );
  const exceptionRouting = parseJsonSetting(
    'EXCEPTION_ROUTING',
    env.EXCEPTION_ROUTING ?? DEFAULT_ROUTING,
    ExceptionRouting,
    problems,
    [],
  );
  const milestoneCommunications = parseJsonSetting(
    'MILESTONE_COMMUNICATIONS',
    env.MILESTONE_COMMUNICATIONS ?? DEFAULT_MILESTONES,
    MilestoneRules,
    problems,
    [],
  );
  const disputePolicy = parseJsonSetting(
    'DISPUTE_POLICY',
    env.DISPUTE_POLICY ?? DEFAULT_DISPUTE_POLICY,
    DisputePolicy,
    problems,
    {
      acknowledgeWithinBusinessDays: 5,
      finalResponseWithinBusinessDays: 40,
      warnBusinessDaysBefore: 2,
    },
  );
  if (env.GATEWAY_MODE === 'remote') {
    for (const name of SUBGRAPH_NAMES) {
      if (!subgraphUrls[name]) problems.push(`SUBGRAPH_URLS: remote mode needs a URL for ${name}`);
    }
  }
  const serviceScopes = env.SERVICE_SCOPES
    ? parseJsonSetting('SERVICE_SCOPES', env.SERVICE_SCOPES, ServiceScopes, problems, {})
    : null;
  const production = env.NODE_ENV === 'production';
  const authMode: AuthConfig['mode'] =
    env.AUTH_MODE === 'jwks' || env.AUTH_MODE === 'dev' ? env.AUTH_MODE : production ? 'jwks' : 'dev';
  if (production && authMode === 'dev') {
    problems.push('AUTH_MODE: the dev signing key is refused in production; use jwks');
  }
  if (authMode === 'jwks' && !env.AUTH_JWKS_URL) problems.push('AUTH_JWKS_URL: required in jwks mode');
  // The dev default issuer would accept any provider's tokens that happen to use it; name yours.
  if (authMode === 'jwks' && !env.AUTH_ISSUER) problems.push('AUTH_ISSUER: required in jwks mode');
  const clientVars = [env.AUTH_TOKEN_URL, env.AUTH_CLIENT_ID, env.AUTH_CLIENT_SECRET];
  if (clientVars.some(Boolean) && !clientVars.every(Boolean)) {
    problems.push('AUTH_TOKEN_URL, AUTH_CLIENT_ID, AUTH_CLIENT_SECRET: set all three or none');
  }
  const corsOrigins = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const isOrigin = (origin: string): boolean => {
    try {
      const u = new URL(origin);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === origin;
    } catch {
      return false;
    }
  };
  for (const origin of corsOrigins) {
    if (!isOrigin(origin))
      problems.push(`CORS_ORIGINS: "${origin}" is not an origin like https://app.example.com`);
  }
  const opentext = loadOpenTextConfig(env, problems);
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  const algorithms = e.AUTH_ALGORITHMS.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    dbPoolMax: e.DB_POOL_MAX,
    storeUpkeepIntervalMs: e.STORE_UPKEEP_INTERVAL_MS,
    gatewayMode: e.GATEWAY_MODE,
    gatewayJit: e.GATEWAY_JIT === 'true',
    subgraphUrls,
    seedDemo: e.SEED_DEMO ? e.SEED_DEMO === 'true' : e.NODE_ENV !== 'production',
    logLevel: e.LOG_LEVEL,
    metrics: {
      port: e.METRICS_PORT,
      host: e.METRICS_HOST ?? e.HOST,
      maxOperationNames: e.METRICS_MAX_OPERATIONS,
    },
    deliveryStepMs: e.DELIVERY_STEP_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    sockets: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveMs: e.HTTP_KEEP_ALIVE_MS,
      idleTimeoutMs: e.HTTP_IDLE_TIMEOUT_MS,
      wsPingMs: e.WS_PING_MS,
      wsMaxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
    },
    auth: {
      mode: authMode,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      rolesClaim: e.AUTH_ROLES_CLAIM,
      jwksUrl: e.AUTH_JWKS_URL,
      algorithms,
      clockSkewSec: e.AUTH_CLOCK_SKEW_SEC,
      jwksCacheSec: e.AUTH_JWKS_CACHE_SEC,
      internalSubjects: (e.AUTH_INTERNAL_SUBJECTS ?? e.AUTH_CLIENT_ID ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
      client:
        e.AUTH_TOKEN_URL && e.AUTH_CLIENT_ID && e.AUTH_CLIENT_SECRET
          ? { tokenUrl: e.AUTH_TOKEN_URL, clientId: e.AUTH_CLIENT_ID, clientSecret: e.AUTH_CLIENT_SECRET }
          : undefined,
    },
    security: {
      corsOrigins,
      introspection: e.INTROSPECTION ? e.INTROSPECTION === 'true' : e.NODE_ENV !== 'production',
      fieldSuggestions: e.FIELD_SUGGESTIONS ? e.FIELD_SUGGESTIONS === 'true' : e.NODE_ENV !== 'production',
      trustedDocuments: e.TRUSTED_DOCUMENTS ? path.resolve(e.TRUSTED_DOCUMENTS) : undefined,
      trustProxy: e.TRUST_PROXY,
      limits: {
        maxDepth: e.LIMIT_MAX_DEPTH,
        maxAliases: e.LIMIT_MAX_ALIASES,
        maxRootFields: e.LIMIT_MAX_ROOT_FIELDS,
        maxDirectives: e.LIMIT_MAX_DIRECTIVES,
        maxTokens: e.LIMIT_MAX_TOKENS,
        maxBodyBytes: e.LIMIT_MAX_BODY_BYTES,
        maxCost: e.LIMIT_MAX_COST,
        maxBatch: e.LIMIT_MAX_BATCH,
      },
      rateLimit: {
        perMinute: e.RATE_LIMIT_PER_MINUTE,
        anonymousPerMinute: e.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
      },
      serviceScopes,
    },
    explorer: e.EXPLORER,
    correspondenceStages,
    exceptionRouting,
    milestoneCommunications,
    disputePolicy,
    deadlineCheckMs: e.DEADLINE_CHECK_MS,
    followUpWaitMs: e.FOLLOW_UP_WAIT_MS,
    runWorkers: e.RUN_WORKERS,
    workerConcurrency: e.WORKER_CONCURRENCY,
    renderWorkers: e.RENDER_WORKERS ?? Math.min(2, os.availableParallelism()),
    jobExpireSeconds: e.JOB_EXPIRE_SECONDS,
    workerHealthPort: e.WORKER_HEALTH_PORT,
    eventsRetentionDays: e.EVENTS_RETENTION_DAYS,
    opentext,
  };
}
