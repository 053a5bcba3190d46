import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, loadConfig } from '../../../src/config/index.js';

/** Connected-mode settings: the contract's table (docs/opentext.md), validated once at start. */

const SECRET = 's3cr3t-value-that-must-not-print';

const exstreamEnv = {
  GENERATION_BACKEND: 'exstream',
  OTDS_TOKEN_URL: 'https://us.api.opentext.com/tenants/t-1/oauth2/token',
  OTDS_CLIENT_ID: 'commsgraph',
  OTDS_CLIENT_SECRET: SECRET,
  EXSTREAM_URL: 'https://communication.us.api.opentext.com/',
  EXSTREAM_DOMAIN: 'Testdomain',
};

const otwsEnv = {
  WORKFLOW_BACKEND: 'otws',
  OTDS_TOKEN_URL: exstreamEnv.OTDS_TOKEN_URL,
  OTDS_CLIENT_ID: 'commsgraph',
  OTDS_CLIENT_SECRET: SECRET,
  WORKFLOW_SERVICE_URL: 'https://us.api.opentext.com/workflow/v1',
  WORKFLOW_HISTORY_URL: 'https://us.api.opentext.com/workflow-history/v1',
};

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected the configuration to be refused');
}

test('by default both backends are embedded and nothing OpenText is needed', () => {
  const { opentext } = loadConfig({});
  expect(opentext).toMatchObject({
    generationBackend: 'embedded',
    workflowBackend: 'embedded',
    otds: null,
    exstream: null,
    workflow: null,
  });
});

test('exstream mode with its settings: defaults as the contract states them', () => {
  const { opentext } = loadConfig(exstreamEnv);
  expect(opentext.generationBackend).toBe('exstream');
  expect(opentext.otds).toMatchObject({
    tokenUrl: 'https://us.api.opentext.com/tenants/t-1/oauth2/token',
    tokenForm: 'tenant-json',
    clientId: 'commsgraph',
    scope: undefined,
  });
  expect(opentext.otds?.clientSecret.reveal()).toBe(SECRET);
  expect(opentext.exstream).toEqual({
    url: 'https://communication.us.api.opentext.com',
    domain: 'Testdomain',
    queueChannels: { PDF: ['PRINT', 'WEB'], HTML: ['EMAIL', 'WEB'], SMS: ['MOBILE'] },
    dataSchemasDir: undefined,
    dataSchemas: {},
    pollMs: 5000,
    lookbackHours: 24,
    catalogueRefreshMs: 60000,
  });
  expect(opentext.workflow).toBeNull();
});

test('a token URL without /tenants/ is the OTDS form', () => {
  const { opentext } = loadConfig({
    ...exstreamEnv,
    OTDS_TOKEN_URL: 'https://otds.example.com/otdsws/oauth2/token',
    OTDS_SCOPE: 'otds:groups',
  });
  expect(opentext.otds).toMatchObject({ tokenForm: 'otds-form', scope: 'otds:groups' });
});

test('otws mode: Workflow Service defaults for every case kind, stage and task', () => {
  const { opentext } = loadConfig({
    ...otwsEnv,
  });
  expect(opentext.exstream).toBeNull();
  expect(opentext.workflow).toEqual({
    serviceUrl: 'https://us.api.opentext.com/workflow/v1',
    historyUrl: 'https://us.api.opentext.com/workflow-history/v1',
    processKeys: {
      REGULATED_DOCUMENT: 'commsgraph_regulated_document',
      GENERATION_EXCEPTION: 'commsgraph_generation_exception',
      CORRESPONDENCE: 'commsgraph_correspondence',
      DISPUTE: 'commsgraph_dispute',
      MANDATORY_NOTICE: 'commsgraph_mandatory_notice',
      REISSUE: 'commsgraph_reissue',
      SERVICE: 'commsgraph_service',
    },
    stageGroups: {
      REVIEW: 'commsgraph-reviewers',
      APPROVAL: 'commsgraph-approvers',
      COMPLIANCE: 'commsgraph-compliance',
    },
    taskGroups: {
      authorise_reissue: 'commsgraph-service-agents',
      final_response: 'commsgraph-approvers',
      work_exception: 'commsgraph-operations',
    },
    identityMap: null,
    pollMs: 5000,
  });
});

test('JSON maps name only what differs from the defaults', () => {
  const { opentext } = loadConfig({
    ...otwsEnv,
    WORKFLOW_PROCESS_KEYS: '{"DISPUTE":"acme_dispute"}',
    WORKFLOW_STAGE_GROUPS: '{"COMPLIANCE":"acme-compliance"}',
    WORKFLOW_IDENTITY_MAP: '{"jdoe@acme":"user-17"}',
    WORKFLOW_POLL_MS: '2000',
  });
  expect(opentext.workflow?.processKeys.DISPUTE).toBe('acme_dispute');
  expect(opentext.workflow?.processKeys.REISSUE).toBe('commsgraph_reissue');
  expect(opentext.workflow?.stageGroups).toEqual({
    REVIEW: 'commsgraph-reviewers',
    APPROVAL: 'commsgraph-approvers',
    COMPLIANCE: 'acme-compliance',
  });
  expect(opentext.workflow?.identityMap).toEqual({ 'jdoe@acme': 'user-17' });
  expect(opentext.workflow?.pollMs).toBe(2000);
});

