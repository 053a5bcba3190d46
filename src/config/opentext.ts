/**
 * Connected-mode settings (docs/opentext.md, "Settings"): which backend generates documents and
 * runs cases, and how to reach OpenText OTDS, Exstream and Workflow Service.
 *
 * Validated once with the rest of the environment. A connected setting that is missing or
 * malformed stops the start with every problem listed; the settings of a backend that is not
 * selected are not required, but are still checked when set (a typo in a value the operator
 * meant to use is reported, not ignored). The OTDS client secret is a `Secret`: it never prints.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseJsonSetting } from './json.js';
import { Secret } from './secret.js';

export const CHANNELS = ['PRINT', 'EMAIL', 'WEB', 'MOBILE'] as const;
export type Channel = (typeof CHANNELS)[number];

/** The case kinds of the product contract (core.graphql `CaseKind`). */
export const CASE_KINDS = [
  'REGULATED_DOCUMENT',
  'GENERATION_EXCEPTION',
  'CORRESPONDENCE',
  'DISPUTE',
  'MANDATORY_NOTICE',
  'REISSUE',
  'SERVICE',
] as const;
export type CaseKind = (typeof CASE_KINDS)[number];

export const STAGES = ['REVIEW', 'APPROVAL', 'COMPLIANCE'] as const;
export type Stage = (typeof STAGES)[number];

/** User tasks other than the approval stages (contract, "Tasks"). */
export const OTHER_TASK_KEYS = ['authorise_reissue', 'final_response', 'work_exception'] as const;
export type OtherTaskKey = (typeof OTHER_TASK_KEYS)[number];

export interface OtdsConfig {
  tokenUrl: string;
  /** `tenant-json`: the OCP tenant endpoint (`/tenants/` in the path), JSON body; `otds-form`: OTDS, form body. */
  tokenForm: 'tenant-json' | 'otds-form';
  clientId: string;
  clientSecret: Secret;
  scope: string | undefined;
}

export interface ExstreamConfig {
  /** Base URL without a trailing slash; `/design/api/v1/...` and `/orchestration/api/v1/...` are appended. */
  url: string;
  domain: string;
  /** Manifest queue driver → the channels its output serves. */
  queueChannels: Record<string, Channel[]>;
  dataSchemasDir: string | undefined;
  /** Communication id → JSON Schema of the driver document's `data`, read from `dataSchemasDir` at start. */
  dataSchemas: Record<string, Record<string, unknown>>;
  pollMs: number;
  lookbackHours: number;
  /** How often the template catalogue is read again from Exstream Design (EXSTREAM_CATALOGUE_REFRESH_MS). */
  catalogueRefreshMs: number;
}

export interface WorkflowServiceConfig {
  serviceUrl: string;
  historyUrl: string;
  processKeys: Record<CaseKind, string>;
  stageGroups: Record<Stage, string>;
  taskGroups: Record<OtherTaskKey, string>;
  /** OpenText user id → token subject; null when ids are the same on both sides. */
  identityMap: Record<string, string> | null;
  pollMs: number;
}

/** The resilience policy of every OpenText HTTP client (src/upstreams/opentext/http.ts). */
export interface ResilienceConfig {
  /** One attempt of one call; a slower answer counts as an outage. */
  timeoutMs: number;
  /** Attempts of a call that may be repeated (the first included). */
  maxAttempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Consecutive outage failures that open an upstream's circuit. */
  breakerThreshold: number;
  /** How long an open circuit refuses calls before one trial call is let through (half-open). */
  breakerHalfOpenMs: number;
}

export interface OpenTextConfig {
  generationBackend: 'embedded' | 'exstream';
  workflowBackend: 'embedded' | 'otws';
  /** Set when either connector is on. */
  otds: OtdsConfig | null;
  exstream: ExstreamConfig | null;
  workflow: WorkflowServiceConfig | null;
  resilience: ResilienceConfig;
}

