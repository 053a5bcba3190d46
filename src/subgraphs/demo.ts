import type { Principal, Role } from '../identity/index.js';
import { SEED_TEMPLATES } from '../datasources/communications/seed/templates.js';
import type { SubgraphSet } from './inprocess.js';
import { ErrorCode, GraphQLErrorWithCode } from '../errors/index.js';
import type { CaseRow } from '../store/tables.js';
import { reissueTitle, type StartCaseInput } from '../datasources/workflow/service.js';

const as = (sub: string, ...roles: Role[]): Principal => ({ sub, roles });
const requester = as('demo.requester@northwind', 'requester');
const reviewer = as('demo.reviewer@northwind', 'reviewer');
const approver = as('demo.approver@northwind', 'approver');
const compliance = as('demo.compliance@northwind', 'compliance');
const service = as('demo.batch-service', 'service');
const agent = as('demo.agent@contoso', 'service-agent');

/** The demo case whose delivered notice the last step reissues. */
const BILLING_TITLE = 'Billing notice, November';

/**
 * Whether an earlier start carried the seeding to its end: its last step (the reissue below) is
 * there. The steps run one after another, each finished before the next, so the last one's being
 * there means every one before it was done: a restart reads this (three queries) instead of
 * walking every step again (issue 13, item 4). Keep the reissue the last step.
 */
async function seededToTheEnd(s: SubgraphSet): Promise<boolean> {
  const billing = await s.workflow.reader.startedWithTitle(requester.sub, BILLING_TITLE);
  if (!billing) return false;
  const [documents] = await s.communications.reader.documentsByCase([billing.id]);
  const original = documents?.[0];
  if (!original) return false;
  return (await s.workflow.reader.startedWithTitle(agent.sub, reissueTitle(original.id))) !== null;
}

function sample(templateId: string): Record<string, unknown> {
  const t = SEED_TEMPLATES.find((x) => x.id === templateId);
  if (!t) throw new Error(`demo data needs template ${templateId}`);
  return t.sampleData;
}

/**
 * Demo cases in different states, made through the same services the API
 * uses (so they obey every rule and leave the same trail): one waiting for
 * review, one half approved, one generated and delivered, one rejected, one
 * whose email delivery fails, one generation with missing data, and more.
 *
 * Seeding is resumable: it runs on every start with SEED_DEMO on, finds each
 * demo case it already made (by its seeder and title) and does only the steps
 * still missing. A start killed half-way through seeding (kill -9, a crash)
 * therefore ends with all demo cases on the next start, however it was
 * interrupted; a store that was fully seeded gets nothing new. A step that a
 * user's own action made impossible (a stage decided in the meantime) answers
 * CONFLICT and is skipped: the seeder never overrides what a user did.
 *
 * Returns how many steps it carried out (0 on a store already seeded).
 */
