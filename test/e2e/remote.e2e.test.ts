import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { GraphQLClient } from 'graphql-request';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import {
  CaseDetailDocument,
  DecideApprovalDocument,
  GenerateDocumentDocument,
  StartCaseDocument,
  type DeliveryStatusChangedSubscription,
} from '../generated/graphql.js';
import { subscribe } from '../support/ws.js';
import { nodeStart, npmToken, subgraphStart, type RunningProduct } from './server.js';

/**
 * Remote mode: each subgraph runs as its own service (`npm run subgraph --
 * <name>`) with its own store, and the gateway composes and executes them
 * over HTTP and graphql-ws. The first flow works across four processes.
 */
const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

let dataDir: string;
const procs: RunningProduct[] = [];
let gateway: RunningProduct;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-remote-'));
  const ports = { workflow: await freePort(), customers: await freePort(), communications: await freePort() };
  const SUBGRAPH_URLS = Object.entries(ports)
    .map(([n, p]) => `${n}=http://127.0.0.1:${p}/graphql`)
    .join(',');
  const env = { SUBGRAPH_URLS };
  procs.push(
    ...(await Promise.all(
      Object.entries(ports).map(([n, p]) => subgraphStart(n, dataDir, { ...env, PORT: String(p) })),
    )),
  );
  gateway = await nodeStart(dataDir, { ...env, GATEWAY_MODE: 'remote' });
  procs.push(gateway);
}, 180_000);

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('each subgraph answers alone, as a plain Federation 2 subgraph', async () => {
  for (const p of procs.filter((x) => x !== gateway)) {
    const res = await fetch(p.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ _service { sdl } }' }),
    });
    const body = (await res.json()) as { data: { _service: { sdl: string } } };
    expect(body.data._service.sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
  }
});