const DEFAULT_QUEUE_CHANNELS = '{"PDF":["PRINT","WEB"],"HTML":["EMAIL","WEB"],"SMS":["MOBILE"]}';
const DEFAULT_STAGE_GROUPS: Record<Stage, string> = {
  REVIEW: 'commsgraph-reviewers',
  APPROVAL: 'commsgraph-approvers',
  COMPLIANCE: 'commsgraph-compliance',
};
const DEFAULT_TASK_GROUPS: Record<OtherTaskKey, string> = {
  authorise_reissue: 'commsgraph-service-agents',
  final_response: 'commsgraph-approvers',
  work_exception: 'commsgraph-operations',
};

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const Env = z.object({
  GENERATION_BACKEND: z.enum(['embedded', 'exstream']).default('embedded'),
  WORKFLOW_BACKEND: z.enum(['embedded', 'otws']).default('embedded'),
  OTDS_TOKEN_URL: z.string().optional(),
  OTDS_CLIENT_ID: z.string().min(1).optional(),
  OTDS_CLIENT_SECRET: z.string().min(1).optional(),
  OTDS_SCOPE: z.string().min(1).optional(),
  EXSTREAM_URL: z.string().optional(),
  EXSTREAM_DOMAIN: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be an Exstream domain id (letters, digits, . _ -)')
    .optional(),
  EXSTREAM_DATA_SCHEMAS: z.string().min(1).optional(),
  EXSTREAM_POLL_MS: int(100, 3_600_000, 5000),
  EXSTREAM_LOOKBACK_HOURS: int(1, 24 * 90, 24),
  // Not in the contract's table: how fresh the mirrored template catalogue is (docs/opentext.md).
  EXSTREAM_CATALOGUE_REFRESH_MS: int(50, 86_400_000, 60_000),
  WORKFLOW_SERVICE_URL: z.string().optional(),
  WORKFLOW_HISTORY_URL: z.string().optional(),
  WORKFLOW_POLL_MS: int(100, 3_600_000, 5000),
  // Not in the contract's table: tuning of the resilience policy, with defaults that suit a
  // cloud tenant (docs/opentext.md, "Settings").
  OPENTEXT_TIMEOUT_MS: int(100, 600_000, 30_000),
  OPENTEXT_MAX_ATTEMPTS: int(1, 10, 3),
  OPENTEXT_BACKOFF_MS: int(1, 60_000, 200),
  OPENTEXT_BACKOFF_MAX_MS: int(1, 300_000, 10_000),
  OPENTEXT_BREAKER_THRESHOLD: int(1, 1000, 5),
  OPENTEXT_BREAKER_HALF_OPEN_MS: int(10, 600_000, 30_000),
});

/** Flowable process definition keys: an XML NCName. */
const ProcessKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,254}$/, 'must be a process definition key');
const Group = z.string().min(1).max(255);

const QueueChannels = z
  .record(z.string().min(1), z.array(z.enum(CHANNELS)).min(1))
  .refine((m) => Object.keys(m).length > 0, { message: 'needs at least one queue driver' });
const ProcessKeys = z.partialRecord(z.enum(CASE_KINDS), ProcessKey);
const StageGroups = z.partialRecord(z.enum(STAGES), Group);
const TaskGroups = z.partialRecord(z.enum(OTHER_TASK_KEYS), Group);
const IdentityMap = z.record(z.string().min(1), z.string().min(1));

/** Checks an absolute http(s) URL; returns it without a trailing slash, or null after noting why. */
function baseUrl(
  name: string,
  raw: string | undefined,
  required: boolean,
  problems: string[],
): string | null {
  if (raw === undefined || raw === '') {
    if (required) problems.push(`${name}: required`);
    return null;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`${name}: not a URL`);
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`${name}: must be an http or https URL`);
    return null;
  }
  // Credentials in a URL end up in logs and error messages; they belong in OTDS_CLIENT_SECRET.
  if (url.username || url.password) {
    problems.push(`${name}: must not carry credentials`);
    return null;
  }
  if (url.search || url.hash) {
    problems.push(`${name}: must not carry a query or fragment`);
    return null;
  }
  return url.toString().replace(/\/+$/, '');
}

function readDataSchemas(dir: string, problems: string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    problems.push(`EXSTREAM_DATA_SCHEMAS: cannot read the directory ${dir}`);
    return out;
  }
  for (const file of files.sort()) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    } catch {
      problems.push(`EXSTREAM_DATA_SCHEMAS: ${file} is not JSON`);
      continue;
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      problems.push(`EXSTREAM_DATA_SCHEMAS: ${file} is not a JSON Schema object`);
      continue;
    }
    out[file.slice(0, -'.json'.length)] = json as Record<string, unknown>;
  }
  return out;
}

