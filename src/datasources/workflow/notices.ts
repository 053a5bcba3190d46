import type { WorkflowDeps } from './deps.js';
import type { LaunchNoticeCommand } from './ports.js';
import { audit, lockCase, setStatus } from './store.js';

/** Command handler: starts the notice's batch; the case records that it was sent out. */
export async function runLaunchNotice(d: WorkflowDeps, cmd: LaunchNoticeCommand): Promise<void> {
  const { batchId, total } = await d.ports.launchNoticeBatch(cmd);
  await d.outbox.transaction(async (tx, emit) => {
    // Locked first: a second run of this command (an expired lease) and the batch's
    // outcome (recordNoticeOutcome, which can commit first for a small batch) serialise here.
    const c = await lockCase(tx, cmd.caseId);
    const already = await tx
      .selectFrom('workflow.audit_events')
      .select('id')
      .where('case_id', '=', c.id)
      .where('action', '=', 'NOTICE_LAUNCHED')
      .executeTakeFirst();
    if (already) return;
    await audit(tx, c.id, 'system', 'NOTICE_LAUNCHED', {
      batchId,
      total,
      segments: cmd.segments,
      channels: cmd.channels,
    });
    // A batch that finished before its launch was recorded leaves the case RESOLVED.
    if (c.status === 'APPROVED') await setStatus(tx, emit, c.id, 'IN_PROGRESS', 'system', { batchId });
    else await emit('CASE_UPDATED', { caseId: c.id });
  });
}

export interface NoticeOutcome {
  caseId: string;
  batchId: string;
  total: number;
  generated: number;
  failed: number;
}

/** Communications reports the batch done: the regulatory trail records what went out. */
export async function recordNoticeOutcome(d: WorkflowDeps, input: NoticeOutcome): Promise<void> {
  await d.outbox.transaction(async (tx, emit) => {
    const c = await lockCase(tx, input.caseId);
    if (c.status === 'RESOLVED') return;
    await audit(tx, c.id, 'system', 'NOTICE_SENT', { ...input });
    await setStatus(tx, emit, c.id, 'RESOLVED', 'system', { batchId: input.batchId });
  });
}
