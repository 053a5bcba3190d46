import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * Mutations answer with what they did (issue 9, point 13). The work a mutation
 * starts is local and quick in embedded mode, so the answer waits for it
 * (bounded by FOLLOW_UP_WAIT_MS) and shows it: no client has to query again
 * or subscribe to learn what its own request did.
 */
let t: TestGateway;
let svc: string;
let agentA: string;
let agentB: string;

beforeAll(async () => {
  t = await startTestGateway();
  svc = await t.token('claims-system', 'service');
  agentA = await t.token('amy.agent', 'service-agent');
  agentB = await t.token('ben.agent', 'service-agent');
});
afterAll(() => t.stop());

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;

async function reissueCase(
  gateway: TestGateway,
  token: string,
): Promise<{ caseId: string; original: string }> {
  const doc = await gateway.gql<{ generateDocument: { id: string } }>(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }`,
    {
      input: {
        customerId: 'cus_004',
        templateId: 'tpl_account_statement',
        channel: 'PRINT',
        data: sample('tpl_account_statement'),
      },
    },
    await gateway.token('claims-system', 'service'),
  );
  expect(doc.errors).toBeUndefined();
  const opened = await gateway.gql<{ reissueDocument: { id: string } }>(
    `mutation ($input: ReissueDocumentInput!) { reissueDocument(input: $input) { id } }`,
    { input: { documentId: doc.data!.generateDocument.id, reason: 'Lost in the post' } },
    token,
  );
  expect(opened.errors).toBeUndefined();
  return { caseId: opened.data!.reissueDocument.id, original: doc.data!.generateDocument.id };
}

const AUTHORISE = `mutation ($input: AuthoriseReissueInput!) {
  authoriseReissue(input: $input) { id status documents { status reissueOf { id } } } }`;
const authorise = (caseId: string) => ({
  input: { caseId, requestedBy: 'the customer', identityVerification: 'ONE_TIME_PASSCODE', entitled: true },
});
type Authorised = {
  authoriseReissue: { status: string; documents: { status: string; reissueOf: { id: string } }[] };
};

test('authoriseReissue answers with the reissued document, the case RESOLVED', async () => {
  const { caseId, original } = await reissueCase(t, agentA);
  const r = await t.gql<Authorised>(AUTHORISE, authorise(caseId), agentB);
  expect(r.errors).toBeUndefined();
  expect(r.data!.authoriseReissue).toMatchObject({
    status: 'RESOLVED',
    documents: [{ status: 'GENERATED', reissueOf: { id: original } }],
  });
});

test("the first reportMilestone answers with the milestone's document", async () => {
  const started = await t.gql<{ startCase: { id: string } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
    {
      input: {
        kind: 'SERVICE',
        title: 'Water damage',
        customerId: 'cus_001',
        data: sample('tpl_claim_intake'),
      },
    },
    agentA,
  );
  const r = await t.gql<{
    reportMilestone: {
      status: string;
      milestones: { milestone: string; document: { id: string; status: string; channel: string } | null }[];
    };
  }>(
    `mutation ($input: ReportMilestoneInput!) { reportMilestone(input: $input) {
      status milestones { milestone document { id status channel } } } }`,
    { input: { caseId: started.data!.startCase.id, milestone: 'CLAIM_INTAKE' } },
    svc,
  );
  expect(r.errors).toBeUndefined();
  expect(r.data!.reportMilestone).toEqual({
    status: 'IN_PROGRESS',
    milestones: [
      {
        milestone: 'CLAIM_INTAKE',
        document: { id: expect.any(String), status: 'GENERATED', channel: 'EMAIL' },
      },
    ],
  });
});

test('sendDisputeLetter(ACKNOWLEDGEMENT) answers with the deadline MET and the letter in documents', async () => {
  const started = await t.gql<{ startCase: { id: string } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
    {
      input: {
        kind: 'DISPUTE',
        title: 'Card payment dispute',
        customerId: 'cus_002',
        data: { ...sample('tpl_dispute_acknowledgement'), ...sample('tpl_dispute_interim_update') },
      },
    },
    agentA,
  );
  const LETTER = `mutation ($input: SendDisputeLetterInput!) { sendDisputeLetter(input: $input) {
    status deadlines { kind state } documents { status templateVersion { template { documentType } } } } }`;
  type Answer = {
    sendDisputeLetter: {
      status: string;
      deadlines: { kind: string; state: string }[];
      documents: { status: string; templateVersion: { template: { documentType: string } } }[];
    };
  };
  const caseId = started.data!.startCase.id;
  const ack = await t.gql<Answer>(LETTER, { input: { caseId, letter: 'ACKNOWLEDGEMENT' } }, agentA);
  expect(ack.errors).toBeUndefined();
  expect(ack.data!.sendDisputeLetter).toEqual({
    status: 'IN_PROGRESS',
    deadlines: [
      { kind: 'ACKNOWLEDGEMENT', state: 'MET' },
      { kind: 'FINAL_RESPONSE', state: 'PENDING' },
    ],
    documents: [
      { status: 'GENERATED', templateVersion: { template: { documentType: 'dispute_acknowledgement' } } },
    ],
  });
  const interim = await t.gql<Answer>(LETTER, { input: { caseId, letter: 'INTERIM_UPDATE' } }, agentA);
  expect(
    interim.data!.sendDisputeLetter.documents.map((d) => d.templateVersion.template.documentType),
  ).toEqual(['dispute_acknowledgement', 'dispute_interim_update']);
});

test("generateDocument's FAILED answer shows its exception's case", async () => {
  const statement = sample('tpl_account_statement') as { accountNumber: string };
  const r = await t.gql<{
    generateDocument: {
      status: string;
      exceptions: { kind: string; case: { id: string; kind: string } | null }[];
    };
  }>(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) {
      status exceptions { kind case { id kind } } } }`,
    {
      input: {
        customerId: 'cus_002',
        templateId: 'tpl_account_statement',
        channel: 'PRINT',
        data: { accountNumber: statement.accountNumber },
      },
    },
    svc,
  );
  expect(r.errors).toBeUndefined();
  expect(r.data!.generateDocument).toEqual({
    status: 'FAILED',
    exceptions: [{ kind: 'MISSING_DATA', case: { id: expect.any(String), kind: 'GENERATION_EXCEPTION' } }],
  });
});

