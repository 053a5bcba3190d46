import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { DEMO_CLIENT, DEMO_DOMAIN, seedDemo } from '../support/opentext/demo.js';
import { startOpenTextFake, type OpenTextFake } from '../support/opentext/server.js';
import { createWorkflowFake, type WorkflowFake } from '../support/opentext/workflow/fake.js';
import { mountWorkflowFake } from '../support/opentext/workflow/mount.js';

/**
 * WORKFLOW_BACKEND=otws against the Workflow Service fake (mounted in the OpenText fake behind its
 * OTDS token layer, on port 0): a case is a process, each stage a task; decisions check the graph's
 * rules, then claim and complete the task, then are recorded. Generation stays embedded.
 */
let fake: OpenTextFake;
let wf: WorkflowFake;
let t: TestGateway;
let requester: string;
let reviewer: string;
let approver: string;
let compliance: string;
let auditor: string;

beforeAll(async () => {
  wf = createWorkflowFake();
  fake = await startOpenTextFake({ workflow: mountWorkflowFake(wf) });
  seedDemo(fake);
  t = await startTestGateway({
    ...fake.settings(DEMO_CLIENT, DEMO_DOMAIN),
    GENERATION_BACKEND: 'embedded',
    OPENTEXT_TIMEOUT_MS: '5000',
    OPENTEXT_MAX_ATTEMPTS: '2',
    OPENTEXT_BACKOFF_MS: '1',
    OPENTEXT_BACKOFF_MAX_MS: '5',
    OPENTEXT_BREAKER_THRESHOLD: '5',
    OPENTEXT_BREAKER_HALF_OPEN_MS: '50',
  });
  requester = await t.token('rita.requester', 'requester');
  reviewer = await t.token('rob.reviewer', 'reviewer');
  approver = await t.token('ann.approver', 'approver');
  compliance = await t.token('carl.compliance', 'compliance');
  auditor = await t.token('audrey.auditor', 'auditor');
}, 180_000);
// A test that failed half-way must not leave its injected outage to the next one.
afterEach(() => wf.hooks.clearFaults());
afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

const START = /* GraphQL */ `
  mutation Start($input: StartCaseInput!) {
    startCase(input: $input) {
      id
      status
      approvals {
        id
        stage
        decision
      }
    }
  }
`;
const DECIDE = /* GraphQL */ `
  mutation Decide($input: DecideApprovalInput!) {
    decideApproval(input: $input) {
      id
      stage
      decision
      decidedBy
    }
  }
`;
const CASE = /* GraphQL */ `
  query Case($id: ID!) {
    case(id: $id) {
      id
      status
      approvals {
        stage
        decision
        decidedBy
      }
      documents {
        status
      }
      history {
        actor
        action
        detail
      }
    }
  }
`;

type Approval = { id: string; stage: string; decision: string };
type CaseView = {
  id: string;
  status: string;
  approvals: { stage: string; decision: string; decidedBy: string | null }[];
  documents: { status: string }[];
  history: { actor: string; action: string; detail: Record<string, unknown> | null }[];
};

const sample = SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData;

async function start(token = requester) {
  const r = await t.gql<{ startCase: { id: string; status: string; approvals: Approval[] } }>(
    START,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: 'Billing notice',
        customerId: 'cus_004',
        templateId: 'tpl_billing_notice',
        channel: 'PRINT',
        data: sample,
      },
    },
    token,
  );
  expect(r.errors).toBeUndefined();
  return r.data!.startCase;
}

const decide = (approvalId: string, token: string, decision = 'APPROVED', comment = 'ok') =>
  t.gql<{ decideApproval: Approval & { decidedBy: string } }>(
    DECIDE,
    { input: { approvalId, decision, comment } },
    token,
  );

async function caseView(id: string): Promise<CaseView> {
  const r = await t.gql<{ case: CaseView }>(CASE, { id }, auditor);
  expect(r.errors).toBeUndefined();
  return r.data!.case;
}

