import type { WorkflowDeps } from './deps.js';
import type { GenerateForCaseCommand, GenerationOutcome } from './ports.js';
import { audit, lockCase, setStatus } from './store.js';

/** Command handler: asks communications for the document, then records it on the case. */
export async function runGenerateForCase(d: WorkflowDeps, cmd: GenerateForCaseCommand): Promise<void> {
  const outcome = await d.ports.generateForCase(cmd);
  await recordGeneration(
    d,
    cmd.caseId,
    outcome,
    { templateVersionId: cmd.templateVersionId },
    'DOCUMENT_GENERATED',
  );
}

/** Records a generation on its case once, however often the command that asked for it ran. */
export async function recordGeneration(
  d: WorkflowDeps,
  caseId: string,
  outcome: GenerationOutcome,
  detail: Record<string, unknown>,
  action: 'DOCUMENT_GENERATED' | 'DOCUMENT_REISSUED',
): Promise<void> {
  await d.outbox.transaction(async (tx, emit) => {
    const c = await lockCase(tx, caseId);
    const already = await tx
      .selectFrom('workflow.audit_events')
      .select('id')
      .where('case_id', '=', c.id)
      .where('action', 'in', [action, 'GENERATION_FAILED'])
      .executeTakeFirst();
    if (already) return;
    const generated = outcome.status === 'GENERATED';
    await audit(tx, c.id, 'system', generated ? action : 'GENERATION_FAILED', {
      documentId: outcome.documentId,
      ...detail,
    });
    // A failure recorded late, after its exception was resolved with a regenerated document
    // (an outage's retries outlast this command's): the trail says it failed, the case stays
    // RESOLVED by the regenerated one.
    if (!generated && c.status === 'RESOLVED') return;
    await setStatus(
      tx,
      emit,
      c.id,
      generated ? 'RESOLVED' : 'IN_PROGRESS',
      'system',
      { documentId: outcome.documentId },
      { assigned_team: generated ? null : 'operations' },
    );
  });
}
