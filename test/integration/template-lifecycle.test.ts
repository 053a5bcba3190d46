import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * Flow 1, template content lifecycle: only approved content is published.
 * DRAFT → IN_REVIEW → APPROVED under four-eyes, or back to DRAFT on
 * rejection; editing approved content makes a new draft; RETIRED stops
 * generation; every move is in the template's trail.
 */
let t: TestGateway;
let author: string;
let approver: string;
let compliance: string;
let svc: string;

beforeAll(async () => {
  t = await startTestGateway();
  author = await t.token('tina.author', 'admin');
  approver = await t.token('ann.approver', 'approver');
  compliance = await t.token('carl.compliance', 'compliance');
  svc = await t.token('svc', 'service');
});
afterAll(() => t.stop());

const base = SEED_TEMPLATES.find((x) => x.id === 'tpl_claim_letter')!;
const VERSION = `id version status contentHash createdBy approvals { id stage decision decidedBy contentHash round }`;

async function gql<T>(query: string, variables: Record<string, unknown>, token: string) {
  const r = await t.gql<T>(query, variables, token);
  return r;
}
const submit = (versionId: string, token = author) =>
  gql<{ submitTemplateVersion: { status: string; approvals: { id: string; stage: string }[] } }>(
    `mutation ($input: TemplateVersionActionInput!) { submitTemplateVersion(input: $input) { ${VERSION} } }`,
    { input: { versionId } },
    token,
  );
const decide = (approvalId: string, token: string, decision = 'APPROVED', comment = 'ok') =>
  gql<{ decideTemplateApproval: { decision: string; decidedBy: string } }>(
    `mutation ($input: DecideTemplateApprovalInput!) { decideTemplateApproval(input: $input) { decision decidedBy } }`,
    { input: { approvalId, decision, comment } },
    token,
  );
const template = (id: string) =>
  gql<{
    template: {
      approvedVersion: { id: string; version: number } | null;
      versions: { id: string; version: number; status: string }[];
      history: { actor: string; action: string; detail: Record<string, unknown> }[];
    };
  }>(
    `query ($id: ID!) { template(id: $id) { approvedVersion { id version } versions { id version status } history { actor action at detail } } }`,
    { id },
    // The trail's detail is read by those who audit it, not by machine clients.
    compliance,
  );