/** The task claims and completions the fake received (POST /tasks/{id}). */
const taskActions = () =>
  wf.hooks.requests.filter((r) => r.method === 'POST' && /^\/tasks\/[^/]+$/.test(r.path));

test('the first flow: the case is a process, each decision completes its task, then the document is generated', async () => {
  const started = await start();
  await t.settle();
  const instances = wf.hooks.instancesByBusinessKey(started.id);
  expect(instances).toHaveLength(1);
  expect(wf.hooks.openTasks(started.id).map((x) => x.elementId)).toEqual(['review']);

  const [review, approval, signOff] = started.approvals;
  for (const [a, token, who] of [
    [review!, reviewer, 'rob.reviewer'],
    [approval!, approver, 'ann.approver'],
    [signOff!, compliance, 'carl.compliance'],
  ] as const) {
    const r = await decide(a.id, token, 'APPROVED', `${a.stage} fine`);
    expect(r.errors).toBeUndefined();
    expect(r.data!.decideApproval).toMatchObject({ decision: 'APPROVED', decidedBy: who });
  }
  await t.settle();
  // The process ran to its end in Workflow Service; no second instance was started.
  expect(wf.hooks.instancesByBusinessKey(started.id)).toHaveLength(1);
  expect(wf.hooks.openTasks(started.id)).toEqual([]);

  const c = await caseView(started.id);
  expect(c.status).toBe('RESOLVED');
  expect(c.documents.map((d) => d.status)).toEqual(['GENERATED']);
  // The process's task history is part of the case's history: who, outcome, comment.
  const tasks = c.history.filter((h) => h.action === 'WORKFLOW_TASK_COMPLETED');
  expect(tasks.map((h) => [h.actor, h.detail?.taskKey, h.detail?.outcome])).toEqual([
    ['rob.reviewer', 'review', 'approved'],
    ['ann.approver', 'approval', 'approved'],
    ['carl.compliance', 'compliance', 'approved'],
  ]);
  expect(tasks[2]!.detail?.comment).toBe('COMPLIANCE fine');
});

test('a four-eyes refusal never reaches Workflow Service', async () => {
  const both = await t.token('rita.both', 'requester', 'reviewer');
  const started = await start(both);
  await t.settle();
  const before = taskActions().length;
  const r = await decide(started.approvals[0]!.id, both);
  expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(r.errors?.[0]?.message).toMatch(/Four-eyes/);
  expect(taskActions().length).toBe(before);
  expect(wf.hooks.openTasks(started.id).map((x) => [x.elementId, x.assignee])).toEqual([['review', null]]);
});

