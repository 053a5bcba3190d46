import { sql } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * The first flow through the in-process gateway: a regulated document is
 * reviewed, approved and signed off by three different people, then
 * generated with the version it was approved with and delivered, while
 * subscribers watch every step resolved across the three subgraphs.
 */
let t: TestGateway;
let requester: string;
let reviewer: string;
let approver: string;
let compliance: string;
let watcher: string;
/** Reads trails: their detail is personal data the service role does not see. */
let auditor: string;

beforeAll(async () => {
  t = await startTestGateway();
  requester = await t.token('rita.requester', 'requester');
  reviewer = await t.token('rob.reviewer', 'reviewer');
  approver = await t.token('ann.approver', 'approver');
  compliance = await t.token('carl.compliance', 'compliance');
  watcher = await t.token('status-stream', 'service');
  auditor = await t.token('audrey.auditor', 'auditor');
});
afterAll(() => t.stop());

const START = /* GraphQL */ `
  mutation Start($input: StartCaseInput!) {
    startCase(input: $input) {
      id
      kind
      status
      templateVersionId
      channel
      approvals {
        id
        stage
        decision
        task {
          role
          team
          dueAt
          status
        }
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
      decidedAt
      comment
    }
  }
`;
const CASE = /* GraphQL */ `
  query Case($id: ID!) {
    case(id: $id) {
      id
      status
      title
      assignedTeam
      customer {
        id
        name
      }
      approvals {
        stage
        decision
        decidedBy
      }
      documents {
        id
        status
        channel
        contentHash
        templateVersion {
          id
          version
          status
        }
        deliveries {
          channel
          status
          attempts
        }
      }
      exceptions {
        id
        kind
      }
      history {
        actor
        action
        detail
      }
    }
  }
`;

const sampleData = (templateId: string) => SEED_TEMPLATES.find((x) => x.id === templateId)!.sampleData;

type Approval = { id: string; stage: string; decision: string };
type Started = {
  startCase: {
    id: string;
    status: string;
    templateVersionId: string;
    channel: string;
    approvals: (Approval & { task: { role: string } })[];
  };
};

async function start(
  customerId = 'cus_004',
  templateId = 'tpl_billing_notice',
  extra: Record<string, unknown> = {},
) {
  const r = await t.gql<Started>(
    START,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: 'Billing notice',
        customerId,
        templateId,
        channel: 'PRINT',
        data: { ...sampleData(templateId), ...extra },
      },
    },
    requester,
  );
  expect(r.errors).toBeUndefined();
  return r.data!.startCase;
}

async function decide(approvalId: string, token: string, decision = 'APPROVED', comment = 'ok') {
  return t.gql<{ decideApproval: Approval & { decidedBy: string } }>(
    DECIDE,
    { input: { approvalId, decision, comment } },
    token,
  );
}

async function caseState(id: string) {
  const r = await t.gql<{
    case: Record<string, unknown> & {
      status: string;
      documents: Array<Record<string, unknown>>;
      history: Array<{ action: string; actor: string }>;
    };
  }>(CASE, { id }, auditor);
  expect(r.errors).toBeUndefined();
  return r.data!.case;
}

