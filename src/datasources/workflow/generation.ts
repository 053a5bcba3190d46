import { ErrorCode, GraphQLErrorWithCode } from '../../errors/index.js';
import type { WorkflowDeps } from './deps.js';
import type { GenerateForCaseCommand, GenerationOutcome } from './ports.js';
import { audit, lockCase, setStatus } from './store.js';

/** Command handler: asks communications for the document, then records it on the case. */
export async function runGenerateForCase(d: WorkflowDeps, cmd: GenerateForCaseCommand): Promise<void> {
  let outcome: GenerationOutcome;
  try {
    outcome = await d.ports.generateForCase(cmd);
  } catch (err) {
    if (err instanceof GraphQLErrorWithCode && err.code === ErrorCode.APPROVAL_REQUIRED) {
      await recordRefusal(d, cmd, err);
    }
    // The command waits and tries again, as it does for any failure: a refusal may be lifted.
    throw err;
  }
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

/**
 * Generation for a signed-off case was refused because its approval no longer covers what
 * would be generated (content changed after approval; in connected mode, the communication's
 * approved version in Exstream is no longer the pinned one): the trail says why, once per
 * reason, however often the command runs again. The case stays as it is: nothing was generated.
 */
async function recordRefusal(
  d: WorkflowDeps,
  cmd: GenerateForCaseCommand,
  err: GraphQLErrorWithCode,
): Promise<void> {
  const reason = typeof err.extensions.reason === 'string' ? err.extensions.reason : null;
  await d.outbox.transaction(async (tx) => {
    const c = await lockCase(tx, cmd.caseId);
    const earlier = await tx
      .selectFrom('workflow.audit_events')
      .select('detail')
      .where('case_id', '=', c.id)
      .where('action', '=', 'GENERATION_REFUSED')
      .execute();
    const said = earlier.some((e) => {
      const detail = (typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail) as Record<
        string,
        unknown
      >;
      return detail.reason === reason && detail.message === err.message;
    });
    if (said) return;
    await audit(tx, c.id, 'system', 'GENERATION_REFUSED', {
      templateVersionId: cmd.templateVersionId,
      code: err.code,
      reason,
      message: err.message,
    });
  });
}