test('a task claimed by someone else in OpenText answers CONFLICT and changes nothing', async () => {
  const started = await start();
  await t.settle();
  wf.hooks.claimAsUser({
    businessKey: started.id,
    taskKey: 'review',
    user: 'olga.opentext',
    groups: ['commsgraph-reviewers'],
  });
  const r = await decide(started.approvals[0]!.id, reviewer);
  expect(r.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  expect(r.errors?.[0]?.extensions?.reason).toBe('TASK_ALREADY_CLAIMED');
  const c = await caseView(started.id);
  expect(c.status).toBe('AWAITING_APPROVAL');
  expect(c.approvals.map((a) => a.decision)).toEqual(['PENDING', 'PENDING', 'PENDING']);
  expect(c.history.map((h) => h.action)).not.toContain('APPROVAL_APPROVED');
  expect(wf.hooks.openTasks(started.id).map((x) => x.assignee)).toEqual(['olga.opentext']);
});

test('an outage during a decision answers UPSTREAM_UNAVAILABLE and changes nothing; after recovery it succeeds once', async () => {
  const started = await start();
  await t.settle();
  const stop = wf.hooks.fault({ kind: '503', method: 'POST', path: /^\/tasks\/[^/]+$/ });
  const failed = await decide(started.approvals[0]!.id, reviewer);
  expect(failed.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
  let c = await caseView(started.id);
  expect(c.approvals.map((a) => a.decision)).toEqual(['PENDING', 'PENDING', 'PENDING']);
  expect(c.history.map((h) => h.action)).not.toContain('APPROVAL_APPROVED');
  expect(wf.hooks.openTasks(started.id).map((x) => x.elementId)).toEqual(['review']);

  stop();
  const ok = await decide(started.approvals[0]!.id, reviewer);
  expect(ok.errors).toBeUndefined();
  expect(ok.data!.decideApproval).toMatchObject({
    stage: 'REVIEW',
    decision: 'APPROVED',
    decidedBy: 'rob.reviewer',
  });
  const again = await decide(started.approvals[0]!.id, reviewer);
  expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  c = await caseView(started.id);
  expect(c.history.filter((h) => h.action === 'APPROVAL_APPROVED')).toHaveLength(1);
  expect(wf.hooks.openTasks(started.id).map((x) => x.elementId)).toEqual(['approval']);
});

test('a reissue is authorised through its authorise_reissue task; the asker cannot authorise it', async () => {
  const svc = await t.token('svc', 'service');
  const agentA = await t.token('sam.agent', 'service-agent');
  const agentB = await t.token('tess.agent', 'service-agent');
  const gen = await t.gql<{ generateDocument: { id: string; status: string } }>(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id status } }`,
    {
      input: {
        customerId: 'cus_004',
        templateId: 'tpl_account_statement',
        channel: 'PRINT',
        data: SEED_TEMPLATES.find((x) => x.id === 'tpl_account_statement')!.sampleData,
      },
    },
    svc,
  );
  expect(gen.errors).toBeUndefined();
  const opened = await t.gql<{ reissueDocument: { id: string } }>(
    `mutation ($input: ReissueDocumentInput!) { reissueDocument(input: $input) { id } }`,
    { input: { documentId: gen.data!.generateDocument.id, reason: 'Lost in the post' } },
    agentA,
  );
  expect(opened.errors).toBeUndefined();
  const caseId = opened.data!.reissueDocument.id;
  await t.settle();
  expect(wf.hooks.openTasks(caseId).map((x) => x.elementId)).toEqual(['authorise_reissue']);

  const AUTHORISE = `mutation ($input: AuthoriseReissueInput!) { authoriseReissue(input: $input) { id status } }`;
  const input = {
    caseId,
    requestedBy: 'the customer',
    identityVerification: 'ONE_TIME_PASSCODE',
    entitled: true,
  };
  const before = taskActions().length;
  const self = await t.gql(AUTHORISE, { input }, agentA);
  expect(self.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(taskActions().length).toBe(before);

  const ok = await t.gql<{ authoriseReissue: { status: string } }>(AUTHORISE, { input }, agentB);
  expect(ok.errors).toBeUndefined();
  await t.settle();
  expect(wf.hooks.openTasks(caseId)).toEqual([]);
  const c = await caseView(caseId);
  expect(c.status).toBe('RESOLVED');
  expect(
    c.history
      .filter((h) => h.action === 'WORKFLOW_TASK_COMPLETED')
      .map((h) => [h.actor, h.detail?.taskKey, h.detail?.outcome]),
  ).toEqual([['tess.agent', 'authorise_reissue', 'approved']]);
});

test('assigning an exception case claims its work_exception task for the assignee', async () => {
  const svc = await t.token('svc', 'service');
  const ops = await t.token('olga.ops', 'operations');
  // cus_003's email address bounces in the demo data: the delivery fails and an exception case opens.
  const gen = await t.gql(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }`,
    {
      input: {
        customerId: 'cus_003',
        templateId: 'tpl_account_confirmation',
        channel: 'EMAIL',
        data: SEED_TEMPLATES.find((x) => x.id === 'tpl_account_confirmation')!.sampleData,
      },
    },
    svc,
  );
  expect(gen.errors).toBeUndefined();
  await t.settle();
  const list = await t.gql<{ cases: { edges: { node: { id: string } }[] } }>(
    `{ cases(kind: GENERATION_EXCEPTION, status: OPEN, customerId: "cus_003", first: 1) { edges { node { id } } } }`,
    {},
    ops,
  );
  expect(list.errors).toBeUndefined();
  const caseId = list.data!.cases.edges[0]!.node.id;
  expect(wf.hooks.openTasks(caseId).map((x) => [x.elementId, x.assignee])).toEqual([
    ['work_exception', null],
  ]);

  const assigned = await t.gql<{ assignCase: { status: string; assignee: string } }>(
    `mutation ($input: AssignCaseInput!) { assignCase(input: $input) { status assignee } }`,
    { input: { caseId, assignee: 'olga.ops' } },
    ops,
  );
  expect(assigned.errors).toBeUndefined();
  expect(assigned.data!.assignCase).toEqual({ status: 'IN_PROGRESS', assignee: 'olga.ops' });
  expect(wf.hooks.openTasks(caseId).map((x) => [x.elementId, x.assignee])).toEqual([
    ['work_exception', 'olga.ops'],
  ]);
});

