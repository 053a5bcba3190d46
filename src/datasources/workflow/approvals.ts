import type { Transaction } from 'kysely';
import type { Emit } from '../../events/index.js';
import { badInput, notFound } from '../../errors/index.js';
import type { Principal } from '../../identity/index.js';
import type { ApprovalRow, CaseRow, WorkflowDB } from '../../store/tables.js';
import type { WorkflowDeps } from './deps.js';
import {
  GENERATING_KINDS,
  STAGE_TEAM,
  approvalStateOf,
  checkApprovalDecision,
  noticeTarget,
  type ApprovalState,
  type Stage,
} from './rules.js';
import { appliedByPoller, audit, lockCase, setStatus } from './store.js';

export interface DecideApprovalInput {
  approvalId: string;
  decision: string;
  comment?: string | null;
}

/** Input checks of a decision that need no store. */
export function checkDecisionInput(input: DecideApprovalInput): void {
  if (input.decision !== 'APPROVED' && input.decision !== 'REJECTED') {
    throw badInput('decision: APPROVED or REJECTED', 'decision');
  }
  if (input.comment != null && input.comment.length > 2000)
    throw badInput('comment: at most 2000 characters', 'comment');
}

/** An approval, its case locked, and all the case's approvals in stage order. */
export async function lockApproval(
  tx: Transaction<WorkflowDB>,
  approvalId: string,
): Promise<{ c: CaseRow; all: ApprovalRow[]; target: ApprovalRow }> {
  const found = await tx
    .selectFrom('workflow.approvals')
    .select('case_id')
    .where('id', '=', approvalId)
    .executeTakeFirst();
  if (!found) throw notFound('Approval', approvalId);
  // Lock the case: two deciders racing on one case serialise here.
  const c = await lockCase(tx, found.case_id);
  const all = await tx
    .selectFrom('workflow.approvals')
    .selectAll()
    .where('case_id', '=', c.id)
    .orderBy('seq')
    .execute();
  return { c, all, target: all.find((a) => a.id === approvalId)! };
}

/** A stage's decision, checked against the rules and recorded with what follows from it. */
export async function decideApproval(
  d: WorkflowDeps,
  principal: Principal,
  input: DecideApprovalInput,
): Promise<ApprovalRow> {
  checkDecisionInput(input);
  // Connected: the graph's rules first (a refusal never reaches Workflow Service), then the task
  // is claimed and completed there, and only then is the decision recorded, checked again.
  const receipt = d.tasks.connected ? await decideTask(d, principal, input) : null;
  return d.outbox.transaction(async (tx, emit) => {
    const { c, all, target } = await lockApproval(tx, input.approvalId);
    // The poller may have read our own completion from Workflow Service's history and applied it
    // between the completion and this transaction: the stage is then decided, by this caller, as
    // asked. That is this request's success, not a conflict.
    if (receipt && target.decision !== 'PENDING' && (await appliedByPoller(tx, receipt.taskId))) {
      return target;
    }
    checkApprovalDecision(principal, c, all, target);
    await d.tasks.record(tx, receipt);
    return recordDecision(d, tx, emit, principal.sub, c, all, target, input);
  });
}

/**
 * Connected: the decision in the task's system, after the graph's rules passed. A rejected
 * final response sends a dispute back for rework in the graph while `rejected` would end its
 * process: that rejection is a comment on the process, and the task stays open for the
 * resubmission's sign-off.
 */
async function decideTask(d: WorkflowDeps, principal: Principal, input: DecideApprovalInput) {
  const action = await d.db.transaction().execute(async (tx) => {
    const { c, all, target } = await lockApproval(tx, input.approvalId);
    checkApprovalDecision(principal, c, all, target);
    return {
      caseRow: c,
      taskKey: taskKeyOf(c, target),
      actor: principal.sub,
      outcome: input.decision === 'APPROVED' ? ('approved' as const) : ('rejected' as const),
      comment: input.comment ?? null,
      approvalId: target.id,
    };
  });
  if (action.caseRow.kind === 'DISPUTE' && action.outcome === 'rejected') {
    await d.tasks.comment(
      action.caseRow,
      `Final response sent back for rework by ${principal.sub}${input.comment ? `: ${input.comment}` : ''}`,
    );
    return null;
  }
  return d.tasks.complete(action);
}

/** The Workflow Service task behind a stage (contract: a dispute's one stage is `final_response`). */
export function taskKeyOf(c: CaseRow, approval: ApprovalRow): string {
  return c.kind === 'DISPUTE' ? 'final_response' : approval.stage.toLowerCase();
}

