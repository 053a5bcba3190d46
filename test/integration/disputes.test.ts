import { sql } from 'kysely';
import { addBusinessDays } from '../../src/datasources/workflow/disputes.js';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * Flow 4, complaints and disputes: a response policy with deadlines, letters
 * at acknowledgement, interim update and final response (the last signed
 * off by an approver), deadline alerts, and the whole communication trail in
 * one query.
 */
let t: TestGateway;
let agent: string;
let approver: string;
let svc: string;
/** Reads trails: their detail is personal data the service role does not see. */
let auditor: string;

beforeAll(async () => {
  t = await startTestGateway({
    DISPUTE_POLICY: JSON.stringify({
      acknowledgeWithinBusinessDays: 3,
      finalResponseWithinBusinessDays: 15,
      warnBusinessDaysBefore: 2,
    }),
  });
  agent = await t.token('dana.agent', 'service-agent');
  approver = await t.token('ann.approver', 'approver');
  svc = await t.token('svc', 'service');
  auditor = await t.token('audrey.auditor', 'auditor');
});
afterAll(() => t.stop());

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;
const TRAIL = `query ($id: ID!) { case(id: $id) {
  status
  deadlines { kind dueAt metAt state }
  approvals { id stage decision decidedBy }
  documents { id status channel templateVersion { template { documentType } } deliveries { status } }
  history { actor action detail }
} }`;
type Trail = {
  case: {
    status: string;
    deadlines: { kind: string; dueAt: string; metAt: string | null; state: string }[];
    approvals: { id: string; stage: string; decision: string; decidedBy: string | null }[];
    documents: {
      id: string;
      status: string;
      channel: string;
      templateVersion: { template: { documentType: string } };
      deliveries: { status: string }[];
    }[];
    history: { actor: string; action: string; detail: Record<string, unknown> }[];
  };
};
const LETTER = `mutation ($input: SendDisputeLetterInput!) { sendDisputeLetter(input: $input) { id status } }`;

async function trail(id: string) {
  const r = await t.gql<Trail>(TRAIL, { id }, auditor);
  expect(r.errors).toBeUndefined();
  return r.data!.case;
}

