/**
 * Decisions made in OpenText's own task UI (contract, "Decisions made in OpenText count"): one
 * completed Workflow Service task, applied to its case in one transaction with the record that it
 * was applied, so it is applied once whatever the restarts and replicas.
 *
 * The graph's rules apply as they do to `decideApproval`, except the role check (in OpenText the
 * candidate group is what lets a user see the task): the stage must be pending, the case awaiting
 * approval, the earlier stages approved, and the four-eyes rules kept. A decision that breaks a
 * four-eyes rule is recorded on the trail as `FOUR_EYES_VIOLATION` and does not decide the stage;
 * one that breaks another rule is recorded as `OUTSIDE_DECISION_REFUSED`. Either way the stage
 * stays pending in the graph, for someone else to decide there.
 */
import type { Transaction } from 'kysely';
import type { Emit } from '../../../events/index.js';
import { fourEyesViolation } from '../../../policy/four-eyes.js';
import type { ApprovalRow, CaseRow, WorkflowDB } from '../../../store/tables.js';
import { recordDecision } from '../approvals.js';
import type { WorkflowDeps } from '../deps.js';
import type { Stage } from '../rules.js';
import { audit } from '../store.js';

/** Approval task definition key → the graph's stage (contract, "Tasks"). */
const APPROVAL_TASK_STAGES: Readonly<Record<string, Stage>> = {
  review: 'REVIEW',
  approval: 'APPROVAL',
  compliance: 'COMPLIANCE',
  // A dispute's final response is its single APPROVAL stage in the graph.
  final_response: 'APPROVAL',
};

/** One task completed in Workflow Service, as the poller read it from history. */
export interface OutsideCompletion {
  readonly taskId: string;
  /** The task definition key (`review`, `final_response`, ...). */
  readonly taskKey: string;
  readonly caseId: string;
  readonly processInstanceId: string | null;
  /** The OpenText user id of the task's assignee when it was completed. */
  readonly assignee: string | null;
  /** The assignee as the graph knows them (through WORKFLOW_IDENTITY_MAP). */
  readonly decidedBy: string | null;
  /** `approved` or `rejected` for approval tasks (the `<task key>Outcome` variable). */
  readonly outcome: string | null;
  readonly comment: string | null;
  readonly completedAt: Date | null;
}

/** What a completion did in the graph; stored with it. */
export type OutsideResult =
  /** It decided the stage, as `decideApproval` would have. */
  | 'APPLIED'
  /** A completion the graph itself made, or of a stage already decided in the graph. */
  | 'ALREADY_DECIDED'
  /** It broke a four-eyes rule: on the trail, the stage undecided. */
  | 'FOUR_EYES_VIOLATION'
  /** It broke another rule of the graph: on the trail, the stage undecided. */
  | 'REFUSED'
  /** A task the graph takes no decision from, whose case the graph has already moved on. */
  | 'NOT_APPLICABLE';

/** Which rule a refused outside decision broke (trail detail `reason`). */
type Refusal =
  | { reason: 'NO_SUCH_STAGE' }
  | { reason: 'NOT_AWAITING_APPROVAL'; status: string }
  | { reason: 'EARLIER_STAGE_PENDING'; earlierStage: string }
  | { reason: 'NO_OUTCOME' }
  | { reason: 'NO_ASSIGNEE' }
  /** A reissue's authorisation or an exception's resolution needs the graph's own input. */
  | { reason: 'DECIDED_IN_GRAPH_ONLY' };

/** Who the trail names for an outside entry whose decider is unknown. */
export const UNKNOWN_OPENTEXT_USER = 'opentext:unassigned';

/**
 * Applies `completion` to its case, locked by the caller, and records that it was applied.
 * Resolves to null when the completion was applied before (by this or another replica).
 */
export async function applyOutsideCompletion(
  d: WorkflowDeps,
  tx: Transaction<WorkflowDB>,
  emit: Emit,
  c: CaseRow,
  completion: OutsideCompletion,
): Promise<OutsideResult | null> {
  const seen = await tx
    .selectFrom('workflow.otws_applied_tasks')
    .select('task_id')
    .where('task_id', '=', completion.taskId)
    .executeTakeFirst();
  if (seen) return null;
  // A completion the graph made itself (recorded with its decision by the task-handling seam).
  const ours = await tx
    .selectFrom('workflow.task_links')
    .select('task_id')
    .where('task_id', '=', completion.taskId)
    .where('completed_at', 'is not', null)
    .executeTakeFirst();
  const result = ours ? 'ALREADY_DECIDED' : await decide(d, tx, emit, c, completion);
  // The task's primary key makes this the one application: a replica racing on the same task
  // waits on the case lock, then finds this row (or fails on the key and rolls back).
  await tx
    .insertInto('workflow.otws_applied_tasks')
    .values({
      task_id: completion.taskId,
      case_id: c.id,
      task_key: completion.taskKey,
      assignee: completion.assignee,
      outcome: completion.outcome,
      result,
      completed_at: completion.completedAt,
    })
    .execute();
  return result;
}

