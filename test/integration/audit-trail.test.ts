import { sql, type Kysely, type RawBuilder } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * Tamper-evident trails (issue 4, point 8): the case trail and the template
 * trail refuse UPDATE and DELETE in the database itself, and each entry
 * carries the hash of the one before, so an auditor's integrity query proves
 * the chain intact, or says at which entry it breaks once someone with the
 * power to switch the guards off has rewritten or slipped in an entry.
 */
let t: TestGateway;
let db: Kysely<unknown>;
let auditor: string;
let requester: string;
let admin: string;

beforeAll(async () => {
  t = await startTestGateway();
  db = t.gateway.store!.db as Kysely<unknown>;
  auditor = await t.token('audrey.auditor', 'auditor');
  requester = await t.token('rita.requester', 'requester');
  admin = await t.token('tina.author', 'admin');
});
afterAll(() => t.stop());

interface Check {
  table: string;
  entries: number;
  intact: boolean;
  firstBrokenAt: number | null;
  firstBrokenEntryId: string | null;
  reason: string | null;
  headHash: string | null;
  anchorMatches: boolean | null;
}
const CHECK = `table entries intact firstBrokenAt firstBrokenEntryId reason headHash anchorMatches`;
type Trail = 'caseTrailIntegrity' | 'templateTrailIntegrity';

async function integrity(field: Trail, anchor?: { entries: number; hash: string }): Promise<Check> {
  const r = await t.gql<Record<Trail, Check>>(
    `query ($anchor: TrailAnchorInput) { ${field}(anchor: $anchor) { ${CHECK} } }`,
    { anchor: anchor ?? null },
    auditor,
  );
  expect(r.errors).toBeUndefined();
  return r.data![field];
}

type History = { id: string; actor: string; action: string; detail: unknown }[];

async function caseHistory(id: string): Promise<History> {
  const r = await t.gql<{ case: { history: History } }>(
    `query ($id: ID!) { case(id: $id) { history { id actor action detail } } }`,
    { id },
    auditor,
  );
  return r.data!.case.history;
}

async function templateHistory(id: string): Promise<History> {
  const r = await t.gql<{ template: { history: History } }>(
    `query ($id: ID!) { template(id: $id) { history { id actor action detail } } }`,
    { id },
    auditor,
  );
  return r.data!.template.history;
}