test('a dispute is acknowledged, updated, answered after sign-off, and its trail reads in one query', async () => {
  const started = await t.gql<{ startCase: { id: string; status: string; createdAt: string } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id status createdAt } }`,
    {
      input: {
        kind: 'DISPUTE',
        title: 'Card payment dispute',
        customerId: 'cus_002',
        data: {
          ...sample('tpl_dispute_acknowledgement'),
          ...sample('tpl_dispute_interim_update'),
          ...sample('tpl_dispute_final_response'),
        },
      },
    },
    agent,
  );
  expect(started.errors).toBeUndefined();
  const id = started.data!.startCase.id;
  let c = await trail(id);
  expect(c.status).toBe('OPEN');
  const created = new Date(started.data!.startCase.createdAt);
  expect(c.deadlines.map((d) => [d.kind, d.state])).toEqual([
    ['ACKNOWLEDGEMENT', 'PENDING'],
    ['FINAL_RESPONSE', 'PENDING'],
  ]);
  // The policy's business days: 3 to acknowledge, 15 to answer (weekends do not count).
  expect(Math.abs(Date.parse(c.deadlines[0]!.dueAt) - addBusinessDays(created, 3).getTime())).toBeLessThan(
    1000,
  );
  expect(Math.abs(Date.parse(c.deadlines[1]!.dueAt) - addBusinessDays(created, 15).getTime())).toBeLessThan(
    1000,
  );

  // The final response cannot come before the acknowledgement.
  expect(
    (await t.gql(LETTER, { input: { caseId: id, letter: 'FINAL_RESPONSE' } }, agent)).errors?.[0]?.extensions
      ?.code,
  ).toBe('CONFLICT');
  expect((await t.gql(LETTER, { input: { caseId: id, letter: 'ACKNOWLEDGEMENT' } }, agent)).data).toEqual({
    sendDisputeLetter: { id, status: 'IN_PROGRESS' },
  });
  expect(
    (await t.gql(LETTER, { input: { caseId: id, letter: 'ACKNOWLEDGEMENT' } }, agent)).errors?.[0]?.extensions
      ?.code,
  ).toBe('CONFLICT');
  await t.gql(
    LETTER,
    {
      input: {
        caseId: id,
        letter: 'INTERIM_UPDATE',
        data: { progressSummary: 'We asked the merchant for evidence.' },
      },
    },
    agent,
  );
  await t.settle();
  c = await trail(id);
  expect(c.deadlines.find((d) => d.kind === 'ACKNOWLEDGEMENT')!.state).toBe('MET');

  // The final response waits for an approver; the agent who logged the dispute cannot sign it off.
  expect(
    (
      await t.gql(
        LETTER,
        { input: { caseId: id, letter: 'FINAL_RESPONSE', data: { outcome: 'UPHELD' } } },
        agent,
      )
    ).data,
  ).toEqual({
    sendDisputeLetter: { id, status: 'AWAITING_APPROVAL' },
  });
  c = await trail(id);
  const approval = c.approvals[0]!;
  const DECIDE = `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { decision } }`;
  const selfSign = await t.token('dana.agent', 'service-agent', 'approver');
  expect(
    (await t.gql(DECIDE, { input: { approvalId: approval.id, decision: 'APPROVED' } }, selfSign)).errors?.[0]
      ?.extensions?.code,
  ).toBe('FORBIDDEN');
  // Rejected once: back to work, nothing sent; resubmitted and approved: sent, case resolved.
  await t.gql(
    DECIDE,
    { input: { approvalId: approval.id, decision: 'REJECTED', comment: 'Cite the chargeback rule' } },
    approver,
  );
  expect((await trail(id)).status).toBe('IN_PROGRESS');
  await t.gql(
    LETTER,
    { input: { caseId: id, letter: 'FINAL_RESPONSE', data: { outcome: 'UPHELD' } } },
    agent,
  );
  const approver2 = await t.token('al.approver', 'approver');
  expect(
    (await t.gql(DECIDE, { input: { approvalId: approval.id, decision: 'APPROVED' } }, approver2)).errors,
  ).toBeUndefined();
  await t.settle();

  c = await trail(id);
  expect(c.status).toBe('RESOLVED');
  expect(c.deadlines.map((d) => d.state)).toEqual(['MET', 'MET']);
  expect(
    c.documents.map((d) => [
      d.templateVersion.template.documentType,
      d.status,
      d.deliveries.map((x) => x.status).join(),
    ]),
  ).toEqual([
    ['dispute_acknowledgement', 'GENERATED', 'DELIVERED'],
    ['dispute_interim_update', 'GENERATED', 'DELIVERED'],
    ['dispute_final_response', 'GENERATED', 'DELIVERED'],
  ]);
  const actions = c.history.map((h) => h.action);
  expect(actions).toEqual(
    expect.arrayContaining([
      'LETTER_REQUESTED',
      'LETTER_SENT',
      'FINAL_RESPONSE_SUBMITTED',
      'APPROVAL_REJECTED',
      'APPROVAL_APPROVED',
      'STATUS_RESOLVED',
    ]),
  );
  expect(c.history.filter((h) => h.action === 'LETTER_SENT').map((h) => h.detail.letter)).toEqual([
    'ACKNOWLEDGEMENT',
    'INTERIM_UPDATE',
    'FINAL_RESPONSE',
  ]);
});

test('deadlines coming due or missed raise one alert each, to subscribers and on the case', async () => {
  const started = await t.gql<{ startCase: { id: string } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
    {
      input: {
        kind: 'DISPUTE',
        title: 'Billing complaint',
        customerId: 'cus_004',
        data: sample('tpl_dispute_acknowledgement'),
      },
    },
    agent,
  );
  const id = started.data!.startCase.id;
  const after = await t.cursor('deadlineAlerted');
  const alerts = await subscribe<{
    deadlineAlerted: {
      eventId: string;
      level: string;
      deadline: { kind: string; state: string };
      case: { id: string; title: string };
    };
  }>(
    t.url,
    svc,
    `subscription ($caseId: ID, $after: ID) { deadlineAlerted(caseId: $caseId, after: $after) { eventId level deadline { kind state } case { id title } } }`,
    { caseId: id, after },
  );
  const db = t.gateway.store!.db;
  // Time passes: the acknowledgement was due an hour ago; the final response is due in an hour.
  await sql`update workflow.case_deadlines set due_at = now() - interval '1 hour' where case_id = ${id} and kind = 'ACKNOWLEDGEMENT'`.execute(
    db,
  );
  await sql`update workflow.case_deadlines set due_at = now() + interval '1 hour' where case_id = ${id} and kind = 'FINAL_RESPONSE'`.execute(
    db,
  );
  await t.settle();
  // Each deadline alerts once per level, however often the check runs: exactly the two the
  // table holds for this case arrive, each once.
  await t.settle();
  const alerted = await t.eventIds('deadlineAlerted', after, { caseId: id });
  expect(alerted).toHaveLength(2);
  const got = await alerts.waitFor((r) => r.length >= alerted.length);
  await alerts.close();
  expect(got.map((a) => a.deadlineAlerted.eventId)).toEqual(alerted);
  expect(got.map((a) => [a.deadlineAlerted.deadline.kind, a.deadlineAlerted.level]).sort()).toEqual([
    ['ACKNOWLEDGEMENT', 'BREACHED'],
    ['FINAL_RESPONSE', 'DUE_SOON'],
  ]);
  expect(got[0]!.deadlineAlerted.case).toEqual({ id, title: 'Billing complaint' });
  const c = await trail(id);
  expect(c.deadlines.map((d) => [d.kind, d.state])).toEqual([
    ['ACKNOWLEDGEMENT', 'BREACHED'],
    ['FINAL_RESPONSE', 'DUE_SOON'],
  ]);
  expect(c.history.map((h) => h.action)).toEqual(
    expect.arrayContaining(['DEADLINE_BREACHED', 'DEADLINE_DUE_SOON']),
  );
});

test('disputes are checked: roles, letters for other kinds of case', async () => {
  const requester = await t.token('rita', 'requester');
  expect(
    (await t.gql(LETTER, { input: { caseId: 'case_nope', letter: 'ACKNOWLEDGEMENT' } }, agent)).errors?.[0]
      ?.extensions?.code,
  ).toBe('NOT_FOUND');
  expect(
    (await t.gql(LETTER, { input: { caseId: 'case_nope', letter: 'ACKNOWLEDGEMENT' } }, requester))
      .errors?.[0]?.extensions?.code,
  ).toBe('FORBIDDEN');
  const cases = await t.gql<{ cases: { edges: { node: { id: string } }[] } }>(
    `{ cases(kind: REGULATED_DOCUMENT, first: 1) { edges { node { id } } } }`,
    {},
    svc,
  );
  expect(
    (
      await t.gql(
        LETTER,
        { input: { caseId: cases.data!.cases.edges[0]!.node.id, letter: 'ACKNOWLEDGEMENT' } },
        agent,
      )
    ).errors?.[0]?.extensions?.code,
  ).toBe('BAD_USER_INPUT');
});
