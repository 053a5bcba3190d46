import { createHash } from 'node:crypto';
import { DEMO_CLIENT, DEMO_DOMAIN, queuesFor } from '../support/opentext/demo.js';
import type { OpenTextFake } from '../support/opentext/server.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { eventually, FAST, startDemoFake } from '../contract/opentext/setup.js';
import type { ExstreamCatalogue } from '../../src/datasources/communications/catalogue/index.js';

/**
 * Issue 10, points 3 and 4, through the gateway against the OpenText fake
 * (GENERATION_BACKEND=exstream): the template catalogue is Exstream Design's communications,
 * kept fresh without a restart, and the graph's four-eyes template approval drives the
 * resource's states in Exstream. What Exstream holds is read from the fake over its own HTTP
 * API, as an administrator would see it.
 */
let fake: OpenTextFake;
let t: TestGateway;
let admin: string;
let approver: string;
let compliance: string;
let approver2: string;

const sha256 = (s: string) => createHash('sha256').update(Buffer.from(s)).digest('hex');

const WELCOME = 'welcome-pack-exstream';
/** How long a condition may take to hold: a refresh cycle on a busy CI machine, with room. */
const WAIT = 30_000;
const WELCOME_V1 = 'Welcome pack design, v1';

beforeAll(async () => {
  fake = await startDemoFake();
  // A communication the embedded mode has never heard of: if it shows, it came from Exstream.
  fake.design.addCommunication({
    id: WELCOME,
    name: 'Welcome pack (Exstream)',
    content: WELCOME_V1,
    state: 'APPROVED',
    queues: queuesFor(['PRINT', 'MOBILE']),
    driverDsn: 'welcome_driver',
  });
  t = await startTestGateway({
    ...fake.settings(DEMO_CLIENT, DEMO_DOMAIN),
    ...FAST,
    EXSTREAM_CATALOGUE_REFRESH_MS: '100',
  });
  admin = await t.token('ada.admin', 'admin');
  approver = await t.token('ann.approver', 'approver');
  approver2 = await t.token('abe.approver', 'approver', 'compliance');
  compliance = await t.token('carl.compliance', 'compliance');
});
afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