test('a regulated document goes through review, approval and compliance, then is generated and delivered', async () => {
  const started = await start();
  expect(started.status).toBe('AWAITING_APPROVAL');
  expect(started.approvals.map((a) => [a.stage, a.decision, a.task.role])).toEqual([
    ['REVIEW', 'PENDING', 'reviewer'],
    ['APPROVAL', 'PENDING', 'approver'],
    ['COMPLIANCE', 'PENDING', 'compliance'],
  ]);

  const deliveries = await subscribe<{
    deliveryStatusChanged: {
      eventId: string;
      delivery: { status: string };
      document: { customer: { name: string }; case: { id: string; status: string } };
    };
  }>(
    t.url,
    watcher,
    `subscription D($caseId: ID, $after: ID) { deliveryStatusChanged(caseId: $caseId, after: $after) { eventId delivery { status channel } document { id customer { name } case { id status } } } }`,
    { caseId: started.id, after: await t.cursor('deliveryStatusChanged') },
  );
  const updates = await subscribe<{
    caseUpdated: {
      id: string;
      status: string;
      approvals: { decision: string }[];
      history: { action: string }[];
    };
  }>(
    t.url,
    watcher,
    `subscription C($caseId: ID, $after: ID) { caseUpdated(caseId: $caseId, after: $after) { id status approvals { decision } history { action } } }`,
    { caseId: started.id, after: await t.cursor('caseUpdated') },
  );

  const [review, approval, comp] = started.approvals;
  expect((await decide(review!.id, reviewer)).errors).toBeUndefined();
  expect((await decide(approval!.id, approver)).errors).toBeUndefined();
  const last = await decide(comp!.id, compliance, 'APPROVED', 'Disclosures present');
  expect(last.data?.decideApproval).toMatchObject({
    stage: 'COMPLIANCE',
    decision: 'APPROVED',
    decidedBy: 'carl.compliance',
    comment: 'Disclosures present',
  });

  const steps = await deliveries.waitFor((r) =>
    r.some((e) => e.deliveryStatusChanged.delivery.status === 'DELIVERED'),
  );
  expect(steps.map((e) => e.deliveryStatusChanged.delivery.status)).toEqual(['PENDING', 'SENT', 'DELIVERED']);
  for (const e of steps) {
    expect(e.deliveryStatusChanged.document.customer.name).toBe('Zoë Ångström');
    expect(e.deliveryStatusChanged.document.case.id).toBe(started.id);
  }
  const ids = steps.map((e) => BigInt(e.deliveryStatusChanged.eventId));
  expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);

  await updates.waitFor((r) => r.some((e) => e.caseUpdated.status === 'RESOLVED'));
  // Each event shows the case as it was at that event: one event per decision, each with
  // the decisions made so far, then the approved case on its way to RESOLVED.
  expect(
    updates.received
      .slice(0, 3)
      .map((e) => [e.caseUpdated.status, e.caseUpdated.approvals.map((a) => a.decision)]),
  ).toEqual([
    ['AWAITING_APPROVAL', ['APPROVED', 'PENDING', 'PENDING']],
    ['AWAITING_APPROVAL', ['APPROVED', 'APPROVED', 'PENDING']],
    ['APPROVED', ['APPROVED', 'APPROVED', 'APPROVED']],
  ]);
  const LIFECYCLE = ['OPEN', 'AWAITING_APPROVAL', 'APPROVED', 'IN_PROGRESS', 'RESOLVED'];
  const seen = updates.received.map((e) => LIFECYCLE.indexOf(e.caseUpdated.status));
  expect(seen.every((x) => x >= 0)).toBe(true);
  expect(seen).toEqual([...seen].sort((a, b) => a - b));
  expect(updates.received.at(-1)!.caseUpdated.status).toBe('RESOLVED');
  // The last shows all three decisions and the generation in the trail.
  const lastUpdate = updates.received.at(-1)!.caseUpdated;
  expect(lastUpdate.approvals.map((a) => a.decision)).toEqual(['APPROVED', 'APPROVED', 'APPROVED']);
  expect(lastUpdate.history.map((h) => h.action)).toContain('DOCUMENT_GENERATED');
  // The first event is the review decision's: by then at least that stage is decided.
  expect(updates.received[0]!.caseUpdated.approvals[0]!.decision).toBe('APPROVED');
  await deliveries.close();
  await updates.close();

  const c = await caseState(started.id);
  expect(c.status).toBe('RESOLVED');
  expect(c.documents).toHaveLength(1);
  const doc = c.documents[0] as {
    status: string;
    contentHash: string;
    templateVersion: { id: string };
    deliveries: Array<{ status: string }>;
  };
  expect(doc.status).toBe('GENERATED');
  expect(doc.contentHash).toMatch(/^[0-9a-f]{64}$/);
  expect(doc.templateVersion.id).toBe(started.templateVersionId);
  expect(doc.deliveries).toEqual([{ channel: 'PRINT', status: 'DELIVERED', attempts: 1 }]);
  expect(c.history.map((h) => [h.actor, h.action])).toEqual(
    expect.arrayContaining([
      ['rita.requester', 'CASE_STARTED'],
      ['rob.reviewer', 'APPROVAL_APPROVED'],
      ['ann.approver', 'APPROVAL_APPROVED'],
      ['carl.compliance', 'APPROVAL_APPROVED'],
      ['carl.compliance', 'STATUS_APPROVED'],
      ['system', 'DOCUMENT_GENERATED'],
    ]),
  );
});