test("a dispute's final response is signed off through final_response; a rejection leaves the task open for the rework", async () => {
  const agent = await t.token('dana.agent', 'service-agent');
  const al = await t.token('al.approver', 'approver');
  const data = Object.assign(
    {},
    ...['tpl_dispute_acknowledgement', 'tpl_dispute_interim_update', 'tpl_dispute_final_response'].map(
      (id) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData,
    ),
  ) as Record<string, unknown>;
  const started = await t.gql<{ startCase: { id: string } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
    { input: { kind: 'DISPUTE', title: 'Card payment dispute', customerId: 'cus_002', data } },
    agent,
  );
  expect(started.errors).toBeUndefined();
  const id = started.data!.startCase.id;
  const LETTER = `mutation ($input: SendDisputeLetterInput!) { sendDisputeLetter(input: $input) { id status } }`;
  expect(
    (await t.gql(LETTER, { input: { caseId: id, letter: 'ACKNOWLEDGEMENT' } }, agent)).errors,
  ).toBeUndefined();
  const final = { input: { caseId: id, letter: 'FINAL_RESPONSE', data: { outcome: 'UPHELD' } } };
  expect((await t.gql(LETTER, final, agent)).errors).toBeUndefined();
  await t.settle();
  expect(wf.hooks.openTasks(id).map((x) => x.elementId)).toEqual(['final_response']);

  const approvalId = (await caseViewWithIds(id)).approvals[0]!.id;
  const rejected = await decide(approvalId, approver, 'REJECTED', 'Cite the chargeback rule');
  expect(rejected.errors).toBeUndefined();
  expect((await caseView(id)).status).toBe('IN_PROGRESS');
  expect(wf.hooks.openTasks(id).map((x) => [x.elementId, x.assignee])).toEqual([['final_response', null]]);

  expect((await t.gql(LETTER, final, agent)).errors).toBeUndefined();
  const approved = await decide(approvalId, al, 'APPROVED', 'Good to go');
  expect(approved.errors).toBeUndefined();
  await t.settle();
  expect(wf.hooks.openTasks(id)).toEqual([]);
  const c = await caseView(id);
  expect(c.status).toBe('RESOLVED');
  expect(
    c.history
      .filter((h) => h.action === 'WORKFLOW_TASK_COMPLETED')
      .map((h) => [h.actor, h.detail?.taskKey, h.detail?.outcome]),
  ).toEqual([['al.approver', 'final_response', 'approved']]);
});

async function caseViewWithIds(id: string) {
  const r = await t.gql<{ case: { approvals: { id: string }[] } }>(
    `query ($id: ID!) { case(id: $id) { approvals { id } } }`,
    { id },
    auditor,
  );
  expect(r.errors).toBeUndefined();
  return r.data!.case;
}