/** The resource as Exstream serves it (the fake's own API, with a token of the demo client). */
async function inExstream(id: string): Promise<{
  latest: { version: number; state: string };
  history: Array<{ state: string; auditedComment: string | null; version: number }>;
}> {
  const tokenRes = await fetch(`${fake.url}/tenants/fake/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: DEMO_CLIENT.clientId,
      client_secret: DEMO_CLIENT.secret,
    }),
  });
  const { access_token } = (await tokenRes.json()) as { access_token: string };
  const get = async (path: string) => {
    const res = await fetch(`${fake.url}/design/api/v1${path}`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: unknown }).data;
  };
  const latest = (await get(`/resources/${DEMO_DOMAIN}/${id}`)) as { version: number; state: string };
  const history = (await get(`/resources/${DEMO_DOMAIN}/history/${id}?historyType=STATE`)) as Array<{
    state: string;
    auditedComment: string | null;
    version: number;
  }>;
  return { latest, history };
}

interface Version {
  id: string;
  version: number;
  status: string;
  contentHash: string;
  approvals: Array<{ id: string; stage: string; decision: string }>;
}
interface TemplateView {
  id: string;
  name: string;
  channels: string[];
  versions: Version[];
  approvedVersion: { version: number } | null;
  history: Array<{ actor: string; action: string; detail: Record<string, unknown> | null }>;
}

async function template(id: string): Promise<TemplateView> {
  const r = await t.gql<{ template: TemplateView | null }>(
    `query ($id: ID!) { template(id: $id) {
      id name channels approvedVersion { version }
      versions { id version status contentHash approvals { id stage decision } }
      history { actor action detail } } }`,
    { id },
    compliance,
  );
  expect(r.errors).toBeUndefined();
  if (!r.data!.template) throw new Error(`template ${id} not in the graph (yet)`);
  return r.data!.template;
}

const submit = (versionId: string) =>
  t.gql<{ submitTemplateVersion: { status: string } }>(
    `mutation ($input: TemplateVersionActionInput!) { submitTemplateVersion(input: $input) { status } }`,
    { input: { versionId } },
    admin,
  );
const decide = (approvalId: string, token: string, decision = 'APPROVED') =>
  t.gql<{ decideTemplateApproval: { decision: string } }>(
    `mutation ($input: DecideTemplateApprovalInput!) { decideTemplateApproval(input: $input) { decision } }`,
    { input: { approvalId, decision, comment: 'checked' } },
    token,
  );

/** A communication added in Designer while the graph runs, seen by the graph once refreshed. */
async function addDraft(id: string, content: string): Promise<Version> {
  fake.design.addCommunication({
    id,
    name: `Letter ${id}`,
    content,
    state: 'DRAFT',
    queues: queuesFor(['EMAIL']),
    driverDsn: `${id}_driver`,
  });
  const seen = await eventually(async () => {
    const v = (await template(id)).versions[0]!;
    expect(v.contentHash).toBe(sha256(content));
    return v;
  }, WAIT);
  return seen;
}

test('the templates are the domain communications, with versions, states, hashes and channels from Exstream', async () => {
  const listed = await eventually(async () => {
    const r = await t.gql<{ templates: Array<{ id: string; name: string; channels: string[] }> }>(
      `{ templates { id name channels } }`,
      {},
      compliance,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.templates.map((x) => x.id)).toContain(WELCOME);
    return r.data!.templates;
  }, WAIT);
  expect(listed.find((x) => x.id === WELCOME)).toEqual({
    id: WELCOME,
    name: 'Welcome pack (Exstream)',
    // PDF queue → PRINT, WEB; SMS queue → MOBILE (default EXSTREAM_QUEUE_CHANNELS).
    channels: ['PRINT', 'WEB', 'MOBILE'],
  });
  // The manifest's driver is kept for generation (the driverDataSource header).
  const catalogue = t.gateway.subgraphs!.communications.catalogue as ExstreamCatalogue;
  expect(await catalogue.communication(WELCOME)).toEqual(
    expect.objectContaining({ driverDataSource: 'welcome_driver', channels: ['PRINT', 'WEB', 'MOBILE'] }),
  );
  const welcome = await template(WELCOME);
  expect(welcome.versions).toEqual([
    expect.objectContaining({ version: 1, status: 'APPROVED', contentHash: sha256(WELCOME_V1) }),
  ]);
  // Exstream's STATE history is on the template's history, with who moved it and why.
  expect(welcome.history).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        actor: 'approver@acme.example',
        action: 'EXSTREAM_STATE_CHANGED',
        detail: expect.objectContaining({ state: 'APPROVED', auditedComment: 'Approved', version: 1 }),
      }),
    ]),
  );
});

test('a new version made in Designer shows without a restart; its review in the graph drives Exstream to APPROVED', async () => {
  await eventually(async () => expect((await template(WELCOME)).versions).toHaveLength(1), WAIT);
  // As in Designer: the approved version is taken back to draft (a new version) and edited.
  fake.design.setState(WELCOME, 'DRAFT', 'New wording', 'designer@acme.example');
  fake.design.editContent(WELCOME, 'Welcome pack design, v2');
  const v2 = await eventually(async () => {
    const v = (await template(WELCOME)).versions.find((x) => x.version === 2);
    expect(v).toEqual(
      expect.objectContaining({ status: 'DRAFT', contentHash: sha256('Welcome pack design, v2') }),
    );
    return v!;
  }, WAIT);

  const submitted = await submit(v2.id);
  expect(submitted.errors).toBeUndefined();
  expect(submitted.data!.submitTemplateVersion.status).toBe('IN_REVIEW');
  expect((await inExstream(WELCOME)).latest).toEqual(
    expect.objectContaining({ version: 2, state: 'REVIEW' }),
  );

  const stages = (await template(WELCOME)).versions.find((x) => x.version === 2)!.approvals;
  const approval = stages.find((a) => a.stage === 'APPROVAL')!;
  const complianceStage = stages.find((a) => a.stage === 'COMPLIANCE')!;
  expect((await decide(approval.id, approver2)).errors).toBeUndefined();
  // Four-eyes as in the embedded mode: one person decides at most one stage.
  const again = await decide(complianceStage.id, approver2);
  expect(again.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect((await inExstream(WELCOME)).latest.state).toBe('REVIEW');

  const last = await decide(complianceStage.id, compliance);
  expect(last.errors).toBeUndefined();
  const after = await inExstream(WELCOME);
  expect(after.latest).toEqual(expect.objectContaining({ version: 2, state: 'APPROVED' }));
  const comment = after.history.at(-1)!.auditedComment!;
  expect(after.history.at(-1)!.state).toBe('APPROVED');
  expect(comment).toContain('abe.approver');
  expect(comment).toContain('carl.compliance');
  expect(comment).toContain(sha256('Welcome pack design, v2'));

  // The graph: v2 approved and used, v1 superseded (RETIRED), Exstream's comment on the history.
  await eventually(async () => {
    const now = await template(WELCOME);
    expect(now.approvedVersion).toEqual({ version: 2 });
    expect(now.versions.map((v) => [v.version, v.status])).toEqual([
      [1, 'RETIRED'],
      [2, 'APPROVED'],
    ]);
    expect(now.history).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'EXSTREAM_STATE_CHANGED',
          detail: expect.objectContaining({ state: 'APPROVED', version: 2, auditedComment: comment }),
        }),
      ]),
    );
  }, WAIT);
});

test('a rejection in the graph moves the resource to REJECTED, then back to DRAFT', async () => {
  const v = await addDraft('letter-reject', 'Draft to reject');
  expect(v.status).toBe('DRAFT');
  expect((await submit(v.id)).errors).toBeUndefined();
  expect((await inExstream('letter-reject')).latest.state).toBe('REVIEW');
  const approval = (await template('letter-reject')).versions[0]!.approvals.find(
    (a) => a.stage === 'APPROVAL',
  )!;
  const rejected = await decide(approval.id, approver, 'REJECTED');
  expect(rejected.errors).toBeUndefined();

  const after = await inExstream('letter-reject');
  expect(after.latest).toEqual(expect.objectContaining({ version: 1, state: 'DRAFT' }));
  expect(after.history.slice(-2).map((h) => h.state)).toEqual(['REJECTED', 'DRAFT']);
  expect(after.history.at(-2)!.auditedComment).toContain('ann.approver');
  expect((await template('letter-reject')).versions[0]!.status).toBe('DRAFT');
});

test('approval is refused when the content changed in Exstream since submission, and nothing moves', async () => {
  const v = await addDraft('letter-changed', 'Submitted wording');
  // No refresh between the change in Designer and the decision: the decision itself must notice.
  const catalogue = t.gateway.subgraphs!.communications.catalogue;
  await catalogue.stop();
  expect((await submit(v.id)).errors).toBeUndefined();
  const stages = (await template('letter-changed')).versions[0]!.approvals;
  expect((await decide(stages.find((a) => a.stage === 'APPROVAL')!.id, approver)).errors).toBeUndefined();
  await catalogue.refresh(); // the one a submission asks for is done too (refreshes run in order)

  // Meanwhile in Designer: taken out of review, reworded, put back in review.
  fake.design.setState('letter-changed', 'REJECTED', 'rework', 'designer@acme.example');
  fake.design.setState('letter-changed', 'DRAFT', null, 'designer@acme.example');
  fake.design.editContent('letter-changed', 'Different wording');
  fake.design.setState('letter-changed', 'REVIEW', 'again', 'designer@acme.example');
  const historyBefore = (await inExstream('letter-changed')).history.length;

  const refused = await decide(stages.find((a) => a.stage === 'COMPLIANCE')!.id, compliance);
  expect(refused.errors?.[0]?.extensions).toEqual(
    expect.objectContaining({ code: 'CONFLICT', reason: 'CONTENT_CHANGED' }),
  );
  const after = await inExstream('letter-changed');
  expect(after.latest).toEqual(expect.objectContaining({ version: 1, state: 'REVIEW' }));
  expect(after.history).toHaveLength(historyBefore);
  expect(fake.design.approved('letter-changed')).toBeUndefined();
  const graph = await template('letter-changed');
  expect(graph.approvedVersion).toBeNull();
  expect(graph.versions[0]!.approvals.find((a) => a.stage === 'COMPLIANCE')!.decision).toBe('PENDING');
  catalogue.start();
});

test('a version put in review in Designer is reviewed in the graph, then approved in Exstream', async () => {
  const v = await addDraft('letter-designer-review', 'Reviewed from Designer');
  fake.design.setState('letter-designer-review', 'REVIEW', 'please review', 'designer@acme.example');
  await eventually(
    async () => expect((await template('letter-designer-review')).versions[0]!.status).toBe('IN_REVIEW'),
    WAIT,
  );
  const opened = await submit(v.id);
  expect(opened.errors).toBeUndefined();
  expect(opened.data!.submitTemplateVersion.status).toBe('IN_REVIEW');
  // Opening the graph's stages does not move Exstream: it was in review already.
  const before = await inExstream('letter-designer-review');
  expect(before.latest.state).toBe('REVIEW');
  const stages = (await template('letter-designer-review')).versions[0]!.approvals;
  expect(stages.map((a) => [a.stage, a.decision])).toEqual([
    ['APPROVAL', 'PENDING'],
    ['COMPLIANCE', 'PENDING'],
  ]);
  // A review open in the graph is not opened twice.
  expect((await submit(v.id)).errors?.[0]?.extensions?.code).toBe('CONFLICT');
  expect((await decide(stages[0]!.id, approver)).errors).toBeUndefined();
  expect((await decide(stages[1]!.id, compliance)).errors).toBeUndefined();
  const after = await inExstream('letter-designer-review');
  expect(after.latest.state).toBe('APPROVED');
  expect(after.history.at(-1)!.auditedComment).toContain(sha256('Reviewed from Designer'));
});

test('an Exstream outage during a submission answers UPSTREAM_UNAVAILABLE and leaves both sides as they were', async () => {
  const v = await addDraft('letter-outage', 'Wording during an outage');
  const remove = fake.faults.add({ method: 'PUT', path: /\/state$/, kind: 'status', status: 503 });
  let refused;
  try {
    refused = await submit(v.id);
  } finally {
    remove();
  }
  expect(refused.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
  expect((await inExstream('letter-outage')).latest.state).toBe('DRAFT');
  const graph = (await template('letter-outage')).versions[0]!;
  expect(graph).toEqual(expect.objectContaining({ status: 'DRAFT', approvals: [] }));
  // Once Exstream answers again, the same submission goes through.
  expect((await submit(v.id)).data?.submitTemplateVersion.status).toBe('IN_REVIEW');
  expect((await inExstream('letter-outage')).latest.state).toBe('REVIEW');
});

test('authoring mutations answer that content is authored in Exstream, and change nothing', async () => {
  const before = await template(WELCOME);
  const refusals = [
    await t.gql(
      `mutation ($input: CreateTemplateInput!) { createTemplate(input: $input) { id } }`,
      {
        input: {
          name: 'Made in the graph',
          documentType: 'graph_letter',
          channels: ['PRINT'],
          content: { print: { body: 'x' } },
          dataSchema: { type: 'object' },
        },
      },
      admin,
    ),
    await t.gql(
      `mutation ($input: EditTemplateInput!) { editTemplate(input: $input) { id } }`,
      { input: { templateId: WELCOME, content: { print: { body: 'y' } } } },
      admin,
    ),
    await t.gql(
      `mutation ($input: TemplateVersionActionInput!) { retireTemplateVersion(input: $input) { id } }`,
      { input: { versionId: before.versions[0]!.id } },
      admin,
    ),
  ];
  for (const r of refusals) {
    expect(r.errors?.[0]?.extensions).toEqual(
      expect.objectContaining({ code: 'BAD_USER_INPUT', reason: 'AUTHORED_IN_EXSTREAM' }),
    );
  }
  const all = await t.gql<{ templates: Array<{ id: string }> }>(`{ templates { id } }`, {}, compliance);
  expect(all.data!.templates.map((x) => x.id)).not.toContain('tpl_graph_letter');
  expect((await template(WELCOME)).versions).toEqual(before.versions);
});

test('while Exstream is down, the catalogue is served from the mirror', async () => {
  const before = await template(WELCOME);
  const remove = fake.faults.add({ path: /^\/design\//, kind: 'status', status: 503 });
  try {
    // Exstream is really down: a refresh fails (in the background it is logged and retried).
    await expect(t.gateway.subgraphs!.communications.catalogue.refresh()).rejects.toThrow();
    const r = await t.gql<{ templates: Array<{ id: string }> }>(`{ templates { id } }`, {}, compliance);
    expect(r.errors).toBeUndefined();
    expect(r.data!.templates.map((x) => x.id)).toContain(WELCOME);
    expect(await template(WELCOME)).toEqual(before);
  } finally {
    remove();
  }
});
