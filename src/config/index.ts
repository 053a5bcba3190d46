import path from 'node:path';
import { z } from 'zod';

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
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** `inprocess` runs the subgraphs inside the gateway; `remote` calls SUBGRAPH_URLS. */
  GATEWAY_MODE: z.enum(['inprocess', 'remote']).default('inprocess'),
  /** `workflow=http://host:4001/graphql,customers=...` */
  SUBGRAPH_URLS: z.string().optional(),
  /** Seed demo data on first start of an empty store. */
  SEED_DEMO: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Milliseconds between delivery status steps of the embedded delivery engine. */
  DELIVERY_STEP_MS: z.coerce.number().int().min(0).max(60_000).default(50),
  /** Milliseconds the gateway waits for in-flight work on SIGTERM. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  /**
   * Approval stages of ad hoc correspondence, per document type, as JSON:
   * one stage or the full three. Only these document types can be asked for.
   */
  CORRESPONDENCE_STAGES: z
    .string()
    .default(
      '{"claim_letter":["APPROVAL"],"account_confirmation":["APPROVAL"],"regulatory_notice":["REVIEW","APPROVAL","COMPLIANCE"]}',
    ),
  AUTH_ISSUER: z.string().default('commsgraph-dev'),
  AUTH_AUDIENCE: z.string().default('commsgraph'),
  AUTH_ROLES_CLAIM: z.string().default('roles'),
});

const DEFAULT_ROUTING = JSON.stringify([
  { kind: 'MISSING_DATA', team: 'data-quality', dueHours: 8 },
  { kind: 'TEMPLATE_ERROR', team: 'template-authors', dueHours: 24 },
  { kind: 'DELIVERY_FAILURE', team: 'operations-{channel}', dueHours: 4 },
]);

const DEFAULT_CORRESPONDENCE =
  '{"claim_letter":["APPROVAL"],"account_confirmation":["APPROVAL"],"regulatory_notice":["REVIEW","APPROVAL","COMPLIANCE"]}';

export type SubgraphName = 'workflow' | 'customers' | 'communications';
export const SUBGRAPH_NAMES: readonly SubgraphName[] = ['workflow', 'customers', 'communications'];

export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  dbPoolMax: number;
  gatewayMode: 'inprocess' | 'remote';
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  seedDemo: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  deliveryStepMs: number;
  shutdownGraceMs: number;
  auth: { issuer: string; audience: string; rolesClaim: string };
  /** Document type → approval stages (in order) for CORRESPONDENCE cases. */
  correspondenceStages: Record<string, ApprovalStageName[]>;
  /** First match wins; a kind no rule matches goes to `operations`, due in 24 hours. */
  exceptionRouting: ExceptionRoute[];
}

export interface ExceptionRoute {
  kind: 'MISSING_DATA' | 'TEMPLATE_ERROR' | 'DELIVERY_FAILURE';
  channel?: 'PRINT' | 'EMAIL' | 'WEB' | 'MOBILE';
  team: string;
  dueHours: number;
}

const ExceptionRouting = z.array(
  z.object({
    kind: z.enum(['MISSING_DATA', 'TEMPLATE_ERROR', 'DELIVERY_FAILURE']),
    channel: z.enum(['PRINT', 'EMAIL', 'WEB', 'MOBILE']).optional(),
    team: z.string().min(1).max(100),
    dueHours: z
      .number()
      .positive()
      .max(24 * 90),
  }),
);

function parseJsonSetting<T>(
  name: string,
  raw: string,
  schema: z.ZodType<T>,
  problems: string[],
  fallback: T,
): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    problems.push(`${name}: not JSON`);
    return fallback;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`${name}.${issue.path.join('.')}: ${issue.message}`);
    return fallback;
  }
  return parsed.data;
}

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
  if (env.GATEWAY_MODE === 'remote') {
    for (const name of SUBGRAPH_NAMES) {
      if (!subgraphUrls[name]) problems.push(`SUBGRAPH_URLS: remote mode needs a URL for ${name}`);
    }
  }
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    dbPoolMax: e.DB_POOL_MAX,
    gatewayMode: e.GATEWAY_MODE,
    subgraphUrls,
    seedDemo: e.SEED_DEMO,
    logLevel: e.LOG_LEVEL,
    deliveryStepMs: e.DELIVERY_STEP_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    auth: { issuer: e.AUTH_ISSUER, audience: e.AUTH_AUDIENCE, rolesClaim: e.AUTH_ROLES_CLAIM },
    correspondenceStages,
    exceptionRouting,
  };
}