test('without waiting (FOLLOW_UP_WAIT_MS=0), caseUpdated announces what the answer could not show yet', async () => {
  const quick = await startTestGateway({ FOLLOW_UP_WAIT_MS: '0' });
  try {
    const a = await quick.token('amy.agent', 'service-agent');
    const b = await quick.token('ben.agent', 'service-agent');
    const { caseId, original } = await reissueCase(quick, a);
    const svcQuick = await quick.token('claims-system', 'service');
    const updates = await subscribe<{ caseUpdated: { status: string } }>(
      quick.url,
      svcQuick,
      // From the case's first event, so nothing is missed however fast the reissue is.
      `subscription ($caseId: ID) { caseUpdated(caseId: $caseId, after: "0") { status } }`,
      { caseId },
    );
    const r = await quick.gql<Authorised>(AUTHORISE, authorise(caseId), b);
    expect(r.errors).toBeUndefined();
    // Whatever the answer could show, an event announces the case once the reissue is recorded...
    await updates.waitFor((got) => got.some((e) => e.caseUpdated.status === 'RESOLVED'));
    await updates.close();
    // ...and the case then shows it.
    const c = await quick.gql<{ case: { documents: { reissueOf: { id: string } }[] } }>(
      `query ($id: ID!) { case(id: $id) { documents { reissueOf { id } } } }`,
      { id: caseId },
      svcQuick,
    );
    expect(c.data!.case.documents).toEqual([{ reissueOf: { id: original } }]);
  } finally {
    await quick.stop();
  }
});
