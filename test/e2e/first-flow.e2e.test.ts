import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GraphQLClient } from 'graphql-request';
import WebSocket from 'ws';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import {
  CaseDetailDocument,
  DecideApprovalDocument,
  GenerateDocumentDocument,
  StartCaseDocument,
  TemplatesDocument,
  type DeliveryStatusChangedSubscription,
  type GenerationExceptionRaisedSubscription,
} from '../generated/graphql.js';
import { subscribe } from '../support/ws.js';
import { nodeStart, npmStart, npmToken, type RunningProduct } from './server.js';

/**
 * The product as a user runs it: `npm start` on an empty DATA_DIR, tokens
 * from `npm run token`, the first flow over HTTP with graphql-request while
 * graphql-ws clients watch, then SIGTERM and a restart that finds it all.
 */
const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;
let dataDir: string;
let product: RunningProduct;
const tokens: Record<string, string> = {};
const client = (who: string) =>
  new GraphQLClient(product.url, { headers: { authorization: `Bearer ${tokens[who]}` } });

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-e2e-'));
  product = await npmStart(dataDir);
  for (const [who, roles] of Object.entries({
    requester: ['requester'],
    reviewer: ['reviewer'],
    approver: ['approver'],
    compliance: ['compliance'],
    service: ['service'],
    ops: ['operations'],
    norole: [] as string[],
  })) {
    tokens[who] = await npmToken(dataDir, `e2e.${who}`, roles);
  }
}, 180_000);

afterAll(async () => {
  await product?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

let caseId = '';
let documentId = '';

test('serves health, readiness and the Sandbox landing page', async () => {
  const base = product.url.replace('/graphql', '');
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  const page = await fetch(product.url, { headers: { accept: 'text/html' } });
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('new window.EmbeddedSandbox');
  // Subscriptions in Sandbox go over graphql-ws to this same URL.
  expect(html).toContain("initialSubscriptionEndpoint: endpoint.replace(/^http/, 'ws')");
  const templates = await client('service').request(TemplatesDocument);
  expect(templates.templates.length).toBeGreaterThanOrEqual(12);
  expect(templates.templates.every((t) => t.approvedVersion?.status === 'APPROVED')).toBe(true);
});

test('the first flow: start, three approvals, generation and delivery, watched over graphql-ws', async () => {
  const started = await client('requester').request(StartCaseDocument, {
    input: {
      kind: 'REGULATED_DOCUMENT',
      title: 'Statement for Ștefan',
      customerId: 'cus_002',
      templateId: 'tpl_account_statement',
      channel: 'EMAIL',
      data: sample('tpl_account_statement'),
    },
  });
  caseId = started.startCase.id;
  expect(started.startCase.status).toBe('AWAITING_APPROVAL');

  const deliveries = await subscribe<DeliveryStatusChangedSubscription>(
    product.url,
    tokens.service!,
    `subscription ($caseId: ID) { deliveryStatusChanged(caseId: $caseId) { eventId delivery { status channel } document { id customer { name } case { id status } } } }`,
    { caseId },
  );
  const exceptions = await subscribe<GenerationExceptionRaisedSubscription>(
    product.url,
    tokens.service!,
    `subscription { generationExceptionRaised { id kind document { id } case { id assignedTeam } } }`,
  );

  // Four-eyes over the real server: the starter may not review their own case.
  const selfReview = await npmToken(dataDir, 'e2e.requester', ['requester', 'reviewer']);
  await expect(
    new GraphQLClient(product.url, { headers: { authorization: `Bearer ${selfReview}` } }).request(
      DecideApprovalDocument,
      {
        input: { approvalId: started.startCase.approvals[0]!.id, decision: 'APPROVED' },
      },
    ),
  ).rejects.toMatchObject({
    response: {
      errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })],
    },
  });

  const [review, approval, comp] = started.startCase.approvals;
  await client('reviewer').request(DecideApprovalDocument, {
    input: { approvalId: review!.id, decision: 'APPROVED', comment: 'checked' },
  });
  await client('approver').request(DecideApprovalDocument, {
    input: { approvalId: approval!.id, decision: 'APPROVED' },
  });
  await client('compliance').request(DecideApprovalDocument, {
    input: { approvalId: comp!.id, decision: 'APPROVED' },
  });

  const steps = await deliveries.waitFor(
    (r) => r.some((e) => e.deliveryStatusChanged.delivery.status === 'DELIVERED'),
    20_000,
  );
  expect(steps.map((e) => e.deliveryStatusChanged.delivery.status)).toEqual(['PENDING', 'SENT', 'DELIVERED']);
  expect(steps[2]!.deliveryStatusChanged.document.customer?.name).toBe('Ștefan Ionescu');
  expect(steps[2]!.deliveryStatusChanged.document.case?.id).toBe(caseId);
  // Each event is resolved afresh across subgraphs: by delivery the case has moved on from APPROVED.
  expect(steps[2]!.deliveryStatusChanged.document.case?.status).toBe('RESOLVED');
  documentId = steps[0]!.deliveryStatusChanged.document.id;

  const detail = await client('service').request(CaseDetailDocument, { id: caseId });
  expect(detail.case?.status).toBe('RESOLVED');
  expect(detail.case?.documents[0]).toMatchObject({
    id: documentId,
    status: 'GENERATED',
    channel: 'EMAIL',
    deliveries: [{ status: 'DELIVERED' }],
  });
  expect(detail.case?.history.map((h) => h.action)).toEqual(
    expect.arrayContaining(['CASE_STARTED', 'APPROVAL_APPROVED', 'DOCUMENT_GENERATED']),
  );
  // The email really went out to the embedded outbox.
  const outbox = path.join(dataDir, 'outbox', 'email');
  expect(fs.readdirSync(outbox).some((f) => f.endsWith('.eml'))).toBe(true);

  // Missing data: FAILED, an exception case for operations, announced to the subscriber.
  const failed = await client('service').request(GenerateDocumentDocument, {
    input: {
      customerId: 'cus_007',
      templateId: 'tpl_account_statement',
      channel: 'PRINT',
      data: { accountNumber: '12345678' },
    },
  });
  expect(failed.generateDocument.status).toBe('FAILED');
  const [raised] = await exceptions.waitFor(
    (r) => r.some((e) => e.generationExceptionRaised.document?.id === failed.generateDocument.id),
    20_000,
  );
  expect(raised).toBeDefined();
  const ev = exceptions.received.find(
    (e) => e.generationExceptionRaised.document?.id === failed.generateDocument.id,
  )!;
  expect(ev.generationExceptionRaised).toMatchObject({
    kind: 'MISSING_DATA',
    case: { assignedTeam: 'data-quality' },
  });
  await deliveries.close();
  await exceptions.close();
});