/** Reads the connected-mode settings, appending every problem to `problems`. */
export function loadOpenTextConfig(env: NodeJS.ProcessEnv, problems: string[]): OpenTextConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  // Parsing failed somewhere: go on with the raw strings so that every other problem is listed too.
  const e = parsed.success ? parsed.data : Env.parse({});
  const generation = env.GENERATION_BACKEND === 'exstream' ? 'exstream' : 'embedded';
  const workflow = env.WORKFLOW_BACKEND === 'otws' ? 'otws' : 'embedded';
  const connected = generation === 'exstream' || workflow === 'otws';

  const tokenUrl = baseUrl('OTDS_TOKEN_URL', env.OTDS_TOKEN_URL, connected, problems);
  if (connected) {
    if (!env.OTDS_CLIENT_ID) problems.push('OTDS_CLIENT_ID: required');
    if (!env.OTDS_CLIENT_SECRET) problems.push('OTDS_CLIENT_SECRET: required');
  }
  const otds: OtdsConfig | null =
    tokenUrl && env.OTDS_CLIENT_ID && env.OTDS_CLIENT_SECRET
      ? {
          tokenUrl,
          // The OCP tenant endpoint takes JSON, OTDS itself a form (api-reference §2).
          tokenForm: new URL(tokenUrl).pathname.includes('/tenants/') ? 'tenant-json' : 'otds-form',
          clientId: env.OTDS_CLIENT_ID,
          clientSecret: new Secret(env.OTDS_CLIENT_SECRET),
          scope: env.OTDS_SCOPE || undefined,
        }
      : null;

  const exstreamUrl = baseUrl('EXSTREAM_URL', env.EXSTREAM_URL, generation === 'exstream', problems);
  if (generation === 'exstream' && !env.EXSTREAM_DOMAIN) problems.push('EXSTREAM_DOMAIN: required');
  const queueChannels = parseJsonSetting(
    'EXSTREAM_QUEUE_CHANNELS',
    env.EXSTREAM_QUEUE_CHANNELS ?? DEFAULT_QUEUE_CHANNELS,
    QueueChannels,
    problems,
    {},
  );
  const dataSchemasDir = env.EXSTREAM_DATA_SCHEMAS ? path.resolve(env.EXSTREAM_DATA_SCHEMAS) : undefined;
  const dataSchemas = dataSchemasDir ? readDataSchemas(dataSchemasDir, problems) : {};

  const serviceUrl = baseUrl('WORKFLOW_SERVICE_URL', env.WORKFLOW_SERVICE_URL, workflow === 'otws', problems);
  const historyUrl = baseUrl('WORKFLOW_HISTORY_URL', env.WORKFLOW_HISTORY_URL, workflow === 'otws', problems);
  // The JSON maps are merged over the defaults: an operator names only what differs.
  const processKeys = {
    ...Object.fromEntries(CASE_KINDS.map((k) => [k, `commsgraph_${k.toLowerCase()}`])),
    ...(env.WORKFLOW_PROCESS_KEYS
      ? parseJsonSetting('WORKFLOW_PROCESS_KEYS', env.WORKFLOW_PROCESS_KEYS, ProcessKeys, problems, {})
      : {}),
  } as Record<CaseKind, string>;
  const stageGroups = {
    ...DEFAULT_STAGE_GROUPS,
    ...(env.WORKFLOW_STAGE_GROUPS
      ? parseJsonSetting('WORKFLOW_STAGE_GROUPS', env.WORKFLOW_STAGE_GROUPS, StageGroups, problems, {})
      : {}),
  };
  const taskGroups = {
    ...DEFAULT_TASK_GROUPS,
    ...(env.WORKFLOW_TASK_GROUPS
      ? parseJsonSetting('WORKFLOW_TASK_GROUPS', env.WORKFLOW_TASK_GROUPS, TaskGroups, problems, {})
      : {}),
  };
  const identityMap = env.WORKFLOW_IDENTITY_MAP
    ? parseJsonSetting('WORKFLOW_IDENTITY_MAP', env.WORKFLOW_IDENTITY_MAP, IdentityMap, problems, {})
    : null;

  if (e.OPENTEXT_BACKOFF_MAX_MS < e.OPENTEXT_BACKOFF_MS) {
    problems.push('OPENTEXT_BACKOFF_MAX_MS: must not be below OPENTEXT_BACKOFF_MS');
  }

  return {
    generationBackend: generation,
    workflowBackend: workflow,
    otds: connected ? otds : null,
    exstream:
      generation === 'exstream' && exstreamUrl && env.EXSTREAM_DOMAIN
        ? {
            url: exstreamUrl,
            domain: env.EXSTREAM_DOMAIN,
            queueChannels,
            dataSchemasDir,
            dataSchemas,
            pollMs: e.EXSTREAM_POLL_MS,
            lookbackHours: e.EXSTREAM_LOOKBACK_HOURS,
            catalogueRefreshMs: e.EXSTREAM_CATALOGUE_REFRESH_MS,
          }
        : null,
    workflow:
      workflow === 'otws' && serviceUrl && historyUrl
        ? {
            serviceUrl,
            historyUrl,
            processKeys,
            stageGroups,
            taskGroups,
            identityMap,
            pollMs: e.WORKFLOW_POLL_MS,
          }
        : null,
    resilience: {
      timeoutMs: e.OPENTEXT_TIMEOUT_MS,
      maxAttempts: e.OPENTEXT_MAX_ATTEMPTS,
      backoffInitialMs: e.OPENTEXT_BACKOFF_MS,
      backoffMaxMs: e.OPENTEXT_BACKOFF_MAX_MS,
      breakerThreshold: e.OPENTEXT_BREAKER_THRESHOLD,
      breakerHalfOpenMs: e.OPENTEXT_BREAKER_HALF_OPEN_MS,
    },
  };
}