test('missing connected settings stop the start with every problem listed', () => {
  const problems = problemsOf({ GENERATION_BACKEND: 'exstream', WORKFLOW_BACKEND: 'otws' });
  expect(problems).toEqual(
    expect.arrayContaining([
      'OTDS_TOKEN_URL: required',
      'OTDS_CLIENT_ID: required',
      'OTDS_CLIENT_SECRET: required',
      'EXSTREAM_URL: required',
      'EXSTREAM_DOMAIN: required',
      'WORKFLOW_SERVICE_URL: required',
      'WORKFLOW_HISTORY_URL: required',
    ]),
  );
});

test('malformed connected settings are all reported, with the others of the environment', () => {
  const problems = problemsOf({
    ...exstreamEnv,
    PORT: 'eighty',
    GENERATION_BACKEND: 'exstream',
    WORKFLOW_BACKEND: 'flowable',
    OTDS_TOKEN_URL: 'ftp://otds.example.com/token',
    EXSTREAM_URL: 'https://user:pw@exstream.example.com',
    EXSTREAM_DOMAIN: 'bad domain!',
    EXSTREAM_QUEUE_CHANNELS: '{"PDF":["FAX"]}',
    EXSTREAM_POLL_MS: 'often',
    EXSTREAM_LOOKBACK_HOURS: '0',
    EXSTREAM_CATALOGUE_REFRESH_MS: '10',
    WORKFLOW_PROCESS_KEYS: '{"PAYMENT":"x"}',
    WORKFLOW_STAGE_GROUPS: 'not json',
    WORKFLOW_TASK_GROUPS: '{"final_response":""}',
  });
  const expected = [
    /^PORT: /,
    /^WORKFLOW_BACKEND: /,
    /^OTDS_TOKEN_URL: must be an http or https URL$/,
    /^EXSTREAM_URL: must not carry credentials$/,
    /^EXSTREAM_DOMAIN: must be an Exstream domain id/,
    /^EXSTREAM_QUEUE_CHANNELS\.PDF\.0: /,
    /^EXSTREAM_POLL_MS: /,
    /^EXSTREAM_LOOKBACK_HOURS: /,
    /^EXSTREAM_CATALOGUE_REFRESH_MS: /,
    /^WORKFLOW_PROCESS_KEYS\./,
    /^WORKFLOW_STAGE_GROUPS: not JSON$/,
    /^WORKFLOW_TASK_GROUPS\.final_response: /,
  ];
  for (const pattern of expected) expect(problems.some((p) => pattern.test(p))).toBe(true);
});

test('the client secret never shows: not in problems, inspect, JSON or string form', () => {
  const problems = problemsOf({ ...exstreamEnv, EXSTREAM_DOMAIN: '' });
  expect(problems.join('\n')).not.toContain(SECRET);
  const config = loadConfig(exstreamEnv);
  expect(inspect(config, { depth: 10 })).not.toContain(SECRET);
  expect(JSON.stringify(config)).not.toContain(SECRET);
  expect(`${config.opentext.otds?.clientSecret}`).toBe('[redacted]');
  expect(inspect(config.opentext.otds)).toContain('Secret([redacted])');
});

test('EXSTREAM_DATA_SCHEMAS: one JSON Schema per communication id; a bad file stops the start', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'));
  try {
    fs.writeFileSync(path.join(dir, 'tpl_policy_pack.json'), '{"type":"object","required":["policyNumber"]}');
    fs.writeFileSync(path.join(dir, 'README.txt'), 'ignored');
    const { opentext } = loadConfig({ ...exstreamEnv, EXSTREAM_DATA_SCHEMAS: dir });
    expect(opentext.exstream?.dataSchemas).toEqual({
      tpl_policy_pack: { type: 'object', required: ['policyNumber'] },
    });
    fs.writeFileSync(path.join(dir, 'broken.json'), '{"type":');
    fs.writeFileSync(path.join(dir, 'list.json'), '[]');
    expect(problemsOf({ ...exstreamEnv, EXSTREAM_DATA_SCHEMAS: dir })).toEqual([
      'EXSTREAM_DATA_SCHEMAS: broken.json is not JSON',
      'EXSTREAM_DATA_SCHEMAS: list.json is not a JSON Schema object',
    ]);
    expect(problemsOf({ ...exstreamEnv, EXSTREAM_DATA_SCHEMAS: path.join(dir, 'nope') })).toEqual([
      `EXSTREAM_DATA_SCHEMAS: cannot read the directory ${path.join(dir, 'nope')}`,
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('resilience tuning has defaults and is checked', () => {
  expect(loadConfig({}).opentext.resilience).toEqual({
    timeoutMs: 30_000,
    maxAttempts: 3,
    backoffInitialMs: 200,
    backoffMaxMs: 10_000,
    breakerThreshold: 5,
    breakerHalfOpenMs: 30_000,
  });
  expect(problemsOf({ OPENTEXT_BACKOFF_MS: '500', OPENTEXT_BACKOFF_MAX_MS: '100' })).toEqual([
    'OPENTEXT_BACKOFF_MAX_MS: must not be below OPENTEXT_BACKOFF_MS',
  ]);
});