test('a rejection generates nothing', async () => {
  const started = await client('requester').request(StartCaseDocument, {
    input: {
      kind: 'REGULATED_DOCUMENT',
      title: 'Rejected pack',
      customerId: 'cus_010',
      templateId: 'tpl_policy_pack',
      channel: 'PRINT',
      data: sample('tpl_policy_pack'),
    },
  });
  await client('reviewer').request(DecideApprovalDocument, {
    input: {
      approvalId: started.startCase.approvals[0]!.id,
      decision: 'REJECTED',
      comment: 'wrong schedule',
    },
  });
  const detail = await client('service').request(CaseDetailDocument, { id: started.startCase.id });
  expect(detail.case).toMatchObject({ status: 'REJECTED', documents: [] });
});

test('graphql-ws refuses a bad token with 4401 and a token without a role with 4403', async () => {
  const closeCode = (params: Record<string, unknown>) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(product.url.replace('http', 'ws'), 'graphql-transport-ws');
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: params })));
      ws.on('close', (code) => resolve(code));
    });
  expect(await closeCode({})).toBe(4401);
  expect(await closeCode({ authorization: 'Bearer not.a.token' })).toBe(4401);
  expect(await closeCode({ authorization: `Bearer ${tokens.norole}` })).toBe(4403);
});

test('SIGTERM drains (sockets close with 1001, exit 0) and a restart finds everything', async () => {
  const ws = new WebSocket(product.url.replace('http', 'ws'), 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve) => ws.on('open', () => resolve()));
  ws.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.service}` } }),
  );
  await new Promise<void>((resolve) => ws.once('message', () => resolve()));

  await product.stop();
  expect(await closed).toBe(1001);

  // The server process itself exits 0 after draining.
  const direct = await nodeStart(dataDir);
  expect(await direct.stop()).toBe(0);
  expect(direct.logs.join('')).toContain('"msg":"gateway stopped"');

  product = await npmStart(dataDir);
  const detail = await client('service').request(CaseDetailDocument, { id: caseId });
  expect(detail.case).toMatchObject({
    id: caseId,
    status: 'RESOLVED',
    documents: [{ id: documentId, status: 'GENERATED' }],
  });
  // Seeding happens on first start only.
  const page = await client('service').request(TemplatesDocument);
  expect(page.templates).toHaveLength(17);
}, 180_000);