test('generation uses the version the case was approved with, not one approved later', async () => {
  const started = await start();
  // A newer version of the template gets approved while the case is in review.
  const db = t.gateway.store!.db;
  await sql`insert into communications.template_versions (id, template_id, version, status, content, data_schema, content_hash, approved_by, approved_at, created_by)
    select 'tpl_billing_notice_v9', template_id, 9, 'APPROVED', content, data_schema, 'changed', 'someone', now(), 'author'
    from communications.template_versions where id = ${started.templateVersionId}`.execute(db);
  try {
    for (const [a, tok] of started.approvals.map(
      (a, i) => [a, [reviewer, approver, compliance][i]!] as const,
    )) {
      expect((await decide(a.id, tok)).errors).toBeUndefined();
    }
    await t.settle();
    const c = await caseState(started.id);
    const doc = c.documents[0] as { templateVersion: { id: string; version: number } };
    expect(doc.templateVersion).toMatchObject({ id: started.templateVersionId, version: 1 });
  } finally {
    await sql`delete from communications.documents where template_version_id = 'tpl_billing_notice_v9'`.execute(
      db,
    );
    await sql`delete from communications.template_versions where id = 'tpl_billing_notice_v9'`.execute(db);
  }
});

test('a rejection ends the case REJECTED with nothing generated', async () => {
  const started = await start();
  await decide(started.approvals[0]!.id, reviewer);
  const r = await decide(started.approvals[1]!.id, approver, 'REJECTED', 'Wrong amounts');
  expect(r.data?.decideApproval.decision).toBe('REJECTED');
  await t.settle();
  const c = await caseState(started.id);
  expect(c.status).toBe('REJECTED');
  expect(c.documents).toEqual([]);
  // Nothing more can be decided.
  const after = await decide(started.approvals[2]!.id, compliance);
  expect(after.errors?.[0]?.extensions?.code).toBe('CONFLICT');
});

