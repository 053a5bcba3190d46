import type { Transaction } from 'kysely';
import type { Emit } from '../../events/index.js';
import { badInput, conflict } from '../../errors/index.js';
import type { Principal } from '../../identity/index.js';
import type { CaseRow, WorkflowDB } from '../../store/tables.js';
import type { WorkflowDeps } from './deps.js';
import { TERMINAL } from './rules.js';
import { audit, lockCase, readCase, setStatus } from './store.js';

export interface AssignInput {
  caseId: string;
  assignee: string;
  team?: string | null;
}

/** Input checks of an assignment that need no store: the assignee and team, trimmed. */
export function checkAssignInput(input: AssignInput): { assignee: string; team: string | null } {
  const assignee = input.assignee.trim();
  if (!assignee || assignee.length > 200) throw badInput('assignee: 1 to 200 characters', 'assignee');
  const team = input.team?.trim() || null;
  if (team && team.length > 100) throw badInput('team: at most 100 characters', 'team');
  return { assignee, team };
}

/** Whether locked case `c` can be assigned. */
export function checkAssignable(c: CaseRow): void {
  if (TERMINAL.has(c.status)) throw conflict(`Case ${c.id} is ${c.status}`);
}

/** Who works a case now: an assignee (and optionally a team), recorded in the trail. */
export async function assign(d: WorkflowDeps, principal: Principal, input: AssignInput): Promise<CaseRow> {
  const who = checkAssignInput(input);
  // Connected: assigning an exception case claims its `work_exception` task for the assignee.
  const receipt = d.tasks.connected
    ? await d.db
        .transaction()
        .execute(async (tx) => {
          const c = await lockCase(tx, input.caseId);
          checkAssignable(c);
          return c;
        })
        .then((c) =>
          c.kind === 'GENERATION_EXCEPTION'
            ? d.tasks.claim({ caseRow: c, taskKey: 'work_exception', actor: who.assignee })
            : null,
        )
    : null;
  return d.outbox.transaction(async (tx, emit) => {
    const c = await lockCase(tx, input.caseId);
    checkAssignable(c);
    await d.tasks.record(tx, receipt);
    return recordAssignment(tx, emit, principal.sub, c, who);
  });
}

/** Records a checked assignment of locked case `c`. */
export async function recordAssignment(
  tx: Transaction<WorkflowDB>,
  emit: Emit,
  actor: string,
  c: CaseRow,
  { assignee, team }: { assignee: string; team: string | null },
): Promise<CaseRow> {
  const row = await tx
    .updateTable('workflow.cases')
    .set({ assignee, assigned_team: team ?? c.assigned_team, updated_at: new Date() })
    .where('id', '=', c.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await tx
    .updateTable('workflow.tasks')
    .set({ assignee })
    .where('case_id', '=', c.id)
    .where('status', '=', 'OPEN')
    .execute();
  await audit(tx, c.id, actor, 'ASSIGNED', { assignee, team: row.assigned_team, previous: c.assignee });
  if (c.status === 'OPEN' && c.kind === 'GENERATION_EXCEPTION') {
    await setStatus(tx, emit, c.id, 'IN_PROGRESS', actor, { assignee });
  } else {
    await emit('CASE_UPDATED', { caseId: c.id });
  }
  return readCase(tx, c.id);
}

/** An investigation note in the case trail. */
export async function addNote(
  d: WorkflowDeps,
  principal: Principal,
  input: { caseId: string; note: string },
): Promise<CaseRow> {
  const note = input.note.trim();
  if (!note || note.length > 4000) throw badInput('note: 1 to 4000 characters', 'note');
  return d.outbox.transaction(async (tx, emit) => {
    const c = await lockCase(tx, input.caseId);
    await audit(tx, c.id, principal.sub, 'NOTE_ADDED', { note });
    await tx.updateTable('workflow.cases').set({ updated_at: new Date() }).where('id', '=', c.id).execute();
    await emit('CASE_UPDATED', { caseId: c.id });
    return c;
  });
}