test('a standard Federation 2 composer composes the services, and each serves graphql-ws as a router expects', async () => {
  // What Apollo Router (via rover) or Hive Gateway does: compose the services'
  // `_service { sdl }` with their routing URLs, independently of our gateway code.
  const services = procs
    .filter((p) => p !== gateway)
    .map((p) => ({ name: /subgraph (\w+) listening/.exec(p.logs.join(''))![1]!, url: p.url }));
  const composed = composeServices(
    await Promise.all(
      services.map(async (s) => {
        const res = await fetch(s.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ _service { sdl } }' }),
        });
        const body = (await res.json()) as { data: { _service: { sdl: string } } };
        return { name: s.name, url: s.url, typeDefs: parse(body.data._service.sdl) };
      }),
    ),
  );
  expect(composed.errors).toBeUndefined();
  for (const s of services) {
    expect(composed.supergraphSdl).toContain(`@join__graph(name: "${s.name}", url: "${s.url}")`);
  }
  expect(composed.publicSdl).toMatch(/type Subscription \{[^}]*deliveryStatusChanged/);

  // Passthrough subscriptions: graphql-ws straight to the communications
  // service, the token in connection_init, the mutation routed to it over HTTP.
  const communications = services.find((s) => s.name === 'communications')!.url;
  const customers = services.find((s) => s.name === 'customers')!.url;
  const token = await npmToken(dataDir, 'router', ['service']);
  const post = async <T>(url: string, query: string, variables: Record<string, unknown>) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data?: T; errors?: unknown[] };
  };
  const watcher = await subscribe<{
    deliveryStatusChanged: { delivery: { status: string }; document: { id: string; customerId: string } };
  }>(
    communications,
    token,
    `subscription ($after: ID) { deliveryStatusChanged(customerId: "cus_009", after: $after) { delivery { status } document { id customerId } } }`,
    // From the first event on, so nothing is missed however late the subscription registers;
    // the test looks for its own document's steps.
    { after: '0' },
  );
  const generated = await post<{ generateDocument: { id: string } }>(
    communications,
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }`,
    {
      input: {
        customerId: 'cus_009',
        templateId: 'tpl_billing_notice',
        channel: 'PRINT',
        data: sample('tpl_billing_notice'),
      },
    },
  );
  expect(generated.errors).toBeUndefined();
  const docId = generated.data!.generateDocument.id;
  const events = await watcher.waitFor(
    (r) =>
      r.some(
        (e) =>
          e.deliveryStatusChanged.document.id === docId &&
          e.deliveryStatusChanged.delivery.status === 'DELIVERED',
      ),
    30_000,
  );
  await watcher.close();
  const ours = events.filter((e) => e.deliveryStatusChanged.document.id === docId);
  expect(ours.map((e) => e.deliveryStatusChanged.delivery.status)).toEqual(['PENDING', 'SENT', 'DELIVERED']);

  // The entity fetch a router plans for `document { customer { name } }` (@requires customerId).
  const entity = await post<{ _entities: Array<{ customer: { name: string } }> }>(
    customers,
    `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Document { customer { name } } } }`,
    {
      r: [
        { __typename: 'Document', id: docId, customerId: ours[0]!.deliveryStatusChanged.document.customerId },
      ],
    },
  );
  expect(entity).toEqual({ data: { _entities: [{ customer: { name: 'Oliver Bennett' } }] } });
});

test('the first flow across three subgraph services and a remote gateway', async () => {
  const token = (sub: string, ...roles: string[]) => npmToken(dataDir, sub, roles);
  const as = async (sub: string, ...roles: string[]) =>
    new GraphQLClient(gateway.url, { headers: { authorization: `Bearer ${await token(sub, ...roles)}` } });
  const watcher = await token('remote.watcher', 'service');

  const started = await (
    await as('r.requester', 'requester')
  ).request(StartCaseDocument, {
    input: {
      kind: 'REGULATED_DOCUMENT',
      title: 'Remote statement',
      customerId: 'cus_001',
      templateId: 'tpl_account_statement',
      channel: 'PRINT',
      data: sample('tpl_account_statement'),
    },
  });
  const caseId = started.startCase.id;
  const deliveries = await subscribe<DeliveryStatusChangedSubscription>(
    gateway.url,
    watcher,
    `subscription ($caseId: ID, $after: ID) { deliveryStatusChanged(caseId: $caseId, after: $after) { eventId delivery { status } document { id customer { name } case { id status } } } }`,
    // The case is new: from its first event on is every event of it.
    { caseId, after: '0' },
  );
  const [a, b, c] = started.startCase.approvals;
  await (
    await as('r.reviewer', 'reviewer')
  ).request(DecideApprovalDocument, { input: { approvalId: a!.id, decision: 'APPROVED' } });
  await (
    await as('r.approver', 'approver')
  ).request(DecideApprovalDocument, { input: { approvalId: b!.id, decision: 'APPROVED' } });
  await (
    await as('r.compliance', 'compliance')
  ).request(DecideApprovalDocument, { input: { approvalId: c!.id, decision: 'APPROVED' } });

  const steps = await deliveries.waitFor(
    (r) => r.some((e) => e.deliveryStatusChanged.delivery.status === 'DELIVERED'),
    30_000,
  );
  expect(steps.map((e) => e.deliveryStatusChanged.delivery.status)).toEqual(['PENDING', 'SENT', 'DELIVERED']);
  expect(steps[0]!.deliveryStatusChanged.document.customer?.name).toBe('Łukasz Żółć');
  expect(steps[0]!.deliveryStatusChanged.document.case?.id).toBe(caseId);
  await deliveries.close();

  const svc = await as('r.service', 'service');
  // The detail includes trails and document links: personal data for an auditor, not a machine client.
  const detail = await (await as('r.auditor', 'auditor')).request(CaseDetailDocument, { id: caseId });
  expect(detail.case).toMatchObject({
    status: 'RESOLVED',
    customer: { name: 'Łukasz Żółć' },
    documents: [{ status: 'GENERATED', deliveries: [{ status: 'DELIVERED' }] }],
  });

  // The rendered PDF comes through the gateway from the communications service.
  const docId = steps[0]!.deliveryStatusChanged.document.id;
  // Document content is personal data: a role that may read it downloads (the service role may not).
  const pdf = await fetch(gateway.url.replace('/graphql', `/documents/${docId}/content`), {
    headers: { authorization: `Bearer ${await token('r.auditor', 'auditor')}` },
  });
  expect(pdf.status).toBe(200);
  expect(
    Buffer.from(await pdf.arrayBuffer())
      .subarray(0, 5)
      .toString(),
  ).toBe('%PDF-');

  // A coded error from a subgraph service reaches the client with its code.
  await expect(
    svc.request(GenerateDocumentDocument, {
      input: { customerId: 'cus_nope', templateId: 'tpl_account_statement' },
    }),
  ).rejects.toMatchObject({
    response: {
      errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'NOT_FOUND' }) })],
    },
  });
});

test('the remote gateway is not ready while a subgraph service is down', async () => {
  const base = gateway.url.replace('/graphql', '');
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  const communications = procs.find(
    (p) =>
      p.url.includes(`:${new URL(p.url).port}`) &&
      p.logs.join('').includes('subgraph communications listening'),
  )!;
  expect(await communications.stop()).toBe(0);
  expect((await fetch(`${base}/readyz`)).status).toBe(503);
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
});