/**
 * Records a checked decision of `target` by `actor` on the locked case `c`:
 * the stage, its task, the trail, and what the decision moves on (the next
 * stage, rejection, or sign-off and the work it starts).
 */
export async function recordDecision(
  d: WorkflowDeps,
  tx: Transaction<WorkflowDB>,
  emit: Emit,
  actor: string,
  c: CaseRow,
  all: readonly ApprovalRow[],
  target: ApprovalRow,
  input: { decision: string; comment?: string | null },
): Promise<ApprovalRow> {
  const stage = target.stage as Stage;
  const decidedAt = new Date();
  const updated = await tx
    .updateTable('workflow.approvals')
    .set({
      decision: input.decision,
      decided_by: actor,
      decided_at: decidedAt,
      comment: input.comment ?? null,
    })
    .where('id', '=', target.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await tx
    .updateTable('workflow.tasks')
    .set({ status: 'DONE', completed_at: decidedAt, assignee: actor })
    .where('approval_id', '=', target.id)
    .execute();
  await audit(tx, c.id, actor, input.decision === 'APPROVED' ? 'APPROVAL_APPROVED' : 'APPROVAL_REJECTED', {
    stage,
    comment: input.comment ?? null,
  });
  const next = all.find((a) => a.seq === target.seq + 1);
  if (input.decision === 'REJECTED' && c.kind === 'DISPUTE') {
    // A rejected final response goes back for rework; the dispute stays open.
    await setStatus(tx, emit, c.id, 'IN_PROGRESS', actor, { stage, finalResponse: 'REJECTED' });
  } else if (input.decision === 'REJECTED') {
    await tx
      .updateTable('workflow.tasks')
      .set({ status: 'CANCELLED', completed_at: decidedAt })
      .where('case_id', '=', c.id)
      .where('status', '=', 'OPEN')
      .execute();
    await setStatus(tx, emit, c.id, 'REJECTED', actor, { stage }, { assigned_team: null });
  } else if (next) {
    await tx
      .updateTable('workflow.cases')
      .set({ assigned_team: STAGE_TEAM[next.stage as Stage], updated_at: decidedAt })
      .where('id', '=', c.id)
      .execute();
    await emit('CASE_UPDATED', { caseId: c.id });
  } else {
    await setStatus(tx, emit, c.id, 'APPROVED', actor, {}, { assigned_team: null });
    await signedOff(d, tx, actor, c);
  }
  return updated;
}

/** The work a case's last approval starts: a notice's batch, a dispute's letter, a document. */
async function signedOff(d: WorkflowDeps, tx: Transaction<WorkflowDB>, actor: string, c: CaseRow) {
  if (c.kind === 'MANDATORY_NOTICE' && c.template_version_id) {
    const target = noticeTarget(c.data);
    await d.commands.enqueue(tx, 'launchNotice', {
      caseId: c.id,
      templateVersionId: c.template_version_id,
      segments: target.segments,
      channels: target.channels,
      data: (c.data ?? {}) as Record<string, unknown>,
      requestedBy: c.started_by,
    });
  }
  if (c.kind === 'DISPUTE') {
    const pending = ((c.subject ?? {}) as { pendingFinal?: Record<string, unknown> }).pendingFinal ?? {};
    await d.commands.enqueue(tx, 'disputeLetter', {
      caseId: c.id,
      letter: 'FINAL_RESPONSE',
      data: pending,
      requestedBy: actor,
    });
  }
  if (GENERATING_KINDS.has(c.kind) && c.template_version_id && c.customer_id && c.channel) {
    await d.commands.enqueue(tx, 'generateForCase', {
      caseId: c.id,
      customerId: c.customer_id,
      templateVersionId: c.template_version_id,
      channel: c.channel,
      data: (c.data ?? {}) as Record<string, unknown>,
      requestedBy: c.started_by,
      // One document per case, however often the command runs.
      idempotencyKey: `case:${c.id}`,
    });
  }
}

/** Is generation for this case signed off? */
export async function approvalState(
  d: WorkflowDeps,
  caseId: string,
): Promise<{ state: ApprovalState; caseRow: CaseRow } | null> {
  const c = await d.db.selectFrom('workflow.cases').selectAll().where('id', '=', caseId).executeTakeFirst();
  if (!c) return null;
  const approvals = await d.db
    .selectFrom('workflow.approvals')
    .select('decision')
    .where('case_id', '=', caseId)
    .execute();
  return { state: approvalStateOf(approvals.map((a) => a.decision)), caseRow: c };
}
