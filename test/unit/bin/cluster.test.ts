import path from 'node:path';
import { ConfigError } from '../../../src/config/index.js';
import { clusterSettings, configProblems, planCluster } from '../../../src/bin/cluster.js';

/**
 * `npm run start:cluster`'s settings and the processes it plans from them.
 * The processes themselves are started for real in test/e2e/cluster.e2e.
 */
const PORTS = {
  subgraphs: { workflow: 4101, customers: 4102, communications: 4103 },
  gateways: [4000, 4001],
};

test('defaults: two gateways and one worker on the local PostgreSQL and Redis, ports from 4000', () => {
  const s = clusterSettings({});
  expect(s).toMatchObject({
    basePort: 4000,
    gateways: 2,
    workers: 1,
    host: '127.0.0.1',
    redisUrl: 'redis://127.0.0.1:6379',
    dataDir: path.resolve('./data'),
    supergraphFile: path.resolve('./data/supergraph.graphql'),
    createDatabase: true,
  });
  expect(new Set(Object.values(s.databaseUrls))).toEqual(
    new Set(['postgres://postgres@127.0.0.1:5432/commsgraph']),
  );
});

test('every bad setting is reported at once', () => {
  let error: unknown;
  try {
    clusterSettings({
      CLUSTER_BASE_PORT: 'four',
      CLUSTER_GATEWAYS: '0',
      CLUSTER_LOG_FORMAT: 'xml',
      REDIS_URL: 'localhost',
    });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).problems.map((p) => p.split(':')[0]).sort()).toEqual([
    'CLUSTER_BASE_PORT',
    'CLUSTER_GATEWAYS',
    'CLUSTER_LOG_FORMAT',
    'REDIS_URL',
  ]);
});

test('the plan: subgraphs first, then remote-mode gateways, then the worker, all on one DATA_DIR', () => {
  const s = clusterSettings({ DATA_DIR: '/srv/cg', REDIS_URL: 'redis://cache:6379' });
  const plan = planCluster(s, PORTS);
  expect(plan.map((p) => [p.name, p.role, p.url])).toEqual([
    ['workflow', 'subgraph', 'http://127.0.0.1:4101/graphql'],
    ['customers', 'subgraph', 'http://127.0.0.1:4102/graphql'],
    ['communications', 'subgraph', 'http://127.0.0.1:4103/graphql'],
    ['gateway-1', 'gateway', 'http://127.0.0.1:4000/graphql'],
    ['gateway-2', 'gateway', 'http://127.0.0.1:4001/graphql'],
    ['worker', 'worker', null],
  ]);
  const urls =
    'workflow=http://127.0.0.1:4101/graphql,customers=http://127.0.0.1:4102/graphql,communications=http://127.0.0.1:4103/graphql';
  for (const p of plan) {
    // One dev key for all: tokens from `npm run token` with this DATA_DIR work everywhere.
    expect(p.env).toMatchObject({
      DATA_DIR: '/srv/cg',
      REDIS_URL: 'redis://cache:6379',
      SUBGRAPH_URLS: urls,
    });
  }
  expect(plan.filter((p) => p.role === 'gateway').every((p) => p.env.GATEWAY_MODE === 'remote')).toBe(true);
  // The separate worker does the batch records; the communications service only enqueues them.
  expect(plan.find((p) => p.name === 'communications')!.env.RUN_WORKERS).toBe('false');
});

test('without separate workers the communications service runs them', () => {
  const plan = planCluster(clusterSettings({ CLUSTER_WORKERS: '0' }), PORTS);
  expect(plan.some((p) => p.role === 'worker')).toBe(false);
  expect(plan.find((p) => p.name === 'communications')!.env.RUN_WORKERS).toBe('true');
});

test('each subgraph may have its own database; the worker uses the communications one', () => {
  const plan = planCluster(
    clusterSettings({
      DATABASE_URL: 'postgres://pg/shared',
      CUSTOMERS_DATABASE_URL: 'postgres://pg/customers',
      COMMUNICATIONS_DATABASE_URL: 'postgres://pg/comms',
    }),
    PORTS,
  );
  const db = Object.fromEntries(plan.map((p) => [p.name, p.env.DATABASE_URL]));
  expect(db).toEqual({
    workflow: 'postgres://pg/shared',
    customers: 'postgres://pg/customers',
    communications: 'postgres://pg/comms',
    'gateway-1': undefined,
    'gateway-2': undefined,
    worker: 'postgres://pg/comms',
  });
});

test('listening on every interface, the processes reach each other on loopback', () => {
  const plan = planCluster(clusterSettings({ CLUSTER_HOST: '0.0.0.0' }), PORTS);
  expect(plan[0]!.env.HOST).toBe('0.0.0.0');
  expect(plan[0]!.url).toBe('http://127.0.0.1:4101/graphql');
});

test("each process's own settings are checked before anything starts, each problem once", () => {
  const plan = planCluster(clusterSettings({}), PORTS);
  const problems = configProblems(
    plan.map((p) => p.env),
    { NODE_ENV: 'production' },
  );
  expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^AUTH_JWKS_URL/)]));
  expect(new Set(problems).size).toBe(problems.length);
  expect(
    configProblems(
      plan.map((p) => p.env),
      {},
    ),
  ).toEqual([]);
});
