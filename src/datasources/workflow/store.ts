import { randomUUID } from 'node:crypto';
import type { Insertable, Transaction } from 'kysely';
import type { Emit } from '../../events/index.js';
import { notFound } from '../../errors/index.js';
import type { CaseRow, CasesTable, TasksTable, WorkflowDB } from '../../store/tables.js';

/**
 * The case store: inserting cases and tasks, locking a case, changing its
 * status and appending to its trail. Every case kind writes through these.
 */
export const newId = (prefix: string) => `${prefix}_${randomUUID()}`;

type NewCaseFields = Pick<Insertable<CasesTable>, 'id' | 'kind' | 'status' | 'title' | 'started_by'> &
  Partial<Insertable<CasesTable>>;

/** Inserts a case; what a kind does not use stays null. */
export function insertCase(tx: Transaction<WorkflowDB>, fields: NewCaseFields): Promise<CaseRow> {
  return tx
    .insertInto('workflow.cases')
    .values({
      customer_id: null,
      template_id: null,
      template_version_id: null,
      channel: null,
      data: null,
      assigned_team: null,
      assignee: null,
      due_at: null,
      subject: null,
      idempotency_key: null,
      resolution: null,
      ...fields,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Reads a case and locks its row until the transaction ends: every status
 * check that decides a write runs on the row this returns, so concurrent
 * requests on one case serialise (issue 9, point 2).
 */
export async function lockCase(tx: Transaction<WorkflowDB>, caseId: string): Promise<CaseRow> {
  const c = await tx
    .selectFrom('workflow.cases')
    .selectAll()
    .where('id', '=', caseId)
    .forUpdate()
    .executeTakeFirst();
  if (!c) throw notFound('Case', caseId);
  return c;
}

/** A case as the transaction sees it now (after its own writes). */
export function readCase(tx: Transaction<WorkflowDB>, caseId: string): Promise<CaseRow> {
  return tx.selectFrom('workflow.cases').selectAll().where('id', '=', caseId).executeTakeFirstOrThrow();
}

type NewTaskFields = Pick<Insertable<TasksTable>, 'id' | 'case_id' | 'kind' | 'role' | 'status'> &
  Partial<Insertable<TasksTable>>;

/** Inserts a task: the work behind an approval or an investigation. */
export async function insertTask(tx: Transaction<WorkflowDB>, fields: NewTaskFields): Promise<void> {
  await tx
    .insertInto('workflow.tasks')
    .values({ approval_id: null, team: null, assignee: null, due_at: null, completed_at: null, ...fields })
    .execute();
}

/** Marks a case's open tasks done by `assignee`. */
export async function completeOpenTasks(
  tx: Transaction<WorkflowDB>,
  caseId: string,
  assignee: string,
  at: Date = new Date(),
): Promise<void> {
  await tx
    .updateTable('workflow.tasks')
    .set({ status: 'DONE', completed_at: at, assignee })
    .where('case_id', '=', caseId)
    .where('status', '=', 'OPEN')
    .execute();
}

/** Appends to a case's trail; resolves to the entry's id. */
export async function audit(
  tx: Transaction<WorkflowDB>,
  caseId: string,
  actor: string,
  action: string,
  detail: Record<string, unknown>,
): Promise<string> {
  const row = await tx
    .insertInto('workflow.audit_events')
    .values({ case_id: caseId, actor, action, detail: JSON.stringify(detail) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(row.id);
}

/** Changes a case's status with its trail entry and event. */
export async function setStatus(
  tx: Transaction<WorkflowDB>,
  emit: Emit,
  caseId: string,
  status: string,
  actor: string,
  detail: Record<string, unknown>,
  extra: { assigned_team?: string | null; resolution?: string | null; assignee?: string | null } = {},
): Promise<void> {
  await tx
    .updateTable('workflow.cases')
    .set({ status, updated_at: new Date(), ...extra })
    .where('id', '=', caseId)
    .execute();
  await audit(tx, caseId, actor, `STATUS_${status}`, detail);
  await emit('CASE_UPDATED', { caseId });
}

/**
 * Whether the poller has already applied the completion of `taskId` as a decision. A decision
 * made through the graph completes its task in Workflow Service before it records the decision;
 * if the poller read that completion in between, it applied it (by the same assignee, with the same
 * outcome), and the graph's own recording then finds the stage decided. The graph's decision path
 * can ask this to answer with the recorded decision instead of a conflict.
 */
export async function appliedByPoller(tx: Transaction<WorkflowDB>, taskId: string): Promise<boolean> {
  const row = await tx
    .selectFrom('workflow.otws_applied_tasks')
    .select('result')
    .where('task_id', '=', taskId)
    .executeTakeFirst();
  return row?.result === 'APPLIED';
}