/** A regulated document case, signed off by three people: its trail entries are real ones. */
async function signedOffCase(): Promise<string> {
  const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: 'Trail',
        customerId: 'cus_004',
        templateId: 'tpl_billing_notice',
        channel: 'PRINT',
        data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
      },
    },
    requester,
  );
  expect(started.errors).toBeUndefined();
  const deciders = [
    await t.token('rob.reviewer', 'reviewer'),
    await t.token('ann.approver', 'approver'),
    await t.token('carl.compliance', 'compliance'),
  ];
  for (const [i, a] of started.data!.startCase.approvals.entries()) {
    const r = await t.gql(
      `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
      { input: { approvalId: a.id, decision: 'APPROVED' } },
      deciders[i],
    );
    expect(r.errors).toBeUndefined();
  }
  await t.settle();
  return started.data!.startCase.id;
}

/** A new template through its lifecycle: created, submitted, approved at both stages. */
async function approvedTemplate(): Promise<string> {
  const base = SEED_TEMPLATES.find((x) => x.id === 'tpl_claim_letter')!;
  const created = await t.gql<{ createTemplate: { id: string; versions: { id: string }[] } }>(
    `mutation ($input: CreateTemplateInput!) { createTemplate(input: $input) { id versions { id } } }`,
    {
      input: {
        name: 'Claim letter (trail)',
        documentType: 'claim_letter_trail',
        channels: ['PRINT'],
        content: base.content,
        dataSchema: base.dataSchema,
      },
    },
    admin,
  );
  expect(created.errors).toBeUndefined();
  const submitted = await t.gql<{ submitTemplateVersion: { approvals: { id: string }[] } }>(
    `mutation ($input: TemplateVersionActionInput!) { submitTemplateVersion(input: $input) { approvals { id } } }`,
    { input: { versionId: created.data!.createTemplate.versions[0]!.id } },
    admin,
  );
  const [stageA, stageC] = submitted.data!.submitTemplateVersion.approvals;
  for (const [approval, token] of [
    [stageA!, await t.token('ann.approver', 'approver')],
    [stageC!, await t.token('carl.compliance', 'compliance')],
  ] as const) {
    const r = await t.gql(
      `mutation ($input: DecideTemplateApprovalInput!) { decideTemplateApproval(input: $input) { id } }`,
      { input: { approvalId: approval.id, decision: 'APPROVED', comment: 'ok' } },
      token,
    );
    expect(r.errors).toBeUndefined();
  }
  return created.data!.createTemplate.id;
}

/** As a superuser would: the table's triggers off, the statements, triggers on again. */
async function tamper(table: string, ...statements: RawBuilder<unknown>[]): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`alter table ${sql.table(table)} disable trigger user`.execute(tx);
    for (const q of statements) await q.execute(tx);
    await sql`alter table ${sql.table(table)} enable trigger user`.execute(tx);
  });
}

const seqOf = async (table: string, id: string) =>
  Number(
    (await sql<{ seq: string }>`select seq from ${sql.table(table)} where id = ${id}`.execute(db)).rows[0]!
      .seq,
  );

let caseId: string;
let templateId: string;

test('real work through the API extends both trails, which an auditor finds intact', async () => {
  const caseBefore = await integrity('caseTrailIntegrity');
  const templateBefore = await integrity('templateTrailIntegrity');
  // The demo data of a first start is already on the chains.
  expect(caseBefore).toMatchObject({ table: 'workflow.audit_events', intact: true, firstBrokenAt: null });
  expect(caseBefore.entries).toBeGreaterThan(0);
  expect(templateBefore).toMatchObject({ table: 'communications.template_audit', intact: true });

  caseId = await signedOffCase();
  templateId = await approvedTemplate();
  const caseTrail = await caseHistory(caseId);
  const templateTrail = await templateHistory(templateId);
  expect(caseTrail.map((h) => h.action)).toEqual(
    expect.arrayContaining(['CASE_STARTED', 'APPROVAL_APPROVED', 'STATUS_APPROVED', 'DOCUMENT_GENERATED']),
  );
  expect(templateTrail.length).toBeGreaterThanOrEqual(4);

  const caseAfter = await integrity('caseTrailIntegrity');
  expect(caseAfter).toMatchObject({
    intact: true,
    entries: caseBefore.entries + caseTrail.length,
    reason: null,
  });
  expect(caseAfter.headHash).toMatch(/^[0-9a-f]{64}$/);
  expect(caseAfter.headHash).not.toBe(caseBefore.headHash);
  const templateAfter = await integrity('templateTrailIntegrity');
  expect(templateAfter).toMatchObject({
    intact: true,
    entries: templateBefore.entries + templateTrail.length,
  });

  // A head recorded before is still in the chain after it grew; a made-up one is not.
  const anchor = { entries: caseBefore.entries, hash: caseBefore.headHash! };
  expect((await integrity('caseTrailIntegrity', anchor)).anchorMatches).toBe(true);
  expect((await integrity('caseTrailIntegrity', { ...anchor, hash: 'ab'.repeat(32) })).anchorMatches).toBe(
    false,
  );
  expect((await integrity('caseTrailIntegrity')).anchorMatches).toBeNull();
  for (const [bad, field] of [
    [{ entries: 0, hash: caseBefore.headHash }, 'anchor.entries'],
    [{ entries: 1, hash: 'not a hash' }, 'anchor.hash'],
  ] as const) {
    const r = await t.gql(
      `query ($a: TrailAnchorInput) { templateTrailIntegrity(anchor: $a) { intact } }`,
      { a: bad },
      auditor,
    );
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  }
});

test('only auditors, compliance and admins may run the check', async () => {
  for (const field of ['caseTrailIntegrity', 'templateTrailIntegrity']) {
    const denied = await t.gql(`{ ${field} { intact } }`, {}, requester);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(denied.data ?? null).toBeNull();
    const anonymous = await t.gql(`{ ${field} { intact } }`, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    for (const role of ['compliance', 'admin'] as const) {
      const ok = await t.gql(`{ ${field} { intact } }`, {}, await t.token(`x.${role}`, role));
      expect(ok.errors).toBeUndefined();
    }
  }
});

test('UPDATE, DELETE and TRUNCATE of trail rows are refused by the database; the trail is unchanged', async () => {
  const before = await caseHistory(caseId);
  const entry = before[0]!;
  for (const [table, q] of [
    ['workflow.audit_events', sql`update workflow.audit_events set actor = 'nobody' where id = ${entry.id}`],
    ['workflow.audit_events', sql`delete from workflow.audit_events where id = ${entry.id}`],
    ['workflow.audit_events', sql`truncate workflow.audit_events`],
    [
      'communications.template_audit',
      sql`update communications.template_audit set detail = '{}' where template_id = ${templateId}`,
    ],
    [
      'communications.template_audit',
      sql`delete from communications.template_audit where template_id = ${templateId}`,
    ],
  ] as const) {
    await expect(q.execute(db)).rejects.toThrow(new RegExp(`${table.replace('.', '\\.')} is append-only`));
  }
  expect(await caseHistory(caseId)).toEqual(before);
  expect(await integrity('caseTrailIntegrity')).toMatchObject({ intact: true });
  expect(await integrity('templateTrailIntegrity')).toMatchObject({ intact: true });
});

test('an entry rewritten behind the guards breaks the chain at that entry; restoring it mends it', async () => {
  const entry = (await caseHistory(caseId)).find((h) => h.action === 'APPROVAL_APPROVED')!;
  await tamper(
    'workflow.audit_events',
    sql`update workflow.audit_events set actor = 'someone.else' where id = ${entry.id}`,
  );
  // The history shows the forgery; the integrity check shows where it is.
  expect((await caseHistory(caseId)).find((h) => h.id === entry.id)!.actor).toBe('someone.else');
  expect(await integrity('caseTrailIntegrity')).toMatchObject({
    intact: false,
    firstBrokenEntryId: entry.id,
    firstBrokenAt: await seqOf('workflow.audit_events', entry.id),
    reason: 'ALTERED',
  });

  await tamper(
    'workflow.audit_events',
    sql`update workflow.audit_events set actor = ${entry.actor} where id = ${entry.id}`,
  );
  expect(await integrity('caseTrailIntegrity')).toMatchObject({ intact: true, firstBrokenAt: null });
});

test('a forged entry slipped into the middle of a trail, well hashed itself, is caught at the entry after it', async () => {
  const trail = await templateHistory(templateId);
  const victim = trail[1]!;
  const k = await seqOf('communications.template_audit', victim.id);
  const before = await integrity('templateTrailIntegrity');
  // Make room at position k, then a forged approval there that links to entry k-1 and hashes correctly.
  await tamper(
    'communications.template_audit',
    sql`update communications.template_audit set seq = -seq - 1 where seq >= ${k}`,
    sql`update communications.template_audit set seq = -seq where seq < 0`,
    sql`with f as (
        select 900000::bigint as id, ${templateId}::text as template_id, null::text as version_id,
          '2024-06-01T12:00:00.123Z'::timestamptz as at, 'mallory'::text as actor,
          'APPROVED_BY_BOARD'::text as action, null::jsonb as detail)
      insert into communications.template_audit
        (id, template_id, version_id, at, actor, action, detail, seq, prev_hash, hash)
      select f.*, ${k}, p.hash, sha256(p.hash || convert_to(communications.template_audit_entry_text(
          row(f.*, null, null, null)::communications.template_audit, ${k}::bigint), 'UTF8'))
      from f, communications.template_audit p
      where p.seq = ${k - 1}`,
  );
  expect((await templateHistory(templateId)).map((h) => h.actor)).toContain('mallory');
  expect(await integrity('templateTrailIntegrity')).toMatchObject({
    intact: false,
    entries: before.entries + 1,
    firstBrokenAt: k + 1,
    firstBrokenEntryId: victim.id,
    reason: 'LINK_BROKEN',
  });
  // The case trail is a chain of its own, untouched.
  expect(await integrity('caseTrailIntegrity')).toMatchObject({ intact: true });
});
