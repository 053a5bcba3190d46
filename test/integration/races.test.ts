import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type GqlResult, type TestGateway } from '../support/harness.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';

/**
 * Concurrent requests must give an outcome some serial order of them could
 * give (issue 9, point 2). Each race runs many rounds of truly concurrent
 * requests on PostgreSQL (a pool of connections, so the requests interleave
 * inside the database) and on PGlite (one connection: the same code, whose
 * transactions serialise). The assertions hold for every serial order and
 * fail for the interleavings the status checks outside row locks allowed.
 */
const ROUNDS = 20;
const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const backends: [string, string | null][] = [['PGlite', null]];
if (pgUrl) backends.push(['PostgreSQL', pgUrl]);

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;
const codeOf = (r: GqlResult<unknown>) => r.errors?.[0]?.extensions?.code;

describe.each(backends)('races on %s', (_name, url) => {
  let t: TestGateway;
  let db: PostgresFixture | null = null;
  let dataDir = '';
  let agent: string;
  let svc: string;

  beforeAll(async () => {
    if (url) {
      db = await freshDatabase(url);
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-races-'));
      t = await startTestGateway({ DATA_DIR: dataDir, DATABASE_URL: db.url });
    } else {
      t = await startTestGateway();
    }
    agent = await t.token('sam.agent', 'service-agent');
    svc = await t.token('claims-system', 'service');
  }, 180_000);

  afterAll(async () => {
    await t?.stop();
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('PAYMENT_CONFIRMATION and UNDERWRITING_REVIEW at once: the case always ends RESOLVED', async () => {
    const REPORT = `mutation ($input: ReportMilestoneInput!) { reportMilestone(input: $input) { id status } }`;
    for (let round = 0; round < ROUNDS; round++) {
      const started = await t.gql<{ startCase: { id: string } }>(
        `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
        {
          input: {
            kind: 'SERVICE',
            title: `Race ${round}`,
            customerId: 'cus_001',
            data: {
              ...sample('tpl_underwriting_review'),
              ...sample('tpl_payment_confirmation'),
            },
          },
        },
        agent,
      );
      expect(started.errors).toBeUndefined();
      const caseId = started.data!.startCase.id;
      const [payment, underwriting] = await Promise.all([
        t.gql<{ reportMilestone: { status: string } }>(
          REPORT,
          { input: { caseId, milestone: 'PAYMENT_CONFIRMATION' } },
          svc,
        ),
        t.gql<{ reportMilestone: { status: string } }>(
          REPORT,
          { input: { caseId, milestone: 'UNDERWRITING_REVIEW' } },
          agent,
        ),
      ]);
      // Either order: payment always succeeds and resolves the case.
      expect(payment.errors).toBeUndefined();
      expect(payment.data!.reportMilestone.status).toBe('RESOLVED');
      // Underwriting first: it succeeds (IN_PROGRESS). Payment first: the case is resolved, CONFLICT.
      if (underwriting.errors) expect(codeOf(underwriting)).toBe('CONFLICT');
      else expect(underwriting.data!.reportMilestone.status).toBe('IN_PROGRESS');

      await t.settle();
      const c = await t.gql<{ case: { status: string; milestones: { milestone: string }[] } }>(
        `query ($id: ID!) { case(id: $id) { status milestones { milestone } } }`,
        { id: caseId },
        svc,
      );
      expect(c.data!.case.status).toBe('RESOLVED');
      expect(c.data!.case.milestones.map((m) => m.milestone).sort()).toEqual(
        underwriting.errors ? ['PAYMENT_CONFIRMATION'] : ['PAYMENT_CONFIRMATION', 'UNDERWRITING_REVIEW'],
      );
    }
  }, 300_000);

  test('two operators resolve one MISSING_DATA exception at once: the winner’s data is what is regenerated', async () => {
    const ops = { a: await t.token('olga.ops', 'operations'), b: await t.token('otto.ops', 'operations') };
    const statement = sample('tpl_account_statement') as Record<string, unknown>;
    const RESOLVE = `mutation ($input: ResolveExceptionInput!) { resolveException(input: $input) {
      id status resolvedBy resolution retryDocument { id status requestedBy contentUrl } } }`;
    type Resolved = {
      resolveException: {
        status: string;
        resolvedBy: string;
        resolution: string;
        retryDocument: { id: string; status: string; requestedBy: string; contentUrl: string };
      };
    };
    for (let round = 0; round < ROUNDS; round++) {
      const failed = await t.gql<{ generateDocument: { status: string; exceptions: { id: string }[] } }>(
        `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { status exceptions { id } } }`,
        {
          input: {
            customerId: 'cus_002',
            templateId: 'tpl_account_statement',
            channel: 'EMAIL',
            data: { accountNumber: statement.accountNumber },
          },
        },
        svc,
      );
      expect(failed.data!.generateDocument.status).toBe('FAILED');
      const exceptionId = failed.data!.generateDocument.exceptions[0]!.id;
      await t.settle(); // the exception case is open

      const account = { a: `AAAA ${1000 + round}`, b: `BBBB ${1000 + round}` };
      const attempt = (who: 'a' | 'b') =>
        t.gql<Resolved>(
          RESOLVE,
          {
            input: {
              exceptionId,
              resolution: `fixed by ${who}`,
              regenerate: true,
              data: { ...statement, accountNumber: account[who] },
            },
          },
          ops[who],
        );
      const results = { a: attempt('a'), b: attempt('b') };
      const settled = { a: await results.a, b: await results.b };
      const winners = (['a', 'b'] as const).filter((w) => !settled[w].errors);
      // Exactly one wins; the other is told it lost.
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      const loser = winner === 'a' ? 'b' : 'a';
      expect(codeOf(settled[loser])).toBe('CONFLICT');

      const r = settled[winner].data!.resolveException;
      const sub = winner === 'a' ? 'olga.ops' : 'otto.ops';
      expect(r).toMatchObject({ status: 'RESOLVED', resolvedBy: sub, resolution: `fixed by ${winner}` });
      expect(r.retryDocument).toMatchObject({ status: 'GENERATED', requestedBy: sub });
      // The regenerated letter carries the winner's corrected data, not the loser's.
      const text = await fetch(new URL(`${r.retryDocument.contentUrl}?part=body.txt`, t.url), {
        headers: { authorization: `Bearer ${ops.a}` },
      }).then((res) => res.text());
      expect(text).toContain(account[winner]);
      expect(text).not.toContain(account[loser]);

      // What anyone reads afterwards is the same.
      const after = await t.gql<{ document: { exceptions: { status: string; resolvedBy: string }[] } }>(
        `query ($id: ID!) { document(id: $id) { exceptions { status resolvedBy } } }`,
        { id: r.retryDocument.id },
        svc,
      );
      expect(after.errors).toBeUndefined();
    }
  }, 300_000);

  describe('template lifecycle', () => {
    const base = SEED_TEMPLATES.find((x) => x.id === 'tpl_claim_letter')!;
    const VERSION = `id status contentHash approvals { id stage decision decidedBy contentHash }`;
    type Version = {
      id: string;
      status: string;
      contentHash: string;
      approvals: {
        id: string;
        stage: string;
        decision: string;
        decidedBy: string | null;
        contentHash: string;
      }[];
    };
    let author: string;
    let others: string;
    let compliance: string;
    beforeAll(async () => {
      author = await t.token('tina.author', 'admin');
      others = await t.token('oscar.author', 'admin');
      compliance = await t.token('carl.compliance', 'compliance');
    });
    const create = (documentType: string, token: string) =>
      t.gql<{ createTemplate: { id: string; versions: { id: string }[] } }>(
        `mutation ($input: CreateTemplateInput!) { createTemplate(input: $input) { id versions { id } } }`,
        {
          input: {
            name: `Race ${documentType}`,
            documentType,
            channels: ['PRINT'],
            content: base.content,
            dataSchema: base.dataSchema,
          },
        },
        token,
      );
    const submit = (versionId: string) =>
      t.gql<{ submitTemplateVersion: Version }>(
        `mutation ($input: TemplateVersionActionInput!) { submitTemplateVersion(input: $input) { ${VERSION} } }`,
        { input: { versionId } },
        author,
      );
    const version = async (templateId: string) =>
      (
        await t.gql<{ template: { versions: Version[] } }>(
          `query ($id: ID!) { template(id: $id) { versions { ${VERSION} } } }`,
          { id: templateId },
          compliance,
        )
      ).data!.template.versions;

    test('two creates of one document type at once: one template, one CONFLICT', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const type = `race_create_${round}`;
        const [a, b] = await Promise.all([create(type, author), create(type, others)]);
        const codes = [a, b].map((r) => (r.errors ? codeOf(r) : 'OK')).sort();
        expect(codes).toEqual(['CONFLICT', 'OK']);
        expect(await version(`tpl_${type}`)).toHaveLength(1);
      }
    }, 300_000);

    test('two approvers decide one stage at once: one decision stands, the other is CONFLICT', async () => {
      const approvers = {
        a: await t.token('ann.approver', 'approver'),
        b: await t.token('abe.approver', 'approver'),
      };
      for (let round = 0; round < ROUNDS; round++) {
        const created = await create(`race_decide_${round}`, author);
        const submitted = await submit(created.data!.createTemplate.versions[0]!.id);
        const stage = submitted.data!.submitTemplateVersion.approvals.find((x) => x.stage === 'APPROVAL')!;
        const decide = (who: 'a' | 'b', decision: string) =>
          t.gql<{ decideTemplateApproval: { decision: string; decidedBy: string } }>(
            `mutation ($input: DecideTemplateApprovalInput!) { decideTemplateApproval(input: $input) { decision decidedBy } }`,
            { input: { approvalId: stage.id, decision } },
            approvers[who],
          );
        const [a, b] = await Promise.all([decide('a', 'APPROVED'), decide('b', 'REJECTED')]);
        const winners = [a, b].filter((r) => !r.errors);
        expect(winners).toHaveLength(1);
        expect(codeOf(a.errors ? a : b)).toBe('CONFLICT');
        const won = winners[0]!.data!.decideTemplateApproval;
        const [v] = await version(created.data!.createTemplate.id);
        // What the winner was told is what was recorded, and the version moved accordingly.
        expect(v!.approvals.find((x) => x.id === stage.id)).toMatchObject(won);
        expect(v!.status).toBe(won.decision === 'APPROVED' ? 'IN_REVIEW' : 'DRAFT');
      }
    }, 300_000);

    test('an edit and a submission of one draft at once: review never starts on other content', async () => {
      const changed = { ...base.content, print: { ...(base.content.print as object), title: 'Edited' } };
      for (let round = 0; round < ROUNDS; round++) {
        const created = await create(`race_edit_${round}`, author);
        const draft = created.data!.createTemplate.versions[0]!.id;
        const [edit, submitted] = await Promise.all([
          t.gql<{ editTemplate: { id: string } }>(
            `mutation ($input: EditTemplateInput!) { editTemplate(input: $input) { id } }`,
            { input: { templateId: created.data!.createTemplate.id, content: changed } },
            author,
          ),
          submit(draft),
        ]);
        expect(submitted.errors).toBeUndefined();
        // Edit first: the submission reviews the edited content. Submission first: the edit is refused.
        if (edit.errors) expect(codeOf(edit)).toBe('CONFLICT');
        const [v] = await version(created.data!.createTemplate.id);
        expect(v!.status).toBe('IN_REVIEW');
        for (const a of v!.approvals) expect(a.contentHash).toBe(v!.contentHash);
      }
    }, 300_000);
  });
});