const generate = (templateId: string) =>
  gql<{ generateDocument: { status: string; templateVersion: { version: number } } }>(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { status templateVersion { version } } }`,
    { input: { customerId: 'cus_004', templateId, channel: 'PRINT', data: base.sampleData } },
    svc,
  );

test('a new template is reviewed under four-eyes, approved, then used; edits make a new draft; retiring stops it', async () => {
  const updates = await subscribe<{
    templateUpdated: { id: string; versions: { version: number; status: string }[] };
  }>(
    t.url,
    compliance,
    `subscription ($after: ID) { templateUpdated(after: $after) { id versions { version status } } }`,
    {
      after: await t.cursor('templateUpdated'),
    },
  );
  const created = await gql<{ createTemplate: { id: string; versions: { id: string; status: string }[] } }>(
    `mutation ($input: CreateTemplateInput!) { createTemplate(input: $input) { id versions { id status } } }`,
    {
      input: {
        name: 'Claim letter (motor)',
        documentType: 'claim_letter_motor',
        channels: ['PRINT', 'EMAIL'],
        content: base.content,
        dataSchema: base.dataSchema,
      },
    },
    author,
  );
  expect(created.errors).toBeUndefined();
  const id = created.data!.createTemplate.id;
  const v1 = created.data!.createTemplate.versions[0]!;
  expect(v1.status).toBe('DRAFT');
  // Not approved: nothing can be generated from it.
  expect((await generate(id)).errors?.[0]?.extensions?.code).toBe('APPROVAL_REQUIRED');

  const submitted = await submit(v1.id);
  expect(submitted.data!.submitTemplateVersion.status).toBe('IN_REVIEW');
  const [stageA, stageC] = submitted.data!.submitTemplateVersion.approvals;
  expect([stageA!.stage, stageC!.stage]).toEqual(['APPROVAL', 'COMPLIANCE']);

  // In review: no edit; compliance cannot go first; the author cannot decide, even holding the role.
  const editInReview = await gql(
    `mutation ($input: EditTemplateInput!) { editTemplate(input: $input) { id } }`,
    { input: { templateId: id, content: base.content } },
    author,
  );
  expect(editInReview.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  expect((await decide(stageC!.id, compliance)).errors?.[0]?.extensions?.code).toBe('CONFLICT');
  const authorApprover = await t.token('tina.author', 'admin', 'approver');
  expect((await decide(stageA!.id, authorApprover)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect((await decide(stageA!.id, compliance)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const both = await t.token('bo.both', 'approver', 'compliance');
  expect((await decide(stageA!.id, both)).errors).toBeUndefined();
  expect((await decide(stageC!.id, both)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(
    (await decide(stageC!.id, compliance, 'APPROVED', 'Disclosures in place')).data!.decideTemplateApproval
      .decision,
  ).toBe('APPROVED');

  let state = await template(id);
  expect(state.data!.template.approvedVersion).toMatchObject({ id: v1.id, version: 1 });
  expect((await generate(id)).data!.generateDocument).toEqual({
    status: 'GENERATED',
    templateVersion: { version: 1 },
  });

  // Editing approved content makes v2 as a DRAFT; v1 stays the one in use.
  const changed = {
    ...base.content,
    print: { ...(base.content.print as object), title: 'Your motor claim' },
  };
  const edited = await gql<{ editTemplate: { id: string; version: number; status: string } }>(
    `mutation ($input: EditTemplateInput!) { editTemplate(input: $input) { id version status } }`,
    { input: { templateId: id, content: changed, comment: 'Motor wording' } },
    author,
  );
  expect(edited.data!.editTemplate).toMatchObject({ version: 2, status: 'DRAFT' });
  expect((await generate(id)).data!.generateDocument.templateVersion.version).toBe(1);

  // A rejection sends v2 back to DRAFT; a new review round starts clean.
  const r2 = await submit(edited.data!.editTemplate.id);
  const [a2] = r2.data!.submitTemplateVersion.approvals;
  expect(
    (await decide(a2!.id, approver, 'REJECTED', 'Tone too informal')).data!.decideTemplateApproval.decision,
  ).toBe('REJECTED');
  state = await template(id);
  expect(state.data!.template.versions.map((v) => [v.version, v.status])).toEqual([
    [1, 'APPROVED'],
    [2, 'DRAFT'],
  ]);
  const r3 = await submit(edited.data!.editTemplate.id);
  const [a3, c3] = r3.data!.submitTemplateVersion.approvals;
  expect(
    r3.data!.submitTemplateVersion.approvals.every(
      (a) => (a as unknown as { decision: string }).decision === 'PENDING',
    ),
  ).toBe(true);
  await decide(a3!.id, approver);
  await decide(c3!.id, compliance);
  expect((await generate(id)).data!.generateDocument.templateVersion.version).toBe(2);

  // Retired, v2 is no longer used; v1 is still approved, so generation falls back to it.
  const retired = await gql<{ retireTemplateVersion: { status: string } }>(
    `mutation ($input: TemplateVersionActionInput!) { retireTemplateVersion(input: $input) { status } }`,
    { input: { versionId: edited.data!.editTemplate.id, comment: 'Superseded' } },
    compliance,
  );
  expect(retired.data!.retireTemplateVersion.status).toBe('RETIRED');
  expect((await generate(id)).data!.generateDocument.templateVersion.version).toBe(1);
  await gql(
    `mutation ($input: TemplateVersionActionInput!) { retireTemplateVersion(input: $input) { status } }`,
    { input: { versionId: v1.id } },
    compliance,
  );
  expect((await generate(id)).errors?.[0]?.extensions?.code).toBe('APPROVAL_REQUIRED');

  state = await template(id);
  expect(state.data!.template.history.map((h) => [h.actor, h.action])).toEqual([
    ['tina.author', 'TEMPLATE_CREATED'],
    ['tina.author', 'SUBMITTED_FOR_REVIEW'],
    ['bo.both', 'STAGE_APPROVED'],
    ['carl.compliance', 'VERSION_APPROVED'],
    ['tina.author', 'VERSION_CREATED'],
    ['tina.author', 'SUBMITTED_FOR_REVIEW'],
    ['ann.approver', 'VERSION_REJECTED'],
    ['tina.author', 'SUBMITTED_FOR_REVIEW'],
    ['ann.approver', 'STAGE_APPROVED'],
    ['carl.compliance', 'VERSION_APPROVED'],
    ['carl.compliance', 'VERSION_RETIRED'],
    ['carl.compliance', 'VERSION_RETIRED'],
  ]);
  // Subscribers saw every move, the template as it stood after each.
  const mine = (
    await updates.waitFor((r) => r.filter((e) => e.templateUpdated.id === id).length >= 12)
  ).filter((e) => e.templateUpdated.id === id);
  await updates.close();
  expect(mine).toHaveLength(12);
  expect(mine[0]!.templateUpdated.versions).toEqual([{ version: 1, status: 'DRAFT' }]);
  expect(mine.at(-1)!.templateUpdated.versions.map((v) => v.status)).toEqual(['RETIRED', 'RETIRED']);
  const rejection = state.data!.template.history.find((h) => h.action === 'VERSION_REJECTED')!;
  expect(rejection.detail).toMatchObject({ comment: 'Tone too informal', stage: 'APPROVAL', version: 2 });
});

test('bad drafts are refused with BAD_USER_INPUT and leave nothing behind', async () => {
  const make = (input: Record<string, unknown>) =>
    gql(
      `mutation ($input: CreateTemplateInput!) { createTemplate(input: $input) { id } }`,
      {
        input: {
          name: 'x',
          documentType: 'x_doc',
          channels: ['PRINT'],
          content: base.content,
          dataSchema: base.dataSchema,
          ...input,
        },
      },
      author,
    );
  expect((await make({ documentType: 'Bad Type' })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect((await make({ channels: ['MOBILE'] })).errors?.[0]?.extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'input.content',
  });
  expect(
    (await make({ dataSchema: { type: 'object', properties: { a: { type: 'strin' } } } })).errors?.[0]
      ?.extensions,
  ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.dataSchema' });
  expect((await make({ documentType: 'claim_letter' })).errors?.[0]?.extensions?.code).toBe('CONFLICT');
  expect(
    (
      await make({}).then(() =>
        gql(
          `mutation ($input: CreateTemplateInput!) { createTemplate(input: $input) { id } }`,
          {
            input: {
              name: 'x',
              documentType: 'y_doc',
              channels: ['PRINT'],
              content: base.content,
              dataSchema: base.dataSchema,
            },
          },
          approver,
        ),
      )
    ).errors?.[0]?.extensions?.code,
  ).toBe('FORBIDDEN');
  const ids = (
    await gql<{ templates: { id: string }[] }>(`{ templates { id } }`, {}, svc)
  ).data!.templates.map((x) => x.id);
  expect(ids).not.toContain('tpl_Bad Type');
  expect(ids).not.toContain('tpl_y_doc');
});

test('a draft without the content a channel needs is told which keys that channel needs, and so is the schema reader', async () => {
  const make = (channels: string[], content: Record<string, unknown>) =>
    gql(
      `mutation ($input: CreateTemplateInput!) { createTemplate(input: $input) { id } }`,
      { input: { name: 'x', documentType: 'keys_doc', channels, content, dataSchema: base.dataSchema } },
      author,
    );
  const emailFromHtml = await make(['EMAIL'], { html: '<p>Dear {{customer.name}}</p>' });
  expect(emailFromHtml.errors?.[0]?.extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'input.content',
  });
  expect(emailFromHtml.errors?.[0]?.message).toBe(
    'content: EMAIL needs subject, mjml and text (missing: subject, mjml and text)',
  );
  const partly = await make(['EMAIL', 'MOBILE', 'WEB'], { subject: 'Hello', html: '<p>x</p>' });
  expect(partly.errors?.[0]?.message).toBe(
    'content: EMAIL needs subject, mjml and text (missing: mjml and text); MOBILE needs sms (missing: sms)',
  );

  const described = await gql<{ __type: { inputFields: { name: string; description: string | null }[] } }>(
    `{ __type(name: "CreateTemplateInput") { inputFields { name description } } }`,
    {},
    author,
  );
  const content = described.data!.__type.inputFields.find((f) => f.name === 'content')!;
  expect(content.description).toContain('PRINT: print; EMAIL: subject, mjml, text; WEB: html; MOBILE: sms');
});