describe('the rules of the contract, each leaving the case unchanged', () => {
  let started: Started['startCase'];
  beforeAll(async () => {
    started = await start();
  });
  const unchanged = async () => {
    const c = await caseState(started.id);
    expect(c.status).toBe('AWAITING_APPROVAL');
    return c;
  };

  test('stages are decided in order', async () => {
    const r = await decide(started.approvals[1]!.id, approver);
    expect(r.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(r.data).toBeNull();
    const c = await unchanged();
    expect((c.approvals as Approval[]).every((a) => a.decision === 'PENDING')).toBe(true);
  });

  test('the starter cannot decide, whatever roles they hold', async () => {
    const both = await t.token('rita.requester', 'requester', 'reviewer');
    const r = await decide(started.approvals[0]!.id, both);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await unchanged();
  });

  test('a wrong role is FORBIDDEN and no token is UNAUTHENTICATED', async () => {
    expect((await decide(started.approvals[0]!.id, approver)).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    const anon = await t.gql(DECIDE, {
      input: { approvalId: started.approvals[0]!.id, decision: 'APPROVED' },
    });
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await unchanged();
  });

  test('unknown ids are NOT_FOUND and malformed input is BAD_USER_INPUT', async () => {
    expect((await decide('apr_nope', reviewer)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await decide(started.approvals[0]!.id, reviewer, 'PENDING')).errors?.[0]?.extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
    expect((await decide(started.approvals[0]!.id, reviewer, 'MAYBE')).errors?.[0]?.extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
    const noTitle = await t.gql(
      START,
      {
        input: {
          kind: 'REGULATED_DOCUMENT',
          title: ' ',
          customerId: 'cus_004',
          templateId: 'tpl_billing_notice',
        },
      },
      requester,
    );
    expect(noTitle.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const noCustomer = await t.gql(
      START,
      {
        input: {
          kind: 'REGULATED_DOCUMENT',
          title: 'x',
          customerId: 'cus_nope',
          templateId: 'tpl_billing_notice',
        },
      },
      requester,
    );
    expect(noCustomer.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    await unchanged();
  });

  test('one person decides at most one stage, and a stage is decided once', async () => {
    const twoHats = await t.token('sam.both', 'reviewer', 'approver');
    expect((await decide(started.approvals[0]!.id, twoHats)).errors).toBeUndefined();
    const again = await decide(started.approvals[0]!.id, reviewer);
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const second = await decide(started.approvals[1]!.id, twoHats);
    expect(second.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const c = await unchanged();
    expect(
      (c.approvals as Array<Approval & { decidedBy: string | null }>).map((a) => [a.decision, a.decidedBy]),
    ).toEqual([
      ['APPROVED', 'sam.both'],
      ['PENDING', null],
      ['PENDING', null],
    ]);
  });
});

test('a signed-off case whose data is incomplete fails, is worked by operations, and records the outcome on both cases', async () => {
  const { accountNumber } = sampleData('tpl_account_statement') as { accountNumber: string };
  const r = await t.gql<Started>(
    START,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: 'Statement with gaps',
        customerId: 'cus_001',
        templateId: 'tpl_account_statement',
        channel: 'PRINT',
        data: { accountNumber },
      },
    },
    requester,
  );
  const started = r.data!.startCase;
  for (const [a, tok] of started.approvals.map(
    (a, i) => [a, [reviewer, approver, compliance][i]!] as const,
  )) {
    expect((await decide(a.id, tok)).errors).toBeUndefined();
  }
  await t.settle();
  const failed = await caseState(started.id);
  expect(failed.status).toBe('IN_PROGRESS');
  const exceptions = failed.exceptions as { id: string; kind: string }[];
  expect(exceptions).toHaveLength(1);
  expect(exceptions[0]!.kind).toBe('MISSING_DATA');
  expect(failed.history.map((h) => h.action)).toEqual(
    expect.arrayContaining(['GENERATION_FAILED', 'EXCEPTION_RAISED']),
  );

  // In a list, the source case and the exception case load in one batch: both show the exception.
  const list = await t.gql<{
    cases: { edges: { node: { id: string; kind: string; exceptions: { id: string }[] } }[] };
  }>(`{ cases(first: 100) { edges { node { id kind exceptions { id } } } } }`, {}, watcher);
  const holders = list.data!.cases.edges.filter((e) =>
    e.node.exceptions.some((x) => x.id === exceptions[0]!.id),
  );
  expect(holders.map((e) => e.node.kind).sort()).toEqual(['GENERATION_EXCEPTION', 'REGULATED_DOCUMENT']);

  const ops = await t.token('olga.ops', 'operations');
  const resolved = await t.gql<{ resolveException: { status: string; retryDocument: { status: string } } }>(
    `mutation ($input: ResolveExceptionInput!) { resolveException(input: $input) { status retryDocument { status } } }`,
    {
      input: {
        exceptionId: exceptions[0]!.id,
        resolution: 'Period and balance from the ledger',
        regenerate: true,
        data: sampleData('tpl_account_statement'),
      },
    },
    ops,
  );
  expect(resolved.data?.resolveException).toEqual({
    status: 'RESOLVED',
    retryDocument: { status: 'GENERATED' },
  });
  await t.settle();
  const after = await caseState(started.id);
  expect(after.status).toBe('RESOLVED');
  expect(after.documents.map((d) => d.status)).toEqual(['FAILED', 'GENERATED']);
  expect(after.history.map((h) => [h.actor, h.action])).toEqual(
    expect.arrayContaining([['olga.ops', 'DOCUMENT_REGENERATED']]),
  );
});
