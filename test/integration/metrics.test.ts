import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { getMetricsFromIterator, type PromMetric } from 'prom2javascript';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * GET /metrics as Prometheus reads it: the text format, parsed by a Prometheus text parser (not
 * by our code), after a query, an error and a subscription event.
 */
const PACKAGE = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
  version: string;
};
const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;

let t: TestGateway;
let operations: string;
beforeAll(async () => {
  t = await startTestGateway();
  operations = await t.token('metrics.scraper', 'operations');
});
afterAll(async () => {
  await t?.stop();
});

const base = () => t.url.replace(/\/graphql$/, '');

/** One series of a metric family as the parser gives it: a value, or a histogram's count, sum and buckets. */
interface Sample {
  labels: Record<string, string>;
  value?: number;
  count?: number;
  sum?: number;
  buckets?: Record<string, number>;
}
interface Family {
  type: string;
  samples: Sample[];
}

async function scrape(url: string, token?: string): Promise<Map<string, Family>> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const parsed = await getMetricsFromIterator((await res.text()).split('\n')[Symbol.iterator]());
  return new Map(
    Object.entries(parsed).map(([name, f]: [string, PromMetric]) => [
      name,
      { type: f.type, samples: f.data as Sample[] },
    ]),
  );
}

function family(metrics: Map<string, Family>, name: string): Family {
  const f = metrics.get(name);
  if (!f) throw new Error(`no metric ${name} among: ${[...metrics.keys()].join(', ')}`);
  return f;
}

function withLabels(f: Family, labels: Record<string, string>): Sample | undefined {
  return f.samples.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
}

