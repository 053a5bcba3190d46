import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { subscribe } from '../support/ws.js';
import { logEntries, nodeStart, npmToken, subgraphStart, type RunningProduct } from './server.js';

/**
 * Tracing across processes, as a platform team's collector sees it: the services in remote mode
 * export OTLP over HTTP (http/json) to a collector in this test, and a request that carried a
 * W3C `traceparent` yields one trace through the gateway, the subgraph service it called, and
 * that service's database statements; the gateway's log line for the request carries the trace id.
 */

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
  links?: { traceId: string; spanId: string }[];
}
interface Exported extends OtlpSpan {
  service: string;
}

/** The smallest OTLP/HTTP collector: POST /v1/traces with a JSON body (ExportTraceServiceRequest). */
function startCollector(): Promise<{ url: string; spans: Exported[]; close(): Promise<void> }> {
  const spans: Exported[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          resourceSpans: {
            resource: { attributes: { key: string; value: { stringValue?: string } }[] };
            scopeSpans: { spans: OtlpSpan[] }[];
          }[];
        };
        for (const rs of body.resourceSpans) {
          const service =
            rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        spans,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      }),
    ),
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const attr = (s: OtlpSpan, key: string) => s.attributes?.find((a) => a.key === key)?.value;

let dataDir: string;
let collector: Awaited<ReturnType<typeof startCollector>>;
const procs: RunningProduct[] = [];
let gateway: RunningProduct;
let customers: RunningProduct;

beforeAll(async () => {
  collector = await startCollector();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-tracing-'));
  const ports = { workflow: await freePort(), customers: await freePort(), communications: await freePort() };
  const env = {
    SUBGRAPH_URLS: Object.entries(ports)
      .map(([n, p]) => `${n}=http://127.0.0.1:${p}/graphql`)
      .join(','),
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // Export within a tenth of a second instead of five: the test waits for the spans to arrive.
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  const services = await Promise.all(
    Object.entries(ports).map(([n, p]) => subgraphStart(n, dataDir, { ...env, PORT: String(p) })),
  );
  procs.push(...services);
  customers = services[1]!;
  gateway = await nodeStart(dataDir, { ...env, GATEWAY_MODE: 'remote' });
  procs.push(gateway);
}, 600_000);

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
  await collector?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test("a client's traceparent is continued: gateway, subgraph service and database in one trace, and in the logs", async () => {
  const token = await npmToken(dataDir, 'trace.agent', ['service-agent']);
  const traceId = randomBytes(16).toString('hex');
  const parent = randomBytes(8).toString('hex');
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      traceparent: `00-${traceId}-${parent}-01`,
      'x-request-id': 'trace-test-1',
    },
    body: JSON.stringify({ query: 'query TracedCustomer { customer(id: "cus_001") { id name } }' }),
  });
  const body = (await res.json()) as { data?: { customer: { id: string; name: string } }; errors?: unknown };
  expect(body).toEqual({ data: { customer: { id: 'cus_001', name: expect.any(String) } } });
  expect(res.headers.get('x-request-id')).toBe('trace-test-1');

  const ours = () => collector.spans.filter((s) => s.traceId === traceId);
  // The gateway's HTTP server span is the child of the client's span.
  const gatewayServer = await waitFor('the gateway span', () =>
    ours().find((s) => s.service === 'commsgraph-gateway' && s.parentSpanId === parent),
  );
  expect(gatewayServer.name).toMatch(/POST/);
  // The customers service's own spans, in the same trace: its HTTP server span and a statement.
  const serviceSpan = await waitFor('the customers service span', () =>
    ours().find((s) => s.service === 'commsgraph-customers' && attr(s, 'http.request.method') !== undefined),
  );
  expect(
    ours().some((s) => s.spanId === serviceSpan.parentSpanId && s.service === 'commsgraph-gateway'),
  ).toBe(true);
  const statement = await waitFor('a database span', () =>
    ours().find(
      (s) =>
        s.service === 'commsgraph-customers' &&
        (attr(s, 'db.system')?.stringValue === 'postgresql' ||
          attr(s, 'db.system.name')?.stringValue === 'postgresql'),
    ),
  );
  expect(statement.traceId).toBe(traceId);
  // GraphQL execution is traced too, also when graphql-jit runs it (the default, GATEWAY_JIT).
  expect(ours().some((s) => s.service === 'commsgraph-gateway' && s.name === 'graphql.execute')).toBe(true);

  // The request's log line at the gateway, and at the service it called, carry the trace and the request id.
  const line = await waitFor('the gateway log line', () =>
    logEntries(gateway).find((e) => e.msg === 'graphql operation' && e.operationName === 'TracedCustomer'),
  );
  expect(line).toMatchObject({ traceId, requestId: 'trace-test-1', operationType: 'query', status: 200 });
  const serviceLine = await waitFor('the customers log line', () =>
    logEntries(customers).find((e) => e.msg === 'graphql operation' && e.requestId === 'trace-test-1'),
  );
  expect(serviceLine.traceId).toBe(traceId);
  // Personal data stays out of the logs even with everything traced.
  expect(gateway.logs.join('') + customers.logs.join('')).not.toContain(body.data!.customer.name);
});

test('each subscription delivery is a span linked to the trace of the change that caused it', async () => {
  const token = await npmToken(dataDir, 'trace.service', ['service']);
  const watcher = await subscribe<{ deliveryStatusChanged: { document: { id: string } } }>(
    gateway.url,
    token,
    `subscription ($after: ID) { deliveryStatusChanged(customerId: "cus_009", after: $after) { document { id } } }`,
    { after: '0' },
  );
  const traceId = randomBytes(16).toString('hex');
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
    },
    body: JSON.stringify({
      query: 'mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }',
      variables: {
        input: {
          customerId: 'cus_009',
          templateId: 'tpl_billing_notice',
          channel: 'PRINT',
          data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
        },
      },
    }),
  });
  const body = (await res.json()) as { data: { generateDocument: { id: string } } };
  const docId = body.data.generateDocument.id;
  await watcher.waitFor((r) => r.some((e) => e.deliveryStatusChanged.document.id === docId), 30_000);
  await watcher.close();
  // The delivery happened in the communications service (the gateway passes the stream through):
  // its span starts a trace of its own and links to the mutation's.
  const delivery = await waitFor('a delivery span linked to the mutation', () =>
    collector.spans.find(
      (s) => s.name === 'deliver DELIVERY_STATUS' && s.links?.some((l) => l.traceId === traceId),
    ),
  );
  expect(delivery.service).toBe('commsgraph-communications');
  expect(delivery.traceId).not.toBe(traceId);
  // The document was rendered inside the mutation's trace, in the communications service.
  const render = await waitFor('a render span in the mutation trace', () =>
    collector.spans.find((s) => s.name === 'render' && s.traceId === traceId),
  );
  expect(render.service).toBe('commsgraph-communications');
});
