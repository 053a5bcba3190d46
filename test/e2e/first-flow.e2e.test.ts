import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GraphQLClient } from 'graphql-request';
import WebSocket from 'ws';
import { CaseDetailDocument, TemplatesDocument } from '../generated/graphql.js';
import {
  firstFlow,
  flowTokens,
  rejectionGeneratesNothing,
  servesHealthAndExplorer,
  wsRefusesBadTokens,
  type FlowTarget,
} from './flow.js';
import { nodeStart, npmStart, type RunningProduct } from './server.js';

/**
 * The product as a user runs it: `npm start` on an empty DATA_DIR, tokens
 * from `npm run token`, the first flow over HTTP with graphql-request while
 * graphql-ws clients watch, then SIGTERM and a restart that finds it all.
 * The flow's steps live in ./flow.ts: cluster.e2e runs the same against the
 * production topology.
 */
let dataDir: string;
let product: RunningProduct;
let tokens: Record<string, string> = {};
const client = (who: string) =>
  new GraphQLClient(product.url, { headers: { authorization: `Bearer ${tokens[who]}` } });
const target = (): FlowTarget => ({
  url: product.url,
  subscriberUrl: product.url,
  dataDir,
  emailOutbox: path.join(dataDir, 'outbox', 'email'),
  tokens,
});

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-e2e-'));
  product = await npmStart(dataDir);
  tokens = await flowTokens(dataDir);
}, 180_000);

afterAll(async () => {
  await product?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

let caseId = '';
let documentId = '';

test('serves health, readiness and the API explorer', () => servesHealthAndExplorer(target()));

test('the first flow: start, three approvals, generation and delivery, watched over graphql-ws', async () => {
  ({ caseId, documentId } = await firstFlow(target()));
});

test('a rejection generates nothing', () => rejectionGeneratesNothing(target()));

test('graphql-ws refuses a bad token with 4401 and a token without a role with 4403', () =>
  wsRefusesBadTokens(target()));

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
  const detail = await client('auditor').request(CaseDetailDocument, { id: caseId });
  expect(detail.case).toMatchObject({
    id: caseId,
    status: 'RESOLVED',
    documents: [{ id: documentId, status: 'GENERATED' }],
  });
  // Seeding happens on first start only.
  const page = await client('service').request(TemplatesDocument);
  expect(page.templates).toHaveLength(17);
}, 180_000);
