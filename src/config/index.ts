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
  /** With it, events travel through Redis, so every replica's subscribers see every change. */
  REDIS_URL: z.string().url().optional(),
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
  /** Batch generation workers in this process (gateway or communications service); `false` leaves them to `npm run worker`. */
  RUN_WORKERS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Days the events tables keep events: how long a subscriber can be away and still resume with `after`. */
  EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Batch records generated at once per process. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  // JSON settings, parsed (with every problem reported) in loadConfig:
  /** Approval stages of ad hoc correspondence, per document type: one stage or the full three. */
  CORRESPONDENCE_STAGES: z.string().optional(),
  /** Routing of generation exception cases: the first rule matching kind (and channel) sets team and due hours. */
  EXCEPTION_ROUTING: z.string().optional(),
  /** Which communication a SERVICE case milestone sends, by milestone, customer segment and case status. */
  MILESTONE_COMMUNICATIONS: z.string().optional(),
  /** Dispute response policy: {acknowledgeWithinBusinessDays, finalResponseWithinBusinessDays, warnBusinessDaysBefore}. */
  DISPUTE_POLICY: z.string().optional(),
  /** How often dispute deadlines are checked for alerts, in milliseconds. */
  DEADLINE_CHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  AUTH_ISSUER: z.string().default('commsgraph-dev'),
  AUTH_AUDIENCE: z.string().default('commsgraph'),
  AUTH_ROLES_CLAIM: z.string().default('roles'),
});

const DEFAULT_ROUTING = JSON.stringify([
  { kind: 'MISSING_DATA', team: 'data-quality', dueHours: 8 },
  { kind: 'TEMPLATE_ERROR', team: 'template-authors', dueHours: 24 },
  { kind: 'DELIVERY_FAILURE', team: 'operations-{channel}', dueHours: 4 },
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

export type SubgraphName = 'workflow' | 'customers' | 'communications';
export const SUBGRAPH_NAMES: readonly SubgraphName[] = ['workflow', 'customers', 'communications'];

export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
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
  /** First match wins; a milestone no rule matches sends nothing. */
  milestoneCommunications: MilestoneRule[];
  disputePolicy: {
    acknowledgeWithinBusinessDays: number;
    finalResponseWithinBusinessDays: number;
    warnBusinessDaysBefore: number;
  };
  deadlineCheckMs: number;
  runWorkers: boolean;
  workerConcurrency: number;
  eventsRetentionDays: number;
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
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
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
    milestoneCommunications,
    disputePolicy,
    deadlineCheckMs: e.DEADLINE_CHECK_MS,
    runWorkers: e.RUN_WORKERS,
    workerConcurrency: e.WORKER_CONCURRENCY,
    eventsRetentionDays: e.EVENTS_RETENTION_DAYS,
  };
}
