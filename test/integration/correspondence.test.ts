import fs from 'node:fs';
import path from 'node:path';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * Flow 3, ad hoc correspondence: a service agent asks for a claim letter,
 * account confirmation or regulatory notice; the approval configured for its
 * document type gates it; it goes out on the customer's preferred channel
 * (another channel needs a recorded reason) with the customer's brand.
 */
let t: TestGateway;
let agent: string;
let approver: string;
let svc: string;
/** Reads trails and documents: personal data the service role does not see. */
let auditor: string;

beforeAll(async () => {
  t = await startTestGateway();
  agent = await t.token('sam.agent', 'service-agent');
  approver = await t.token('ann.approver', 'approver');
  svc = await t.token('svc', 'service');
  auditor = await t.token('audrey.auditor', 'auditor');
});
afterAll(() => t.stop());

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;
const START = `mutation ($input: StartCaseInput!) { startCase(input: $input) { id kind status channel approvals { id stage task { role } } } }`;
type Started = {
  startCase: {
    id: string;
    kind: string;
    status: string;
    channel: string;
    approvals: { id: string; stage: string; task: { role: string } }[];
  };
};
const letter = (extra: Record<string, unknown> = {}) => ({
  kind: 'CORRESPONDENCE',
  title: 'Claim acknowledgement',
  customerId: 'cus_012',
  templateId: 'tpl_claim_letter',
  data: sample('tpl_claim_letter'),
  ...extra,
});

test('a claim letter is approved in one stage and sent by email with the customer brand', async () => {
  const r = await t.gql<Started>(START, { input: letter() }, agent);
  expect(r.errors).toBeUndefined();
  const c = r.data!.startCase;
  expect(c).toMatchObject({ kind: 'CORRESPONDENCE', status: 'AWAITING_APPROVAL', channel: 'EMAIL' });
  expect(c.approvals.map((a) => [a.stage, a.task.role])).toEqual([['APPROVAL', 'approver']]);

  // Four-eyes holds here too: the agent who asked cannot approve, whatever roles they hold.
  const agentApprover = await t.token('sam.agent', 'service-agent', 'approver');
  const self = await t.gql(
    `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
    { input: { approvalId: c.approvals[0]!.id, decision: 'APPROVED' } },
    agentApprover,
  );
  expect(self.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

  const deliveries = await subscribe<{
    deliveryStatusChanged: { delivery: { status: string }; document: { id: string } };
  }>(
    t.url,
    svc,
    `subscription ($caseId: ID, $after: ID) { deliveryStatusChanged(caseId: $caseId, after: $after) { delivery { status } document { id } } }`,
    { caseId: c.id, after: await t.cursor('deliveryStatusChanged') },
  );
  const ok = await t.gql(
    `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
    { input: { approvalId: c.approvals[0]!.id, decision: 'APPROVED' } },
    approver,
  );
  expect(ok.errors).toBeUndefined();
  const steps = await deliveries.waitFor((x) =>
    x.some((e) => e.deliveryStatusChanged.delivery.status === 'DELIVERED'),
  );
  await deliveries.close();
  const docId = steps[0]!.deliveryStatusChanged.document.id;

  const html = await fetch(t.url.replace('/graphql', `/documents/${docId}/content`), {
    headers: { authorization: `Bearer ${auditor}` },
  });
  expect(html.headers.get('content-type')).toMatch(/^text\/html/);
  const body = await html.text();
  expect(body).toContain('Contoso Bank');
  expect(body).not.toContain('Northwind');
  // The email in the outbox is sent under the brand's sender identity.
  const emails = fs.readdirSync(path.join(t.dataDir, 'outbox', 'email'));
  const eml = emails
    .map((f) => fs.readFileSync(path.join(t.dataDir, 'outbox', 'email', f), 'utf8'))
    .find((m) => m.includes('dragos.popescu'));
  expect(eml).toMatch(/^From: .*Contoso Bank Customer Service.*<no-reply@contoso-bank\.example>/m);
});

test('another channel than the preferred one needs a reason, which the trail records', async () => {
  const noReason = await t.gql(START, { input: letter({ channel: 'PRINT' }) }, agent);
  expect(noReason.errors?.[0]?.extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'input.channelOverrideReason',
  });
  const r = await t.gql<Started>(
    START,
    { input: letter({ channel: 'PRINT', channelOverrideReason: 'Customer asked for a paper copy' }) },
    agent,
  );
  expect(r.data!.startCase.channel).toBe('PRINT');
  const c = await t.gql<{ case: { history: { action: string; detail: Record<string, unknown> }[] } }>(
    `query ($id: ID!) { case(id: $id) { history { action detail } } }`,
    { id: r.data!.startCase.id },
    auditor,
  );
  expect(c.data!.case.history[0]).toMatchObject({
    action: 'CASE_STARTED',
    detail: { channelOverride: { from: 'EMAIL', to: 'PRINT', reason: 'Customer asked for a paper copy' } },
  });
});

test('the approval stages are configured per document type; other templates and roles are refused', async () => {
  const notice = await t.gql<Started>(
    START,
    {
      input: {
        ...letter(),
        templateId: 'tpl_regulatory_notice',
        title: 'Regulatory notice',
        data: sample('tpl_regulatory_notice'),
      },
    },
    agent,
  );
  expect(notice.errors).toBeUndefined();
  expect(notice.data!.startCase.approvals.map((a) => a.stage)).toEqual(['REVIEW', 'APPROVAL', 'COMPLIANCE']);
  const pack = await t.gql(
    START,
    { input: letter({ templateId: 'tpl_policy_pack', data: sample('tpl_policy_pack') }) },
    agent,
  );
  expect(pack.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.templateId' });
  const requester = await t.token('rita', 'requester');
  expect((await t.gql(START, { input: letter() }, requester)).errors?.[0]?.extensions?.code).toBe(
    'FORBIDDEN',
  );
});
