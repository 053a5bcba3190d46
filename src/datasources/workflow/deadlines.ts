import type { Kysely } from 'kysely';
import type { Outbox } from '../../events/index.js';
import type { WorkflowDB } from '../../store/tables.js';
import type { DisputePolicy } from './disputes.js';
import { audit } from './store.js';

/** Adds business days (Monday to Friday), keeping the time of day. */
export function addBusinessDays(from: Date, days: number): Date {
  const d = new Date(from);
  let left = days;
  while (left > 0) {
    d.setUTCDate(d.getUTCDate() + 1);
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6) left--;
  }
  return d;
}

/**
 * Raises each deadline's alerts once: DUE_SOON inside the warning window,
 * BREACHED once passed. The claim is one conditional update, so several
 * processes watching at once alert once between them.
 */
export async function checkDeadlines(
  db: Kysely<WorkflowDB>,
  outbox: Outbox<WorkflowDB>,
  policy: DisputePolicy,
  now = new Date(),
): Promise<number> {
  const soon = addBusinessDays(now, policy.warnBusinessDaysBefore);
  const open = await db
    .selectFrom('workflow.case_deadlines')
    .selectAll()
    .where('met_at', 'is', null)
    .where('due_at', '<=', soon)
    .where((eb) => eb.or([eb('alerted', 'is', null), eb('alerted', '!=', 'BREACHED')]))
    .limit(500)
    .execute();
  let raised = 0;
  for (const d of open) {
    const level = d.due_at.getTime() <= now.getTime() ? 'BREACHED' : 'DUE_SOON';
    if (d.alerted === level) continue;
    await outbox.transaction(async (tx, emit) => {
      const claimed = await tx
        .updateTable('workflow.case_deadlines')
        .set({ alerted: level })
        .where('case_id', '=', d.case_id)
        .where('kind', '=', d.kind)
        .where('met_at', 'is', null)
        .where((eb) => (d.alerted === null ? eb('alerted', 'is', null) : eb('alerted', '=', d.alerted)))
        .returningAll()
        .executeTakeFirst();
      if (!claimed) return;
      raised++;
      await audit(tx, d.case_id, 'system', level === 'BREACHED' ? 'DEADLINE_BREACHED' : 'DEADLINE_DUE_SOON', {
        deadline: d.kind,
        dueAt: d.due_at.toISOString(),
      });
      await emit('DEADLINE_ALERT', {
        caseId: d.case_id,
        deadline: d.kind,
        level,
        dueAt: d.due_at.toISOString(),
      });
      await emit('CASE_UPDATED', { caseId: d.case_id });
    });
  }
  return raised;
}

/** The state of a deadline now, as clients see it. */
export function deadlineState(
  d: { due_at: Date; met_at: Date | null },
  warnBusinessDays: number,
  now = new Date(),
): 'MET' | 'PENDING' | 'DUE_SOON' | 'BREACHED' {
  if (d.met_at) return d.met_at.getTime() <= d.due_at.getTime() ? 'MET' : 'BREACHED';
  if (d.due_at.getTime() <= now.getTime()) return 'BREACHED';
  return d.due_at.getTime() <= addBusinessDays(now, warnBusinessDays).getTime() ? 'DUE_SOON' : 'PENDING';
}
