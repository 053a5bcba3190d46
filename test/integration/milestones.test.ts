import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * Flow 7, milestone communications: a SERVICE case moves through its
 * milestones; each sends the communication the mapping names for it,
 * tailored by customer profile, on the preferred channel; a milestone
 * reported twice sends nothing twice.
 */
let t: TestGateway;
let agent: string;
let svc: string;

beforeAll(async () => {
  t = await startTestGateway();
  agent = await t.token('sam.agent', 'service-agent');
  svc = await t.token('claims-system', 'service');
});
afterAll(() => t.stop());

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;
const START = `mutation ($input: StartCaseInput!) { startCase(input: $input) { id kind status channel } }`;
const REPORT = `mutation ($input: ReportMilestoneInput!) { reportMilestone(input: $input) { id status } }`;
const CASE = `query ($id: ID!) { case(id: $id) {
  status
  milestones { milestone reportedBy templateId document { id status channel templateVersion { id } } }
  documents { id channel status }
  history { actor action detail }
} }`;
type View = {
  case: {
    status: string;
    milestones: {
      milestone: string;
      reportedBy: string;
      templateId: string | null;
      document: { id: string; status: string; channel: string } | null;
    }[];
    documents: { id: string; channel: string; status: string }[];
    history: { actor: string; action: string; detail: Record<string, unknown> }[];
  };
};

async function startClaim(customerId: string) {
  const r = await t.gql<{ startCase: { id: string; kind: string; status: string; channel: string } }>(
    START,
    {
      input: {
        kind: 'SERVICE',
        title: 'Water damage claim',
        customerId,
        data: { ...sample('tpl_claim_intake'), ...sample('tpl_payment_confirmation') },
      },
    },
    agent,
  );
  expect(r.errors).toBeUndefined();
  return r.data!.startCase;
}

test('each milestone sends its communication once, on the preferred channel, and the case moves on', async () => {
  const c = await startClaim('cus_001');
  expect(c).toMatchObject({ kind: 'SERVICE', status: 'OPEN', channel: 'EMAIL' });
  const deliveries = await subscribe<{
    deliveryStatusChanged: { delivery: { status: string }; document: { id: string } };
  }>(
    t.url,
    svc,
    `subscription ($caseId: ID, $after: ID) { deliveryStatusChanged(caseId: $caseId, after: $after) { delivery { status } document { id } } }`,
    { caseId: c.id, after: await t.cursor('deliveryStatusChanged') },
  );
  expect(
    (
      await t.gql<{ reportMilestone: { status: string } }>(
        REPORT,
        { input: { caseId: c.id, milestone: 'CLAIM_INTAKE' } },
        svc,
      )
    ).data!.reportMilestone.status,
  ).toBe('IN_PROGRESS');
  // Reported again by another system: recorded, nothing sent twice.
  expect(
    (await t.gql(REPORT, { input: { caseId: c.id, milestone: 'CLAIM_INTAKE' } }, agent)).errors,
  ).toBeUndefined();
  await deliveries.waitFor(
    (r) => r.filter((e) => e.deliveryStatusChanged.delivery.status === 'DELIVERED').length === 1,
  );
  await t.settle();

  let v = (await t.gql<View>(CASE, { id: c.id }, svc)).data!.case;
  expect(v.milestones).toEqual([
    {
      milestone: 'CLAIM_INTAKE',
      reportedBy: 'claims-system',
      templateId: 'tpl_claim_intake',
      document: expect.objectContaining({ status: 'GENERATED', channel: 'EMAIL' }),
    },
  ]);
  expect(v.documents).toHaveLength(1);
  expect(v.history.map((h) => h.action)).toEqual(
    expect.arrayContaining(['MILESTONE_REACHED', 'MILESTONE_REPEATED', 'MILESTONE_COMMUNICATION_SENT']),
  );

  await t.gql(
    REPORT,
    { input: { caseId: c.id, milestone: 'PAYMENT_CONFIRMATION', data: { paidOn: '2025-04-02' } } },
    svc,
  );
  await deliveries.waitFor(
    (r) => r.filter((e) => e.deliveryStatusChanged.delivery.status === 'DELIVERED').length === 2,
  );
  await deliveries.close();
  await t.settle();
  v = (await t.gql<View>(CASE, { id: c.id }, svc)).data!.case;
  expect(v.status).toBe('RESOLVED');
  expect(v.milestones.map((m) => [m.milestone, m.templateId, m.document?.status])).toEqual([
    ['CLAIM_INTAKE', 'tpl_claim_intake', 'GENERATED'],
    ['PAYMENT_CONFIRMATION', 'tpl_payment_confirmation', 'GENERATED'],
  ]);
  // A resolved case takes no more milestones.
  expect(
    (await t.gql(REPORT, { input: { caseId: c.id, milestone: 'SERVICE_ESCALATION' } }, svc)).errors?.[0]
      ?.extensions?.code,
  ).toBe('CONFLICT');
});

test('the communication is tailored by customer profile: premium customers get the premium wording', async () => {
  const c = await startClaim('cus_004');
  await t.gql(
    REPORT,
    {
      input: { caseId: c.id, milestone: 'CLAIM_INTAKE', data: { dedicatedHandlerPhone: '+44 20 7946 0123' } },
    },
    svc,
  );
  await t.settle();
  const v = (await t.gql<View>(CASE, { id: c.id }, svc)).data!.case;
  expect(v.milestones[0]).toMatchObject({
    templateId: 'tpl_claim_intake_premium',
    document: { status: 'GENERATED', channel: 'WEB' },
  });
});

test('milestones are checked: unknown cases, other kinds, roles', async () => {
  expect(
    (await t.gql(REPORT, { input: { caseId: 'case_nope', milestone: 'CLAIM_INTAKE' } }, svc)).errors?.[0]
      ?.extensions?.code,
  ).toBe('NOT_FOUND');
  expect(
    (await t.gql(REPORT, { input: { caseId: 'case_nope', milestone: 'LUNCH' } }, svc)).errors?.[0]?.extensions
      ?.code,
  ).toBe('BAD_USER_INPUT');
  const cases = await t.gql<{ cases: { edges: { node: { id: string } }[] } }>(
    `{ cases(kind: REGULATED_DOCUMENT, first: 1) { edges { node { id } } } }`,
    {},
    svc,
  );
  expect(
    (
      await t.gql(
        REPORT,
        { input: { caseId: cases.data!.cases.edges[0]!.node.id, milestone: 'CLAIM_INTAKE' } },
        svc,
      )
    ).errors?.[0]?.extensions?.code,
  ).toBe('BAD_USER_INPUT');
  const requester = await t.token('rita', 'requester');
  const c = await startClaim('cus_019');
  expect(
    (await t.gql(REPORT, { input: { caseId: c.id, milestone: 'CLAIM_INTAKE' } }, requester)).errors?.[0]
      ?.extensions?.code,
  ).toBe('FORBIDDEN');
});
