import { approvalRequired, badInput, notFound } from '../../errors/index.js';
import type { Principal } from '../../identity/index.js';
import type { CaseRow } from '../../store/tables.js';
import type { WorkflowDeps } from './deps.js';
import {
  NOTICE_TYPES,
  STAGES,
  STAGE_ROLE,
  STAGE_SLA_MS,
  STAGE_TEAM,
  noticeTarget,
  type Stage,
} from './rules.js';
import { audit, insertCase, insertTask, newId } from './store.js';

export interface StartCaseInput {
  kind: string;
  title: string;
  customerId?: string | null;
  templateId?: string | null;
  channel?: string | null;
  channelOverrideReason?: string | null;
  data?: Record<string, unknown> | null;
}

/** A regulated document: all three stages. */
export function startRegulatedDocument(d: WorkflowDeps, principal: Principal, input: StartCaseInput) {
  return startApprovedDocument(d, principal, input, () => [...STAGES]);
}

/** Ad hoc correspondence: the stages configured for its document type. */
export function startCorrespondence(d: WorkflowDeps, principal: Principal, input: StartCaseInput) {
  return startApprovedDocument(d, principal, input, (documentType) => {
    const stages = d.options.correspondenceStages[documentType];
    if (!stages) {
      throw badInput(
        `templateId: ad hoc correspondence is one of ${Object.keys(d.options.correspondenceStages).join(', ')}, not ${documentType}`,
        'templateId',
      );
    }
    return stages;
  });
}

/** A mandatory notice to customer segments: all three stages, then a batch. */
export function startMandatoryNotice(d: WorkflowDeps, principal: Principal, input: StartCaseInput) {
  return startApprovedDocument(d, principal, input, (documentType) => {
    if (!NOTICE_TYPES.has(documentType)) {
      throw badInput(
        `templateId: a mandatory notice is one of ${[...NOTICE_TYPES].join(', ')}, not ${documentType}`,
        'templateId',
      );
    }
    return [...STAGES];
  });
}

/**
 * A case whose document is generated once its approval stages are signed
 * off: regulated documents (all three stages) and ad hoc correspondence
 * (the stages configured for its document type). The document goes out on
 * the customer's preferred channel; another channel needs a recorded reason.
 */
async function startApprovedDocument(
  d: WorkflowDeps,
  principal: Principal,
  input: StartCaseInput,
  stagesFor: (documentType: string) => readonly Stage[],
): Promise<CaseRow> {
  if (!input.templateId) throw badInput(`templateId: required for ${input.kind}`, 'templateId');
  const notice = input.kind === 'MANDATORY_NOTICE' ? noticeTarget(input.data) : null;
  if (!notice && !input.customerId) throw badInput(`customerId: required for ${input.kind}`, 'customerId');
  // A notice goes to segments, not to one customer.
  const customer = notice
    ? { id: null, preferredChannel: notice.channels[0]!, segments: [] }
    : await d.ports.customer(input.customerId!);
  if (!customer) throw notFound('Customer', input.customerId!);
  const version = await d.ports.approvedVersion(input.templateId);
  if (version === 'NO_TEMPLATE') throw notFound('Template', input.templateId);
  if (!version) throw approvalRequired(`Template ${input.templateId} has no approved version`);
  const stages = stagesFor(version.documentType);
  const channel = input.channel ?? customer.preferredChannel;
  for (const c of notice?.channels ?? [channel]) {
    if (!version.channels.includes(c))
      throw badInput(
        `channel: template ${input.templateId} does not support ${c}`,
        notice ? 'data.channels' : 'channel',
      );
  }
  const reason = input.channelOverrideReason?.trim() || null;
  if (reason && reason.length > 500)
    throw badInput('channelOverrideReason: at most 500 characters', 'channelOverrideReason');
  const override =
    channel !== customer.preferredChannel ? { from: customer.preferredChannel, to: channel, reason } : null;
  if (override && !reason && input.kind === 'CORRESPONDENCE') {
    throw badInput(
      `channelOverrideReason: the customer prefers ${customer.preferredChannel}; sending by ${channel} needs a reason`,
      'channelOverrideReason',
    );
  }
  const caseId = newId('case');
  const now = Date.now();
  return d.outbox.transaction(async (tx, emit) => {
    const row = await insertCase(tx, {
      id: caseId,
      kind: input.kind,
      status: 'AWAITING_APPROVAL',
      title: input.title,
      customer_id: customer.id,
      template_id: version.templateId,
      // Pinned now: a version approved later must not change what was reviewed.
      template_version_id: version.templateVersionId,
      channel,
      data: JSON.stringify(input.data ?? {}),
      started_by: principal.sub,
      assigned_team: STAGE_TEAM[stages[0]!],
      due_at: new Date(now + stages.length * STAGE_SLA_MS),
    });
    for (const [seq, stage] of stages.entries()) {
      const approvalId = newId('apr');
      await tx
        .insertInto('workflow.approvals')
        .values({
          id: approvalId,
          case_id: caseId,
          stage,
          seq,
          decision: 'PENDING',
          decided_by: null,
          decided_at: null,
          comment: null,
        })
        .execute();
      await insertTask(tx, {
        id: newId('task'),
        case_id: caseId,
        approval_id: approvalId,
        kind: 'APPROVAL',
        role: STAGE_ROLE[stage],
        team: STAGE_TEAM[stage],
        status: 'OPEN',
        due_at: new Date(now + (seq + 1) * STAGE_SLA_MS),
      });
    }
    await audit(tx, caseId, principal.sub, 'CASE_STARTED', {
      kind: input.kind,
      templateId: version.templateId,
      templateVersionId: version.templateVersionId,
      channel,
      stages,
      channelOverride: override,
    });
    await d.processStarting(tx, {
      caseId,
      caseKind: input.kind,
      title: input.title,
      customerId: customer.id,
      templateId: version.templateId,
      requestedBy: principal.sub,
      stages: [...stages],
    });
    await emit('CASE_UPDATED', { caseId });
    return row;
  });
}
