import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEED_TEMPLATES } from '../../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../../support/harness.js';
import { DEMO_CLIENT, DEMO_DOMAIN, seedDemo } from '../../support/opentext/demo.js';
import { startOpenTextFake, type OpenTextFake } from '../../support/opentext/server.js';
import { createWorkflowFake, type WorkflowFake } from '../../support/opentext/workflow/fake.js';
import { mountWorkflowFake } from '../../support/opentext/workflow/mount.js';
import { subscribe } from '../../support/ws.js';
import { GENERATE_PATH } from './connected.js';
import { noticeResolved, signOffNotice } from './notices.js';

/**
 * The README tour with both connectors on (GENERATION_BACKEND=exstream, WORKFLOW_BACKEND=otws),
 * through one gateway, against the OpenText fake (OTDS, Exstream, Workflow Service): every case
 * is a Workflow Service process, every decision a claimed and completed task, every document
 * Exstream's. The store is fresh (an empty data directory) and the demo data is seeded on start,
 * as on a first `npm start` in connected mode.
 */
let fake: OpenTextFake;
let wf: WorkflowFake;
let t: TestGateway;
let requester: string;
let reviewer: string;
let approver: string;
let compliance: string;
let auditor: string;
let agent: string;
let svc: string;
/** An empty data directory: a fresh store, not the harness's seeded template. */
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-both-'));
  wf = createWorkflowFake();
  fake = await startOpenTextFake({ workflow: mountWorkflowFake(wf) });
  seedDemo(fake);
  t = await startTestGateway({
    ...fake.settings(DEMO_CLIENT, DEMO_DOMAIN),
    DATA_DIR: dataDir,
    SEED_DEMO: 'true',
  });
  requester = await t.token('rita.requester', 'requester');
  reviewer = await t.token('rob.reviewer', 'reviewer');
  approver = await t.token('ann.approver', 'approver');
  compliance = await t.token('carl.compliance', 'compliance');
  auditor = await t.token('audrey.auditor', 'auditor');
  agent = await t.token('dana.agent', 'service-agent');
  svc = await t.token('svc', 'service');
}, 180_000);
afterAll(async () => {
  await t?.stop();
  await fake?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData as Record<string, unknown>;

const START = `mutation ($input: StartCaseInput!) { startCase(input: $input) { id status approvals { id stage decision } } }`;
const DECIDE = `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { stage decision decidedBy } }`;
const CASE = `query ($id: ID!) { case(id: $id) {
  kind status
  approvals { id stage decision decidedBy }
  documents { id status channel contentHash reissueOf { id } templateVersion { template { id documentType } } deliveries { status } }
  history { actor action detail }
} }`;
type CaseView = {
  kind: string;
  status: string;
  approvals: { id: string; stage: string; decision: string; decidedBy: string | null }[];
  documents: {
    id: string;
    status: string;
    channel: string;
    contentHash: string | null;
    reissueOf: { id: string } | null;
    templateVersion: { template: { id: string; documentType: string } };
    deliveries: { status: string }[];
  }[];
  history: { actor: string; action: string; detail: Record<string, unknown> | null }[];
};
type Started = { id: string; status: string; approvals: { id: string; stage: string; decision: string }[] };

async function caseView(id: string): Promise<CaseView> {
  const r = await t.gql<{ case: CaseView }>(CASE, { id }, auditor);
  expect(r.errors).toBeUndefined();
  return r.data!.case;
}

async function start(input: Record<string, unknown>, token: string): Promise<Started> {
  const r = await t.gql<{ startCase: Started }>(START, { input }, token);
  expect(r.errors).toBeUndefined();
  return r.data!.startCase;
}

const decide = (approvalId: string, token: string, decision = 'APPROVED') =>
  t.gql<{ decideApproval: { stage: string; decision: string; decidedBy: string } }>(
    DECIDE,
    { input: { approvalId, decision, comment: 'Reconciled.' } },
    token,
  );

/** The task claims and completions Workflow Service received (POST /tasks/{id}). */
const taskActions = () =>
  wf.hooks.requests.filter((r) => r.method === 'POST' && /^\/tasks\/[^/]+$/.test(r.path)).length;

const statement = () => ({
  kind: 'REGULATED_DOCUMENT',
  title: 'February statement for Łukasz Żółć',
  customerId: 'cus_001',
  templateId: 'tpl_account_statement',
  channel: 'PRINT',
  data: sample('tpl_account_statement'),
});

test('a first start on a fresh store seeds the demo data in connected mode', async () => {
  // The demo's templates keep their document types: the default correspondence rule knows them.
  const tpl = await t.gql<{ template: { documentType: string } }>(
    `query { template(id: "tpl_claim_letter") { documentType } }`,
    {},
    auditor,
  );
  expect(tpl.data!.template.documentType).toBe('claim_letter');
  const r = await t.gql<{ cases: { edges: { node: { title: string; kind: string } }[] } }>(
    `query { cases(first: 100) { edges { node { title kind } } } }`,
    {},
    auditor,
  );
  expect(r.errors).toBeUndefined();
  const seeded = r.data!.cases.edges.map((e) => [e.node.kind, e.node.title]);
  expect(seeded).toEqual(
    expect.arrayContaining([
      ['CORRESPONDENCE', 'Claim decision letter'],
      ['DISPUTE', 'Disputed card payment'],
      ['MANDATORY_NOTICE', 'Savings rate change, May'],
    ]),
  );
  // Each of them is a Workflow Service process.
  const claimLetter = (
    await t.gql<{ cases: { edges: { node: { id: string } }[] } }>(
      `query { cases(first: 100, kind: CORRESPONDENCE) { edges { node { id } } } }`,
      {},
      auditor,
    )
  ).data!.cases.edges[0]!.node.id;
  // Starting the process is the connector's work after the case commits.
  await t.settle();
  expect(wf.hooks.instancesByBusinessKey(claimLetter)).toHaveLength(1);
}, 60_000);

test('the first flow: three decisions through Workflow Service, a document made by Exstream, delivered', async () => {
  const started = await start(statement(), requester);
  expect(started.status).toBe('AWAITING_APPROVAL');
  expect(started.approvals.map((a) => a.stage)).toEqual(['REVIEW', 'APPROVAL', 'COMPLIANCE']);
  await t.settle();
  expect(wf.hooks.instancesByBusinessKey(started.id)).toHaveLength(1);
  const deliveries = await subscribe<{ deliveryStatusChanged: { delivery: { status: string } } }>(
    t.url,
    svc,
    `subscription ($caseId: ID, $after: ID) { deliveryStatusChanged(caseId: $caseId, after: $after) { delivery { status } } }`,
    { caseId: started.id, after: await t.cursor('deliveryStatusChanged') },
  );
  const generatedBefore = fake.served(GENERATE_PATH, 'POST');
  for (const [i, who] of [reviewer, approver, compliance].entries()) {
    const r = await decide(started.approvals[i]!.id, who);
    expect(r.errors).toBeUndefined();
  }
  const steps = await deliveries.waitFor((r) =>
    r.some((e) => e.deliveryStatusChanged.delivery.status === 'DELIVERED'),
  );
  await deliveries.close();
  expect(steps.map((e) => e.deliveryStatusChanged.delivery.status)).toEqual(['PENDING', 'SENT', 'DELIVERED']);
  await t.settle();

  const c = await caseView(started.id);
  expect(c.status).toBe('RESOLVED');
  expect(c.approvals.map((a) => [a.stage, a.decision, a.decidedBy])).toEqual([
    ['REVIEW', 'APPROVED', 'rob.reviewer'],
    ['APPROVAL', 'APPROVED', 'ann.approver'],
    ['COMPLIANCE', 'APPROVED', 'carl.compliance'],
  ]);
  expect(c.documents).toHaveLength(1);
  expect(c.documents[0]).toMatchObject({
    status: 'GENERATED',
    channel: 'PRINT',
    deliveries: [{ status: 'DELIVERED' }],
  });
  expect(fake.served(GENERATE_PATH, 'POST') - generatedBefore).toBe(1);
  // The trail has the tour's entries, and the process's tasks as Workflow Service recorded them.
  const actions = c.history.map((h) => h.action);
  for (const a of ['CASE_STARTED', 'STATUS_APPROVED', 'DOCUMENT_GENERATED', 'STATUS_RESOLVED']) {
    expect(actions).toContain(a);
  }
  expect(actions.filter((a) => a === 'APPROVAL_APPROVED')).toHaveLength(3);
  expect(
    c.history.filter((h) => h.action === 'WORKFLOW_TASK_COMPLETED').map((h) => [h.actor, h.detail?.outcome]),
  ).toEqual([
    ['rob.reviewer', 'approved'],
    ['ann.approver', 'approved'],
    ['carl.compliance', 'approved'],
  ]);
  expect(wf.hooks.openTasks(started.id)).toEqual([]);
}, 120_000);

test('four-eyes refusals answer as the tour says, change nothing, and none reaches Workflow Service', async () => {
  const refused = async (approvalId: string, token: string, code: string, message: string) => {
    const before = taskActions();
    const r = await decide(approvalId, token);
    expect(r.errors?.[0]?.extensions?.code).toBe(code);
    expect(r.errors?.[0]?.message).toContain(message);
    expect(taskActions()).toBe(before);
  };
  const c = await start(statement(), requester);
  const [review, approval] = c.approvals;
  await refused(review!.id, requester, 'FORBIDDEN', 'Requires one of the roles');
  await refused(review!.id, approver, 'FORBIDDEN', 'Deciding the REVIEW stage needs the reviewer role');
  await refused(approval!.id, approver, 'CONFLICT', 'Stage REVIEW must be approved before APPROVAL');
  expect((await decide(review!.id, reviewer)).errors).toBeUndefined();
  await refused(review!.id, reviewer, 'CONFLICT', 'The REVIEW stage was already decided');

  const both = await t.token('sam.starter', 'requester', 'reviewer');
  const own = await start(statement(), both);
  await refused(own.approvals[0]!.id, both, 'FORBIDDEN', 'the person who started a case cannot decide');

  const twoHats = await t.token('tom.twohats', 'reviewer', 'approver');
  const other = await start(statement(), requester);
  expect((await decide(other.approvals[0]!.id, twoHats)).errors).toBeUndefined();
  await refused(other.approvals[1]!.id, twoHats, 'FORBIDDEN', 'one person decides at most one stage');

  const rejected = await start(statement(), requester);
  expect((await decide(rejected.approvals[0]!.id, reviewer, 'REJECTED')).errors).toBeUndefined();
  await refused(rejected.approvals[1]!.id, approver, 'CONFLICT', 'REJECTED, not awaiting approval');

  // Refused decisions changed nothing: the stages stand as the accepted decisions left them.
  expect((await caseView(c.id)).approvals.map((a) => a.decision)).toEqual(['APPROVED', 'PENDING', 'PENDING']);
  expect((await caseView(own.id)).approvals.map((a) => a.decision)).toEqual([
    'PENDING',
    'PENDING',
    'PENDING',
  ]);
  expect((await caseView(other.id)).approvals.map((a) => [a.decision, a.decidedBy])).toEqual([
    ['APPROVED', 'tom.twohats'],
    ['PENDING', null],
    ['PENDING', null],
  ]);
  expect((await caseView(rejected.id)).status).toBe('REJECTED');
  // The open task in Workflow Service is still the one the refused decision was for, unclaimed.
  expect(wf.hooks.openTasks(other.id).map((x) => x.assignee)).toEqual([null]);
}, 120_000);

test('ad hoc correspondence: one approval stage, then generated on the preferred channel', async () => {
  const c = await start(
    {
      kind: 'CORRESPONDENCE',
      title: 'Claim decision letter',
      customerId: 'cus_001',
      templateId: 'tpl_claim_letter',
      data: sample('tpl_claim_letter'),
    },
    agent,
  );
  expect(c.approvals.map((a) => a.stage)).toEqual(['APPROVAL']);
  expect((await decide(c.approvals[0]!.id, approver)).errors).toBeUndefined();
  await t.settle();
  const v = await caseView(c.id);
  expect(v.status).toBe('RESOLVED');
  expect(v.documents.map((d) => [d.templateVersion.template.id, d.status, d.channel])).toEqual([
    ['tpl_claim_letter', 'GENERATED', 'EMAIL'],
  ]);
  expect(wf.hooks.openTasks(c.id)).toEqual([]);
}, 120_000);

test('a dispute: acknowledgement letter at once, final response after an approver signs it off', async () => {
  const data = Object.assign(
    {},
    ...['tpl_dispute_acknowledgement', 'tpl_dispute_interim_update', 'tpl_dispute_final_response'].map(
      sample,
    ),
  ) as Record<string, unknown>;
  const c = await start(
    { kind: 'DISPUTE', title: 'Card payment dispute', customerId: 'cus_002', data },
    agent,
  );
  const LETTER = `mutation ($input: SendDisputeLetterInput!) { sendDisputeLetter(input: $input) { id status } }`;
  const ack = await t.gql<{ sendDisputeLetter: { status: string } }>(
    LETTER,
    { input: { caseId: c.id, letter: 'ACKNOWLEDGEMENT' } },
    agent,
  );
  expect(ack.errors).toBeUndefined();
  expect(ack.data!.sendDisputeLetter.status).toBe('IN_PROGRESS');
  const final = await t.gql<{ sendDisputeLetter: { status: string } }>(
    LETTER,
    { input: { caseId: c.id, letter: 'FINAL_RESPONSE', data: { outcome: 'UPHELD' } } },
    agent,
  );
  expect(final.data!.sendDisputeLetter.status).toBe('AWAITING_APPROVAL');
  await t.settle();
  expect(wf.hooks.openTasks(c.id).map((x) => x.elementId)).toEqual(['final_response']);
  // The agent who logged it does not sign it off, even holding the approver role; nothing reaches Workflow Service.
  const approvalId = (await caseView(c.id)).approvals[0]!.id;
  const before = taskActions();
  const self = await decide(approvalId, await t.token('dana.agent', 'service-agent', 'approver'));
  expect(self.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(taskActions()).toBe(before);
  expect((await decide(approvalId, approver)).errors).toBeUndefined();
  await t.settle();

  const v = await caseView(c.id);
  expect(v.status).toBe('RESOLVED');
  expect(
    v.documents.map((d) => [
      d.templateVersion.template.documentType,
      d.status,
      d.deliveries.map((x) => x.status).join(),
    ]),
  ).toEqual([
    ['dispute_acknowledgement', 'GENERATED', 'DELIVERED'],
    ['dispute_final_response', 'GENERATED', 'DELIVERED'],
  ]);
  expect(
    v.history.filter((h) => h.action === 'WORKFLOW_TASK_COMPLETED').map((h) => [h.actor, h.detail?.taskKey]),
  ).toEqual([['ann.approver', 'final_response']]);
  expect(wf.hooks.openTasks(c.id)).toEqual([]);
}, 120_000);

test('a reissue: a second agent authorises it in Workflow Service; the exact prior version comes again from Exstream', async () => {
  const r = await t.gql<{ generateDocument: { id: string; status: string; contentHash: string } }>(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id status contentHash } }`,
    {
      input: {
        customerId: 'cus_004',
        templateId: 'tpl_account_statement',
        channel: 'PRINT',
        data: sample('tpl_account_statement'),
      },
    },
    svc,
  );
  expect(r.data!.generateDocument.status).toBe('GENERATED');
  const original = r.data!.generateDocument;
  const amy = await t.token('amy.agent', 'service-agent');
  const ben = await t.token('ben.agent', 'service-agent');
  const opened = await t.gql<{ reissueDocument: { id: string } }>(
    `mutation ($input: ReissueDocumentInput!) { reissueDocument(input: $input) { id } }`,
    { input: { documentId: original.id, reason: 'Customer lost the original' } },
    amy,
  );
  expect(opened.errors).toBeUndefined();
  const caseId = opened.data!.reissueDocument.id;
  const AUTHORISE = `mutation ($input: AuthoriseReissueInput!) { authoriseReissue(input: $input) { status } }`;
  const input = {
    caseId,
    requestedBy: 'the account holder',
    identityVerification: 'ONE_TIME_PASSCODE',
    entitled: true,
  };
  const before = taskActions();
  expect((await t.gql(AUTHORISE, { input }, amy)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(taskActions()).toBe(before);
  const generatedBefore = fake.served(GENERATE_PATH, 'POST');
  expect((await t.gql(AUTHORISE, { input }, ben)).errors).toBeUndefined();
  await t.settle();

  const v = await caseView(caseId);
  expect(v.status).toBe('RESOLVED');
  expect(v.documents).toHaveLength(1);
  expect(v.documents[0]).toMatchObject({
    status: 'GENERATED',
    reissueOf: { id: original.id },
    contentHash: original.contentHash,
  });
  expect(fake.served(GENERATE_PATH, 'POST') - generatedBefore).toBe(1);
  expect(v.history.filter((h) => h.action === 'WORKFLOW_TASK_COMPLETED').map((h) => h.actor)).toEqual([
    'ben.agent',
  ]);
  expect(wf.hooks.openTasks(caseId)).toEqual([]);
}, 120_000);

test('a mandatory notice: signed off through Workflow Service, a batch through Exstream, and its report', async () => {
  const before = fake.served(GENERATE_PATH, 'POST');
  const caseId = await signOffNotice(t, 'Savings rate change, June', ['premium'], ['EMAIL']);
  await t.settle();
  const report = await noticeResolved(t, caseId);
  expect(report.noticeBatch).toMatchObject({ status: 'COMPLETED', failed: 0, deliveryFailed: 0 });
  const total = report.noticeBatch!.total;
  expect(total).toBeGreaterThan(0);
  expect(report.noticeBatch).toMatchObject({ generated: total, delivered: total });
  expect(report.noticeBatch!.counts).toEqual([
    { channel: 'EMAIL', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: total },
  ]);
  // One on-demand call per record reached Exstream.
  expect(fake.served(GENERATE_PATH, 'POST') - before).toBe(total);
  expect(report.history.filter((h) => h.action === 'WORKFLOW_TASK_COMPLETED').map((h) => h.actor)).toEqual([
    'rob.reviewer',
    'ann.approver',
    'carl.compliance',
  ]);
  const csv = await fetch(new URL(`/reports/notices/${caseId}.csv`, t.url), {
    headers: { authorization: `Bearer ${compliance}` },
  });
  expect(csv.status).toBe(200);
  expect(await csv.text()).toContain(`count,EMAIL/GENERATED/DELIVERED,${total}`);
}, 300_000);

test('a milestone sends its communication once through Exstream', async () => {
  const c = await start(
    {
      kind: 'SERVICE',
      title: 'Water damage claim',
      customerId: 'cus_001',
      data: { ...sample('tpl_claim_intake'), ...sample('tpl_payment_confirmation') },
    },
    agent,
  );
  const REPORT = `mutation ($input: ReportMilestoneInput!) { reportMilestone(input: $input) { id status } }`;
  const before = fake.served(GENERATE_PATH, 'POST');
  const first = await t.gql<{ reportMilestone: { status: string } }>(
    REPORT,
    { input: { caseId: c.id, milestone: 'CLAIM_INTAKE' } },
    svc,
  );
  expect(first.errors).toBeUndefined();
  expect(first.data!.reportMilestone.status).toBe('IN_PROGRESS');
  expect(
    (await t.gql(REPORT, { input: { caseId: c.id, milestone: 'CLAIM_INTAKE' } }, agent)).errors,
  ).toBeUndefined();
  await t.settle();
  const v = await t.gql<{
    case: { milestones: { milestone: string; document: { status: string; channel: string } | null }[] };
  }>(
    `query ($id: ID!) { case(id: $id) { milestones { milestone document { status channel } } } }`,
    { id: c.id },
    auditor,
  );
  expect(v.errors).toBeUndefined();
  expect(v.data!.case.milestones).toEqual([
    { milestone: 'CLAIM_INTAKE', document: { status: 'GENERATED', channel: 'EMAIL' } },
  ]);
  expect(fake.served(GENERATE_PATH, 'POST') - before).toBe(1);
  const docs = (await caseView(c.id)).documents;
  expect(docs.map((d) => [d.templateVersion.template.id, d.deliveries.map((x) => x.status).join()])).toEqual([
    ['tpl_claim_intake', 'DELIVERED'],
  ]);
}, 120_000);
