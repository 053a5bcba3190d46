import type { Principal, Role } from '../identity/index.js';
import { SEED_TEMPLATES } from '../datasources/communications/seed/templates.js';
import type { SubgraphSet } from './inprocess.js';

const as = (sub: string, ...roles: Role[]): Principal => ({ sub, roles });
const requester = as('demo.requester@northwind', 'requester');
const reviewer = as('demo.reviewer@northwind', 'reviewer');
const approver = as('demo.approver@northwind', 'approver');
const compliance = as('demo.compliance@northwind', 'compliance');
const service = as('demo.batch-service', 'service');
const agent = as('demo.agent@contoso', 'service-agent');

function sample(templateId: string): Record<string, unknown> {
  const t = SEED_TEMPLATES.find((x) => x.id === templateId);
  if (!t) throw new Error(`demo data needs template ${templateId}`);
  return t.sampleData;
}

/**
 * Demo cases in different states, made through the same services the API
 * uses (so they obey every rule and leave the same trail): one waiting for
 * review, one half approved, one generated and delivered, one rejected, one
 * whose email delivery fails, one generation with missing data.
 */
export async function seedDemoCases(s: SubgraphSet): Promise<void> {
  const wf = s.workflow.service;
  const decide = async (
    caseId: string,
    who: Principal,
    stage: number,
    decision: 'APPROVED' | 'REJECTED',
    comment: string,
  ) => {
    const approvals = await s.workflow.service.approvalsOf(caseId);
    await wf.decideApproval(who, { approvalId: approvals[stage]!.id, decision, comment });
  };

  await wf.startCase(requester, {
    kind: 'REGULATED_DOCUMENT',
    title: 'Q4 account statement for Łukasz Żółć',
    customerId: 'cus_001',
    templateId: 'tpl_account_statement',
    data: sample('tpl_account_statement'),
  });

  const halfway = await wf.startCase(requester, {
    kind: 'REGULATED_DOCUMENT',
    title: 'Policy pack renewal for Ștefan Ionescu',
    customerId: 'cus_002',
    templateId: 'tpl_policy_pack',
    channel: 'PRINT',
    data: sample('tpl_policy_pack'),
  });
  await decide(halfway.id, reviewer, 0, 'APPROVED', 'Wording checked against the policy schedule.');

  const done = await wf.startCase(requester, {
    kind: 'REGULATED_DOCUMENT',
    title: 'Billing notice, November',
    customerId: 'cus_004',
    templateId: 'tpl_billing_notice',
    channel: 'PRINT',
    data: sample('tpl_billing_notice'),
  });
  await decide(done.id, reviewer, 0, 'APPROVED', 'Amounts reconciled.');
  await decide(done.id, approver, 1, 'APPROVED', 'Approved for issue.');
  await decide(done.id, compliance, 2, 'APPROVED', 'Meets disclosure rules.');

  const rejected = await wf.startCase(requester, {
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
  const failing = await wf.startCase(requester, {
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
  await s.communications.service.generate({
    actor: service.sub,
    // The seeder's own key, so a re-run of seeding finds the document.
    scope: 'system',
    customerId: 'cus_006',
    templateId: 'tpl_account_statement',
    data: { accountNumber: 'GB00 NWBK 6016 1331 9268 19' },
    idempotencyKey: 'demo:missing-data',
  });

  // Ad hoc correspondence waiting for its one approval stage.
  await wf.startCase(agent, {
    kind: 'CORRESPONDENCE',
    title: 'Claim decision letter',
    customerId: 'cus_012',
    templateId: 'tpl_claim_letter',
    data: sample('tpl_claim_letter'),
  });

  // A claim that reached intake (its acknowledgement went out) and waits for payment.
  const claim = await wf.startCase(agent, {
    kind: 'SERVICE',
    title: 'Storm damage claim',
    customerId: 'cus_009',
    data: { ...sample('tpl_claim_intake'), ...sample('tpl_payment_confirmation') },
  });
  await wf.reportMilestone(service, { caseId: claim.id, milestone: 'CLAIM_INTAKE' });

  // A dispute acknowledged, with its final response still to write.
  const dispute = await wf.startCase(agent, {
    kind: 'DISPUTE',
    title: 'Disputed card payment',
    customerId: 'cus_002',
    data: {
      ...sample('tpl_dispute_acknowledgement'),
      ...sample('tpl_dispute_interim_update'),
      ...sample('tpl_dispute_final_response'),
    },
  });
  await s.workflow.service.disputes!.sendLetter(agent, { caseId: dispute.id, letter: 'ACKNOWLEDGEMENT' });

  // A mandatory rate-change notice to savings customers, reviewed and waiting for the approver.
  const notice = await wf.startCase(as('demo.compliance.lead@northwind', 'compliance'), {
    kind: 'MANDATORY_NOTICE',
    title: 'Savings rate change, May',
    templateId: 'tpl_rate_change_notice',
    data: { segments: ['savings'], channels: ['EMAIL', 'MOBILE'], ...sample('tpl_rate_change_notice') },
  });
  await decide(notice.id, reviewer, 0, 'APPROVED', 'Rates and dates match the board minute.');

  // A reissue of the delivered billing notice, waiting for a second agent's authorisation.
  await s.settle();
  const [billing] = await s.communications.reader.documentsByCase([done.id]);
  if (billing?.[0]) {
    await wf.reissue(agent, { documentId: billing[0].id, reason: 'Customer lost the original notice' });
  }
}
