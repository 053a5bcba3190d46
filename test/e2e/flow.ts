import fs from 'node:fs';
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
import { npmToken } from './server.js';

/**
 * The foundation's first flow, as a user runs it over HTTP and graphql-ws,
 * shared by the product started with `npm start` (first-flow.e2e) and the
 * cluster topology (cluster.e2e): the same steps and the same assertions,
 * whatever runs behind the URLs.
 */
export interface FlowTarget {
  /** Where queries and mutations go. */
  url: string;
  /** Where the graphql-ws subscribers connect: the same URL, or another gateway replica. */
  subscriberUrl: string;
  /** The DATA_DIR the tokens are minted from (`npm run token`). */
  dataDir: string;
  /** Where the embedded email channel writes its messages. */
  emailOutbox: string;
  tokens: Record<string, string>;
}

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;

/** One token per role the flow uses, from `npm run token` as the README says. */
export async function flowTokens(dataDir: string): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const [who, roles] of Object.entries({
    requester: ['requester'],
    reviewer: ['reviewer'],
    approver: ['approver'],
    compliance: ['compliance'],
    service: ['service'],
    ops: ['operations'],
    // Reads trails and document links: personal data the service role does not see.
    auditor: ['auditor'],
    norole: [] as string[],
  })) {
    tokens[who] = await npmToken(dataDir, `e2e.${who}`, roles);
  }
  return tokens;
}

export const flowClient = (t: FlowTarget, who: string) =>
  new GraphQLClient(t.url, { headers: { authorization: `Bearer ${t.tokens[who]}` } });

export async function servesHealthAndExplorer(t: FlowTarget): Promise<void> {
  const base = t.url.replace('/graphql', '');
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  // The API explorer: GraphiQL, bundled into the build and served from this origin (explorer.e2e drives it in Chromium).
  const page = await fetch(t.url, { headers: { accept: 'text/html' } });
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  const script = /<script type="module" src="([^"]+)"/.exec(await page.text())?.[1];
  expect(script).toMatch(/^graphql\/explorer\/explorer-\w+\.js$/);
  const js = await fetch(new URL(script!, t.url));
  expect(js.status).toBe(200);
  expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  const templates = await flowClient(t, 'service').request(TemplatesDocument);
  expect(templates.templates.length).toBeGreaterThanOrEqual(12);
  expect(templates.templates.every((x) => x.approvedVersion?.status === 'APPROVED')).toBe(true);
}

/** Start, three approvals, generation and delivery, watched over graphql-ws; then a generation failure. */
export async function firstFlow(t: FlowTarget): Promise<{ caseId: string; documentId: string }> {
  const client = (who: string) => flowClient(t, who);
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
  const caseId = started.startCase.id;
  expect(started.startCase.status).toBe('AWAITING_APPROVAL');

  const deliveries = await subscribe<DeliveryStatusChangedSubscription>(
    t.subscriberUrl,
    t.tokens.service!,
    `subscription ($caseId: ID, $after: ID) { deliveryStatusChanged(caseId: $caseId, after: $after) { eventId delivery { status channel } document { id customer { name } case { id status } } } }`,
    // From the first event on: the case is new, so that is every event of it, whenever the
    // server registers the subscription.
    { caseId, after: '0' },
  );
  const exceptions = await subscribe<GenerationExceptionRaisedSubscription>(
    t.subscriberUrl,
    t.tokens.service!,
    `subscription ($after: ID) { generationExceptionRaised(after: $after) { id kind document { id } case { id assignedTeam } } }`,
    // Earlier exceptions are replayed too; the flow looks for its own by document.
    { after: '0' },
  );

  // Four-eyes over the real server: the starter may not review their own case.
  const selfReview = await npmToken(t.dataDir, 'e2e.requester', ['requester', 'reviewer']);
  await expect(
    new GraphQLClient(t.url, { headers: { authorization: `Bearer ${selfReview}` } }).request(
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
  // The events themselves when they are not the three expected: their ids tell one event received
  // twice from one committed twice.
  if (steps.length !== 3) throw new Error(`delivery events received: ${JSON.stringify(steps)}`);
  expect(steps.map((e) => e.deliveryStatusChanged.delivery.status)).toEqual(['PENDING', 'SENT', 'DELIVERED']);
  expect(steps[2]!.deliveryStatusChanged.document.customer?.name).toBe('Ștefan Ionescu');
  expect(steps[2]!.deliveryStatusChanged.document.case?.id).toBe(caseId);
  // Each event is resolved afresh across subgraphs: by delivery the case has moved on from APPROVED.
  expect(steps[2]!.deliveryStatusChanged.document.case?.status).toBe('RESOLVED');
  const documentId = steps[0]!.deliveryStatusChanged.document.id;

  const detail = await client('auditor').request(CaseDetailDocument, { id: caseId });
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
  expect(fs.readdirSync(t.emailOutbox).some((f) => f.endsWith('.eml'))).toBe(true);

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
  return { caseId, documentId };
}

export async function rejectionGeneratesNothing(t: FlowTarget): Promise<void> {
  const client = (who: string) => flowClient(t, who);
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
  const detail = await client('auditor').request(CaseDetailDocument, { id: started.startCase.id });
  expect(detail.case).toMatchObject({ status: 'REJECTED', documents: [] });
}

export async function wsRefusesBadTokens(t: FlowTarget): Promise<void> {
  const closeCode = (params: Record<string, unknown>) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(t.subscriberUrl.replace('http', 'ws'), 'graphql-transport-ws');
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: params })));
      ws.on('close', (code) => resolve(code));
    });
  expect(await closeCode({})).toBe(4401);
  expect(await closeCode({ authorization: 'Bearer not.a.token' })).toBe(4401);
  expect(await closeCode({ authorization: `Bearer ${t.tokens.norole}` })).toBe(4403);
}