async function decide(
  d: WorkflowDeps,
  tx: Transaction<WorkflowDB>,
  emit: Emit,
  c: CaseRow,
  completion: OutsideCompletion,
): Promise<OutsideResult> {
  const stage = APPROVAL_TASK_STAGES[completion.taskKey];
  if (!stage) return otherTask(tx, emit, c, completion);
  const all = await tx
    .selectFrom('workflow.approvals')
    .selectAll()
    .where('case_id', '=', c.id)
    .orderBy('seq')
    .execute();
  const target = all.find((a) => a.stage === stage);
  const about = {
    stage,
    taskId: completion.taskId,
    taskKey: completion.taskKey,
    assignee: completion.assignee,
    outcome: completion.outcome,
    processInstanceId: completion.processInstanceId,
  };
  const actor = completion.decidedBy ?? UNKNOWN_OPENTEXT_USER;
  const refuse = async (refusal: Refusal): Promise<OutsideResult> => {
    await audit(tx, c.id, actor, 'OUTSIDE_DECISION_REFUSED', { ...about, ...refusal });
    await emit('CASE_UPDATED', { caseId: c.id });
    return 'REFUSED';
  };
  if (!target) return refuse({ reason: 'NO_SUCH_STAGE' });
  // Decided already: the graph completed this task itself (or decided the stage first).
  if (target.decision !== 'PENDING') return 'ALREADY_DECIDED';
  if (c.status !== 'AWAITING_APPROVAL') return refuse({ reason: 'NOT_AWAITING_APPROVAL', status: c.status });
  const earlier = all.find((a) => a.seq < target.seq && a.decision !== 'APPROVED');
  if (earlier) return refuse({ reason: 'EARLIER_STAGE_PENDING', earlierStage: earlier.stage });
  const decision = outcomeDecision(completion.outcome);
  if (!decision) return refuse({ reason: 'NO_OUTCOME' });
  if (!completion.decidedBy) return refuse({ reason: 'NO_ASSIGNEE' });

  // The graph's four-eyes rules, on identities as mapped (the same function decideApproval uses).
  const violation = fourEyesViolation(completion.decidedBy, {
    initiator: c.started_by,
    deciders: all.map((a: ApprovalRow) => a.decided_by),
  });
  if (violation) {
    await audit(tx, c.id, completion.decidedBy, 'FOUR_EYES_VIOLATION', { ...about, rule: violation });
    await emit('CASE_UPDATED', { caseId: c.id });
    return 'FOUR_EYES_VIOLATION';
  }
  await audit(tx, c.id, completion.decidedBy, 'DECIDED_IN_OPENTEXT', about);
  await recordDecision(d, tx, emit, completion.decidedBy, c, all, target, {
    decision,
    comment: completion.comment,
  });
  return 'APPLIED';
}

/**
 * `authorise_reissue` and `work_exception`: the graph needs what only its own mutations carry (the
 * identity check of a reissue, the resolution action of an exception), so a completion in
 * OpenText does not decide them. While the case still waits for that decision, the completion is
 * noted on the trail for someone to make it in the graph; once the graph has moved the case on,
 * the completion is the graph's own and there is nothing to note.
 */
async function otherTask(
  tx: Transaction<WorkflowDB>,
  emit: Emit,
  c: CaseRow,
  completion: OutsideCompletion,
): Promise<OutsideResult> {
  const waiting =
    completion.taskKey === 'authorise_reissue'
      ? c.kind === 'REISSUE' && c.status === 'OPEN'
      : completion.taskKey === 'work_exception' &&
        c.kind === 'GENERATION_EXCEPTION' &&
        c.status !== 'RESOLVED';
  if (!waiting) return 'NOT_APPLICABLE';
  await audit(tx, c.id, completion.decidedBy ?? UNKNOWN_OPENTEXT_USER, 'OUTSIDE_DECISION_REFUSED', {
    taskId: completion.taskId,
    taskKey: completion.taskKey,
    assignee: completion.assignee,
    outcome: completion.outcome,
    processInstanceId: completion.processInstanceId,
    reason: 'DECIDED_IN_GRAPH_ONLY',
  });
  await emit('CASE_UPDATED', { caseId: c.id });
  return 'REFUSED';
}

function outcomeDecision(outcome: string | null): 'APPROVED' | 'REJECTED' | null {
  switch (outcome) {
    case 'approved':
      return 'APPROVED';
    case 'rejected':
      return 'REJECTED';
    default:
      return null;
  }
}