export async function seedDemoCases(s: SubgraphSet): Promise<number> {
  if (await seededToTheEnd(s)) return 0;
  const wf = s.workflow.service;
  let steps = 0;
  /** Runs a step that may have been done already (a re-run after a crash): CONFLICT means done. */
  const step = async (action: () => Promise<unknown>): Promise<void> => {
    try {
      await action();
      steps++;
    } catch (err) {
      if (err instanceof GraphQLErrorWithCode && err.code === ErrorCode.CONFLICT) return;
      throw err;
    }
  };
  const ensureCase = async (who: Principal, input: StartCaseInput): Promise<CaseRow> => {
    const found = await s.workflow.reader.startedWithTitle(who.sub, input.title);
    if (found) return found;
    steps++;
    return wf.startCase(who, input);
  };
  const decide = async (
    caseId: string,
    who: Principal,
    stage: number,
    decision: 'APPROVED' | 'REJECTED',
    comment: string,
  ) => {
    const approvals = await wf.approvalsOf(caseId);
    const approval = approvals[stage];
    if (!approval || approval.decision !== 'PENDING') return;
    await step(() => wf.decideApproval(who, { approvalId: approval.id, decision, comment }));
  };

  await ensureCase(requester, {
    kind: 'REGULATED_DOCUMENT',
    title: 'Q4 account statement for Łukasz Żółć',
    customerId: 'cus_001',
    templateId: 'tpl_account_statement',
    data: sample('tpl_account_statement'),
  });

  const halfway = await ensureCase(requester, {
    kind: 'REGULATED_DOCUMENT',
    title: 'Policy pack renewal for Ștefan Ionescu',
    customerId: 'cus_002',
    templateId: 'tpl_policy_pack',
    channel: 'PRINT',
    data: sample('tpl_policy_pack'),
  });
  await decide(halfway.id, reviewer, 0, 'APPROVED', 'Wording checked against the policy schedule.');

  const done = await ensureCase(requester, {
    kind: 'REGULATED_DOCUMENT',
    title: BILLING_TITLE,
    customerId: 'cus_004',
    templateId: 'tpl_billing_notice',
    channel: 'PRINT',
    data: sample('tpl_billing_notice'),
  });
  await decide(done.id, reviewer, 0, 'APPROVED', 'Amounts reconciled.');
  await decide(done.id, approver, 1, 'APPROVED', 'Approved for issue.');
  await decide(done.id, compliance, 2, 'APPROVED', 'Meets disclosure rules.');

  const rejected = await ensureCase(requester, {
    kind: 'REGULATED_DOCUMENT',
    title: 'Policy pack with outdated terms',
    customerId: 'cus_005',
    templateId: 'tpl_policy_pack',
    channel: 'PRINT',
    data: sample('tpl_policy_pack'),
  });
  await decide(rejected.id, reviewer, 0, 'APPROVED', 'Looks fine to me.');
  await decide(
    rejected.id,
    approver,
    1,
    'REJECTED',
    'Terms refer to the 2024 schedule; redo with the current one.',
  );

  // cus_003 prefers email but has no address: the delivery fails and opens an exception case.
  const failing = await ensureCase(requester, {
    kind: 'REGULATED_DOCUMENT',
    title: 'Account confirmation by email',
    customerId: 'cus_003',
    templateId: 'tpl_account_confirmation',
    channel: 'EMAIL',
    data: sample('tpl_account_confirmation'),
  });
  await decide(failing.id, reviewer, 0, 'APPROVED', 'OK.');
  await decide(failing.id, approver, 1, 'APPROVED', 'OK.');
  await decide(failing.id, compliance, 2, 'APPROVED', 'OK.');

  // A generation without the statement's required data: FAILED with MISSING_DATA.
  // Its idempotency key makes a re-run find the document instead of making another.
  await s.communications.service.generate({
    actor: service.sub,
    scope: 'system',
    customerId: 'cus_006',
    templateId: 'tpl_account_statement',
    data: { accountNumber: 'GB00 NWBK 6016 1331 9268 19' },
    idempotencyKey: 'demo:missing-data',
  });

  // Ad hoc correspondence waiting for its one approval stage.
  await ensureCase(agent, {
    kind: 'CORRESPONDENCE',
    title: 'Claim decision letter',
    customerId: 'cus_012',
    templateId: 'tpl_claim_letter',
    data: sample('tpl_claim_letter'),
  });

  // A claim that reached intake (its acknowledgement went out) and waits for payment.
  const claim = await ensureCase(agent, {
    kind: 'SERVICE',
    title: 'Storm damage claim',
    customerId: 'cus_009',
    data: { ...sample('tpl_claim_intake'), ...sample('tpl_payment_confirmation') },
  });
  const [milestones] = await s.workflow.reader.milestonesByCase([claim.id]);
  if (!milestones?.some((m) => m.milestone === 'CLAIM_INTAKE')) {
    await step(() => wf.reportMilestone(service, { caseId: claim.id, milestone: 'CLAIM_INTAKE' }));
  }

  // A dispute acknowledged, with its final response still to write (a second ACKNOWLEDGEMENT is a CONFLICT).
  const dispute = await ensureCase(agent, {
    kind: 'DISPUTE',
    title: 'Disputed card payment',
    customerId: 'cus_002',
    data: {
      ...sample('tpl_dispute_acknowledgement'),
      ...sample('tpl_dispute_interim_update'),
      ...sample('tpl_dispute_final_response'),
    },
  });
  await step(() =>
    s.workflow.service.disputes!.sendLetter(agent, { caseId: dispute.id, letter: 'ACKNOWLEDGEMENT' }),
  );

  // A mandatory rate-change notice to savings customers, reviewed and waiting for the approver.
  const notice = await ensureCase(as('demo.compliance.lead@northwind', 'compliance'), {
    kind: 'MANDATORY_NOTICE',
    title: 'Savings rate change, May',
    templateId: 'tpl_rate_change_notice',
    data: { segments: ['savings'], channels: ['EMAIL', 'MOBILE'], ...sample('tpl_rate_change_notice') },
  });
  await decide(notice.id, reviewer, 0, 'APPROVED', 'Rates and dates match the board minute.');

  // A reissue of the delivered billing notice, waiting for a second agent's authorisation.
  await s.settle();
  const [billing] = await s.communications.reader.documentsByCase([done.id]);
  const original = billing?.[0];
  if (original && !(await s.workflow.reader.startedWithTitle(agent.sub, reissueTitle(original.id)))) {
    steps++;
    await wf.reissue(agent, { documentId: original.id, reason: 'Customer lost the original notice' });
  }
  return steps;
}
