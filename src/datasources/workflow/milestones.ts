import { approvalRequired, badInput, conflict, notFound } from '../../errors/index.js';
import type { Principal } from '../../identity/index.js';
import type { CaseRow } from '../../store/tables.js';
import type { MilestoneCommand, WorkflowDeps } from './deps.js';
import type { StartCaseInput } from './documents.js';
import { MILESTONES, TERMINAL } from './rules.js';
import { audit, insertCase, lockCase, newId, readCase, setStatus } from './store.js';

/** A claim, underwriting, escalation or payment case whose milestones trigger communications. */
export async function startService(
  d: WorkflowDeps,
  principal: Principal,
  input: StartCaseInput,
): Promise<CaseRow> {
  if (!input.customerId) throw badInput('customerId: required for SERVICE', 'customerId');
  const customer = await d.ports.customer(input.customerId);
  if (!customer) throw notFound('Customer', input.customerId);
  const caseId = newId('case');
  return d.outbox.transaction(async (tx, emit) => {
    const row = await insertCase(tx, {
      id: caseId,
      kind: 'SERVICE',
      status: 'OPEN',
      title: input.title,
      customer_id: customer.id,
      channel: input.channel ?? customer.preferredChannel,
      data: JSON.stringify(input.data ?? {}),
      started_by: principal.sub,
      assigned_team: 'customer-service',
    });
    await audit(tx, caseId, principal.sub, 'CASE_STARTED', { kind: 'SERVICE', channel: row.channel });
    await d.processStarting(tx, {
      caseId,
      caseKind: 'SERVICE',
      title: input.title,
      customerId: customer.id,
      templateId: null,
      requestedBy: principal.sub,
      stages: [],
    });
    await emit('CASE_UPDATED', { caseId });
    return row;
  });
}

/**
 * A milestone of a SERVICE case. The first report records it, moves the
 * case on and asks for the communication the mapping names for this
 * milestone, customer segment and case status, on the customer's preferred
 * channel. A repeated report is recorded in the trail and sends nothing.
 */
export async function reportMilestone(
  d: WorkflowDeps,
  principal: Principal,
  input: { caseId: string; milestone: string; data?: Record<string, unknown> | null },
): Promise<CaseRow> {
  if (!(MILESTONES as readonly string[]).includes(input.milestone))
    throw badInput('milestone: unknown', 'milestone');
  const data = input.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) throw badInput('data: a JSON object', 'data');
  const c = await d.db
    .selectFrom('workflow.cases')
    .selectAll()
    .where('id', '=', input.caseId)
    .executeTakeFirst();
  if (!c) throw notFound('Case', input.caseId);
  if (c.kind !== 'SERVICE') throw badInput(`caseId: case ${c.id} is a ${c.kind} case, not SERVICE`, 'caseId');
  if (TERMINAL.has(c.status)) throw conflict(`Case ${c.id} is ${c.status}`);
  const customer = c.customer_id ? await d.ports.customer(c.customer_id) : null;
  if (!customer) throw notFound('Customer', c.customer_id ?? '');
  const nextStatus = input.milestone === 'PAYMENT_CONFIRMATION' ? 'RESOLVED' : 'IN_PROGRESS';
  const rule = (d.options.milestoneCommunications ?? []).find(
    (r) =>
      r.milestone === input.milestone &&
      (!r.segment || customer.segments.includes(r.segment)) &&
      (!r.status || r.status === nextStatus),
  );
  const version = rule ? await d.ports.approvedVersion(rule.templateId) : null;
  if (rule && (version === 'NO_TEMPLATE' || !version)) {
    throw approvalRequired(
      `Milestone ${input.milestone} maps to ${rule.templateId}, which has no approved version`,
    );
  }
  const approved = version && version !== 'NO_TEMPLATE' ? version : null;
  // The preferred channel when the template has it; else the first it supports.
  const channel = approved
    ? approved.channels.includes(customer.preferredChannel)
      ? customer.preferredChannel
      : approved.channels[0]!
    : null;
  const reported = await d.outbox.transaction(async (tx, emit) => {
    // The checks above only chose the communication; the status check that decides runs
    // here, on the locked row, so a milestone racing one that resolves the case serialises.
    const locked = await lockCase(tx, c.id);
    if (TERMINAL.has(locked.status)) throw conflict(`Case ${c.id} is ${locked.status}`);
    const inserted = await tx
      .insertInto('workflow.case_milestones')
      .values({
        case_id: c.id,
        milestone: input.milestone,
        reported_by: principal.sub,
        template_id: approved?.templateId ?? null,
        document_id: null,
      })
      .onConflict((oc) => oc.columns(['case_id', 'milestone']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) {
      await audit(tx, c.id, principal.sub, 'MILESTONE_REPEATED', { milestone: input.milestone });
      await emit('CASE_UPDATED', { caseId: c.id });
      return { sends: false, row: await readCase(tx, c.id) };
    }
    await audit(tx, c.id, principal.sub, 'MILESTONE_REACHED', {
      milestone: input.milestone,
      communication: approved ? { templateId: approved.templateId, channel } : null,
    });
    await setStatus(tx, emit, c.id, nextStatus, principal.sub, { milestone: input.milestone });
    if (approved && channel) {
      const cmd: MilestoneCommand = {
        caseId: c.id,
        milestone: input.milestone,
        generate: {
          caseId: c.id,
          customerId: customer.id,
          templateVersionId: approved.templateVersionId,
          channel,
          data: { ...((locked.data ?? {}) as Record<string, unknown>), ...data },
          requestedBy: principal.sub,
          // One communication per milestone of a case, however often it is reported or retried.
          idempotencyKey: `milestone:${c.id}:${input.milestone}`,
        },
      };
      await d.commands.enqueue(tx, 'milestoneCommunication', cmd);
    }
    return { sends: !!(approved && channel), row: await readCase(tx, c.id) };
  });
  if (reported.sends) {
    // Answer with the milestone's document (`milestones { document }`) when it is quick.
    await d.followUp(() =>
      d.db
        .selectFrom('workflow.case_milestones')
        .select('document_id')
        .where('case_id', '=', c.id)
        .where('milestone', '=', input.milestone)
        .where('document_id', 'is not', null)
        .executeTakeFirst(),
    );
  }
  // The case as this request left it; `milestones` is read when the answer is resolved.
  return reported.row;
}

/** Command handler: the milestone's document, linked to the milestone and the trail. */
export async function runMilestoneCommunication(d: WorkflowDeps, cmd: MilestoneCommand): Promise<void> {
  const outcome = await d.ports.generateForCase(cmd.generate);
  await d.outbox.transaction(async (tx, emit) => {
    const linked = await tx
      .updateTable('workflow.case_milestones')
      .set({ document_id: outcome.documentId })
      .where('case_id', '=', cmd.caseId)
      .where('milestone', '=', cmd.milestone)
      .where('document_id', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!linked) return;
    await audit(
      tx,
      cmd.caseId,
      'system',
      outcome.status === 'GENERATED' ? 'MILESTONE_COMMUNICATION_SENT' : 'GENERATION_FAILED',
      { milestone: cmd.milestone, documentId: outcome.documentId },
    );
    await emit('CASE_UPDATED', { caseId: cmd.caseId });
  });
}
