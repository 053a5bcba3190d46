import { SEED_TEMPLATES } from '../../../src/datasources/communications/seed/templates.js';
import type { TestGateway } from '../../support/harness.js';
import type { OpenTextFake } from '../../support/opentext/server.js';
import { approveStages, GENERATE_PATH, startConnected, type Connected } from './connected.js';

/**
 * Contract "Generation is on-demand": Exstream generates from the communication's approved
 * version, so the graph checks it, fresh from Design, just before the call. A case approved
 * with one version whose communication got a new approved version in Exstream Designer is
 * refused (APPROVAL_REQUIRED) and its trail says why; Exstream is not called.
 *
 * The catalogue refreshes once a day here, so the graph's mirror still shows the pinned version
 * as APPROVED when the case is signed off: the refusal comes from the fresh read, not the mirror.
 */
let c: Connected;
let t: TestGateway;
let fake: OpenTextFake;
let auditor: string;

beforeAll(async () => {
  c = await startConnected({ EXSTREAM_CATALOGUE_REFRESH_MS: '86400000' });
  ({ t, fake } = c);
  auditor = await t.token('audrey.auditor', 'auditor');
});
afterAll(() => c.stop());

const TEMPLATE = 'tpl_billing_notice';
const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData as Record<string, unknown>;

type CaseView = {
  status: string;
  documents: { id: string; status: string; templateVersion: { version: number } }[];
  history: { actor: string; action: string; detail: Record<string, unknown> | null }[];
};
const caseView = async (id: string): Promise<CaseView> =>
  (
    await t.gql<{ case: CaseView }>(
      `query ($id: ID!) { case(id: $id) {
        status
        documents { id status templateVersion { version } }
        history { actor action detail }
      } }`,
      { id },
      auditor,
    )
  ).data!.case;

/** Starts a regulated document case and takes it through its approvals; answers its id. */
async function signedOff(title: string): Promise<string> {
  const requester = await t.token('rita.requester', 'requester');
  const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title,
        customerId: 'cus_004',
        templateId: TEMPLATE,
        channel: 'PRINT',
        data: sample(TEMPLATE),
      },
    },
    requester,
  );
  expect(started.errors).toBeUndefined();
  await approveStages(t, started.data!.startCase.approvals);
  await t.settle();
  return started.data!.startCase.id;
}

test('a sign-off whose communication got a new approved version in Exstream is refused, the trail says why, Exstream is not called', async () => {
  // The approved version is still the pinned one: the sign-off generates as always.
  let before = fake.served(GENERATE_PATH, 'POST');
  const ok = await caseView(await signedOff('Billing notice, approved version'));
  expect(ok.status).toBe('RESOLVED');
  expect(ok.documents).toMatchObject([{ status: 'GENERATED', templateVersion: { version: 1 } }]);
  expect(ok.history.map((h) => h.action)).not.toContain('GENERATION_REFUSED');
  expect(fake.served(GENERATE_PATH, 'POST') - before).toBe(1);

  // In Exstream Designer the communication gets a new approved version (v2).
  fake.design.setState(TEMPLATE, 'DRAFT', null, 'designer@acme.example');
  fake.design.editContent(
    TEMPLATE,
    '{"print":{"title":"Billing notice, new layout"}}',
    'designer@acme.example',
  );
  fake.design.setState(TEMPLATE, 'REVIEW', null, 'designer@acme.example');
  fake.design.setState(TEMPLATE, 'APPROVED', 'new layout', 'approver@acme.example');

  before = fake.served(GENERATE_PATH, 'POST');
  const caseId = await signedOff('Billing notice, version moved on');
  const refused = await caseView(caseId);
  // Nothing was generated: no call reached Exstream, the case has no document and waits.
  expect(fake.served(GENERATE_PATH, 'POST') - before).toBe(0);
  expect(refused.documents).toEqual([]);
  expect(refused.status).toBe('APPROVED');
  const why = refused.history.filter((h) => h.action === 'GENERATION_REFUSED');
  expect(why).toHaveLength(1);
  expect(why[0]).toMatchObject({
    actor: 'system',
    detail: {
      templateVersionId: `${TEMPLATE}_v1`,
      code: 'APPROVAL_REQUIRED',
      reason: 'APPROVED_VERSION_CHANGED',
    },
  });
  expect(why[0]!.detail!.message).toContain(`${TEMPLATE}_v2`);

  // The graph's own catalogue had not seen the change yet: the refusal came from Design itself.
  const mirror = await t.gql<{ template: { versions: { version: number; status: string }[] } }>(
    `query ($id: ID!) { template(id: $id) { versions { version status } } }`,
    { id: TEMPLATE },
    auditor,
  );
  expect(mirror.data!.template.versions).toEqual([{ version: 1, status: 'APPROVED' }]);
}, 120_000);