test('on the main port, metrics are for operations and admin only', async () => {
  expect((await fetch(`${base()}/metrics`)).status).toBe(401);
  const requester = await t.token('metrics.requester', 'requester');
  const refused = await fetch(`${base()}/metrics`, { headers: { authorization: `Bearer ${requester}` } });
  expect(refused.status).toBe(403);
  const admin = await t.token('metrics.admin', 'admin');
  expect((await fetch(`${base()}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(
    200,
  );
});

test('after a query, an error and a subscription event, the listed metrics say so', async () => {
  const agent = await t.token('metrics.agent', 'service-agent');
  const query = await t.gql<{ customer: { id: string } }>(
    `query MetricsCustomer { customer(id: "cus_009") { id } }`,
    {},
    agent,
  );
  expect(query.errors).toBeUndefined();
  const broken = await t.gql(`query MetricsBroken { noSuchField }`, {}, agent);
  expect(broken.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

  const service = await t.token('metrics.service', 'service');
  const watcher = await subscribe<{
    deliveryStatusChanged: { document: { id: string }; delivery: { status: string } };
  }>(
    t.url,
    service,
    `subscription ($after: ID) { deliveryStatusChanged(customerId: "cus_009", after: $after) { document { id } delivery { status } } }`,
    { after: await t.cursor('deliveryStatusChanged') },
  );
  const generated = await t.gql<{ generateDocument: { id: string } }>(
    `mutation MetricsGenerate($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }`,
    {
      input: {
        customerId: 'cus_009',
        templateId: 'tpl_billing_notice',
        channel: 'PRINT',
        data: sample('tpl_billing_notice'),
      },
    },
    service,
  );
  expect(generated.errors).toBeUndefined();
  const docId = generated.data!.generateDocument.id;
  await watcher.waitFor((r) => r.some((e) => e.deliveryStatusChanged.document.id === docId), 30_000);

  // Read while the subscription is still open.
  const m = await scrape(`${base()}/metrics`, operations);
  await watcher.close();

  const duration = family(m, 'commsgraph_graphql_request_duration_seconds');
  expect(duration.type).toBe('histogram');
  const q = withLabels(duration, { operation_name: 'MetricsCustomer', operation_type: 'query' });
  expect(Number(q?.count)).toBe(1);
  expect(Number(q?.sum)).toBeGreaterThan(0);
  expect(
    Number(withLabels(duration, { operation_name: 'MetricsGenerate', operation_type: 'mutation' })?.count),
  ).toBe(1);

  const errors = family(m, 'commsgraph_graphql_errors_total');
  expect(Number(withLabels(errors, { code: 'BAD_USER_INPUT' })?.value)).toBeGreaterThanOrEqual(1);

  // The gateway asked the customers subgraph (the query) and communications (the mutation).
  const subgraphs = family(m, 'commsgraph_subgraph_request_duration_seconds');
  expect(
    Number(withLabels(subgraphs, { subgraph: 'customers', outcome: 'ok' })?.count),
  ).toBeGreaterThanOrEqual(1);
  expect(
    Number(withLabels(subgraphs, { subgraph: 'communications', outcome: 'ok' })?.count),
  ).toBeGreaterThanOrEqual(1);

  expect(
    Number(withLabels(family(m, 'commsgraph_subscriptions_active'), { stream: 'DELIVERY_STATUS' })?.value),
  ).toBe(1);
  expect(
    Number(withLabels(family(m, 'commsgraph_events_delivered_total'), { stream: 'DELIVERY_STATUS' })?.value),
  ).toBeGreaterThanOrEqual(1);
  const lag = withLabels(family(m, 'commsgraph_outbox_relay_lag_seconds'), { source: 'communications' });
  expect(Number(lag?.count)).toBeGreaterThanOrEqual(1);
  expect(Number(lag?.sum)).toBeGreaterThanOrEqual(0);

  const backlog = family(m, 'commsgraph_command_backlog');
  expect(backlog.type).toBe('gauge');
  for (const s of backlog.samples) expect(Number(s.value)).toBeGreaterThanOrEqual(0);
  expect(backlog.samples.map((s) => s.labels?.source).sort()).toEqual(['communications', 'workflow']);
  expect(family(m, 'commsgraph_batch_records_total').type).toBe('counter');

  const pool = family(m, 'commsgraph_db_pool_connections');
  const total = Number(withLabels(pool, { state: 'total' })?.value);
  expect(total).toBeGreaterThanOrEqual(1);
  expect(Number(withLabels(pool, { state: 'idle' })?.value)).toBeLessThanOrEqual(total);

  expect(Number(family(m, 'nodejs_eventloop_lag_seconds').samples[0]?.value)).toBeGreaterThanOrEqual(0);
  expect(Number(family(m, 'process_resident_memory_bytes').samples[0]?.value)).toBeGreaterThan(0);
  expect(family(m, 'nodejs_heap_size_used_bytes').samples.length).toBe(1);

  const build = family(m, 'commsgraph_build_info').samples;
  expect(build).toEqual([
    {
      value: 1,
      labels: { version: PACKAGE.version, node_version: process.versions.node, process: expect.any(String) },
    },
  ]);
});

test('operation names beyond METRICS_MAX_OPERATIONS are folded, so clients cannot grow the series', async () => {
  const agent = await t.token('metrics.names', 'service-agent');
  // Many distinct names, as a client generating them would send.
  for (let i = 0; i < 120; i++) await t.gql(`query Random${i} { __typename }`, {}, agent);
  const duration = family(
    await scrape(`${base()}/metrics`, operations),
    'commsgraph_graphql_request_duration_seconds',
  );
  const names = new Set(duration.samples.map((s) => s.labels?.operation_name));
  expect(names.size).toBeLessThanOrEqual(100 + 2); // the default maximum, plus __other__ and __anonymous__
  expect(Number(withLabels(duration, { operation_name: '__other__' })?.count)).toBeGreaterThanOrEqual(1);
});

test('with METRICS_PORT, metrics are served there without a token, and not on the main port', async () => {
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const other = await startTestGateway({ METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' });
  try {
    const m = await scrape(`http://127.0.0.1:${port}/metrics`);
    expect(family(m, 'commsgraph_build_info').samples).toHaveLength(1);
    const token = await other.token('metrics.ops', 'operations');
    const main = await fetch(`${other.url.replace(/\/graphql$/, '')}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(main.status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/graphql`)).status).toBe(404);
  } finally {
    await other.stop();
  }
});
