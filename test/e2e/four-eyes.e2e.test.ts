import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { nodeStart, npmToken, subgraphStart, type RunningProduct } from './server.js';

/**
 * Four-eyes cannot be bypassed through any entry point: the gateway, a direct
 * call to the subgraph service that owns the rule, generateDocument naming a
 * case, the internal (@inaccessible) operations, template approval and
 * reissue. Each subgraph runs as its own service here, as in production, so a
 * caller who reaches a subgraph's URL directly is held to the same rules.
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
const urls: Record<'workflow' | 'customers' | 'communications', string> = {
  workflow: '',
  customers: '',
  communications: '',
};

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-four-eyes-'));
  const ports = { workflow: await freePort(), customers: await freePort(), communications: await freePort() };
  const SUBGRAPH_URLS = Object.entries(ports)
    .map(([n, p]) => `${n}=http://127.0.0.1:${p}/graphql`)
    .join(',');
  for (const [n, p] of Object.entries(ports)) urls[n as keyof typeof urls] = `http://127.0.0.1:${p}/graphql`;
  const env = { SUBGRAPH_URLS, RATE_LIMIT_PER_MINUTE: '0' };
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

const token = (sub: string, ...roles: string[]) => npmToken(dataDir, sub, roles);

interface Result<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function call<T>(
  url: string,
  bearer: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Result<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Result<T>;
}
const codeOf = (r: Result<unknown>) => r.errors?.[0]?.extensions?.code;

const START = `mutation ($input: StartCaseInput!) { startCase(input: $input) { id status approvals { id stage } } }`;
const DECIDE = `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { decision } }`;
const CASE = `query ($id: ID!) { case(id: $id) { status approvals { stage decision } documents { id } } }`;

async function regulatedCase(requester: string) {
  const r = await call<{ startCase: { id: string; approvals: { id: string; stage: string }[] } }>(
    gateway.url,
    requester,
    START,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: 'Four-eyes statement',
        customerId: 'cus_001',
        templateId: 'tpl_account_statement',
        channel: 'PRINT',
        data: sample('tpl_account_statement'),
      },
    },
  );
  expect(r.errors).toBeUndefined();
  return r.data!.startCase;
}

test('the starter cannot decide, through the gateway or directly on the workflow service', async () => {
  // The starter also holds the reviewer role: the role would allow it, the rule does not.
  const rita = await token('rita.starter', 'requester', 'reviewer');
  const c = await regulatedCase(rita);
  const review = c.approvals.find((a) => a.stage === 'REVIEW')!;
  for (const url of [gateway.url, urls.workflow]) {
    const r = await call(url, rita, DECIDE, { input: { approvalId: review.id, decision: 'APPROVED' } });
    expect(codeOf(r)).toBe('FORBIDDEN');
  }
  const state = await call<{ case: { approvals: { decision: string }[] } }>(gateway.url, rita, CASE, {
    id: c.id,
  });
  expect(state.data!.case.approvals.map((a) => a.decision)).toEqual(['PENDING', 'PENDING', 'PENDING']);
});

test('one person decides one stage only, on the workflow service as through the gateway', async () => {
  const c = await regulatedCase(await token('rita.requester', 'requester'));
  const [review, approval] = c.approvals;
  const sam = await token('sam.twohats', 'reviewer', 'approver');
  expect(
    (await call(urls.workflow, sam, DECIDE, { input: { approvalId: review!.id, decision: 'APPROVED' } }))
      .errors,
  ).toBeUndefined();
  const again = await call(urls.workflow, sam, DECIDE, {
    input: { approvalId: approval!.id, decision: 'APPROVED' },
  });
  expect(codeOf(again)).toBe('FORBIDDEN');
});

test('generateDocument naming a case that is not signed off generates nothing', async () => {
  const c = await regulatedCase(await token('rita.requester', 'requester'));
  const svc = await token('billing.service', 'service');
  const GENERATE = `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id status } }`;
  const input = {
    customerId: 'cus_001',
    templateId: 'tpl_account_statement',
    channel: 'PRINT',
    data: sample('tpl_account_statement'),
    caseId: c.id,
  };
  for (const url of [gateway.url, urls.communications]) {
    expect(codeOf(await call(url, svc, GENERATE, { input }))).toBe('APPROVAL_REQUIRED');
  }
  const state = await call<{ case: { documents: unknown[] } }>(gateway.url, svc, CASE, { id: c.id });
  expect(state.data!.case.documents).toEqual([]);
});

test("the internal operations that carry workflow's sign-off refuse any caller but our own services", async () => {
  const c = await regulatedCase(await token('rita.requester', 'requester'));
  const version = await call<{ template: { approvedVersion: { id: string } } }>(
    gateway.url,
    await token('x.admin', 'admin'),
    `{ template(id: "tpl_account_statement") { approvedVersion { id } } }`,
  );
  const GENERATE_FOR_CASE = `mutation ($input: GenerateForCaseInput!) { generateForCase(input: $input) { id } }`;
  const input = {
    caseId: c.id,
    customerId: 'cus_001',
    templateVersionId: version.data!.template.approvedVersion.id,
    channel: 'PRINT',
    data: sample('tpl_account_statement'),
    requestedBy: 'rita.requester',
    idempotencyKey: `bypass-${c.id}`,
  };
  // Not in the client API at all…
  expect(codeOf(await call(gateway.url, await token('rogue', 'service'), GENERATE_FOR_CASE, { input }))).toBe(
    'BAD_USER_INPUT',
  );
  // …and on the subgraph service, a machine client with the service role is not one of our processes.
  for (const roles of [['service'], ['admin', 'compliance', 'service']]) {
    const r = await call(urls.communications, await token('rogue.client', ...roles), GENERATE_FOR_CASE, {
      input,
    });
    expect(codeOf(r)).toBe('FORBIDDEN');
  }
  const OPEN = `mutation { openExceptionCase(input: { exceptionId: "exc_forged", kind: "MISSING_DATA", message: "x" }) { id } }`;
  expect(codeOf(await call(urls.workflow, await token('rogue.client', 'service'), OPEN))).toBe('FORBIDDEN');
  const state = await call<{ case: { documents: unknown[] } }>(
    gateway.url,
    await token('a', 'auditor'),
    CASE,
    {
      id: c.id,
    },
  );
  expect(state.data!.case.documents).toEqual([]);
});

test('a template author cannot approve their own version, through the gateway or on the communications service', async () => {
  const tina = await token('tina.author', 'admin', 'approver', 'compliance');
  const edit = await call<{ editTemplate: { id: string } }>(
    gateway.url,
    tina,
    `mutation ($input: EditTemplateInput!) { editTemplate(input: $input) { id } }`,
    { input: { templateId: 'tpl_claim_letter', comment: 'New wording' } },
  );
  expect(edit.errors).toBeUndefined();
  const submitted = await call<{ submitTemplateVersion: { approvals: { id: string; stage: string }[] } }>(
    gateway.url,
    tina,
    `mutation ($input: TemplateVersionActionInput!) { submitTemplateVersion(input: $input) { approvals { id stage } } }`,
    { input: { versionId: edit.data!.editTemplate.id } },
  );
  expect(submitted.errors).toBeUndefined();
  const DECIDE_TEMPLATE = `mutation ($input: DecideTemplateApprovalInput!) { decideTemplateApproval(input: $input) { decision } }`;
  const [approvalStage, complianceStage] = submitted.data!.submitTemplateVersion.approvals;
  expect([approvalStage!.stage, complianceStage!.stage]).toEqual(['APPROVAL', 'COMPLIANCE']);
  // The author may not decide the first stage; once someone else has, not the second either.
  for (const url of [gateway.url, urls.communications]) {
    const r = await call(url, tina, DECIDE_TEMPLATE, {
      input: { approvalId: approvalStage!.id, decision: 'APPROVED' },
    });
    expect(codeOf(r)).toBe('FORBIDDEN');
  }
  const ann = await token('ann.approver', 'approver');
  const decided = await call(gateway.url, ann, DECIDE_TEMPLATE, {
    input: { approvalId: approvalStage!.id, decision: 'APPROVED' },
  });
  expect(decided.errors).toBeUndefined();
  for (const approval of [complianceStage!]) {
    for (const url of [gateway.url, urls.communications]) {
      const r = await call(url, tina, DECIDE_TEMPLATE, {
        input: { approvalId: approval.id, decision: 'APPROVED' },
      });
      expect(codeOf(r)).toBe('FORBIDDEN');
    }
  }
});

test('whoever asked for a reissue cannot authorise it, on the workflow service as through the gateway', async () => {
  const admin = await token('x.admin', 'admin');
  const generated = await call<{ generateDocument: { id: string; status: string } }>(
    gateway.url,
    await token('billing.service', 'service'),
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id status } }`,
    {
      input: {
        customerId: 'cus_001',
        templateId: 'tpl_account_statement',
        channel: 'PRINT',
        data: sample('tpl_account_statement'),
      },
    },
  );
  expect(generated.data?.generateDocument.status).toBe('GENERATED');
  const doc = generated.data!.generateDocument;
  const amy = await token('amy.agent', 'service-agent');
  const opened = await call<{ reissueDocument: { id: string } }>(
    gateway.url,
    amy,
    `mutation ($input: ReissueDocumentInput!) { reissueDocument(input: $input) { id } }`,
    { input: { documentId: doc.id, reason: 'Lost in the post' } },
  );
  expect(opened.errors).toBeUndefined();
  const AUTHORISE = `mutation ($input: AuthoriseReissueInput!) { authoriseReissue(input: $input) { status } }`;
  const input = {
    caseId: opened.data!.reissueDocument.id,
    entitled: true,
    identityVerification: 'DOCUMENT_CHECK',
    requestedBy: 'the customer',
  };
  for (const url of [gateway.url, urls.workflow]) {
    expect(codeOf(await call(url, amy, AUTHORISE, { input }))).toBe('FORBIDDEN');
  }
  const state = await call<{ case: { documents: unknown[] } }>(gateway.url, admin, CASE, {
    id: opened.data!.reissueDocument.id,
  });
  expect(state.data!.case.documents).toEqual([]);
});
