import type { Transaction } from 'kysely';
import type { Emit } from '../../events/index.js';
import { badInput, conflict, notFound } from '../../errors/index.js';
import type { Principal } from '../../identity/index.js';
import type { CaseRow, WorkflowDB } from '../../store/tables.js';
import type { WorkflowDeps } from './deps.js';
import { recordGeneration } from './generation.js';
import type { ReissueCommand } from './ports.js';
import { STAGE_SLA_MS, checkReissueAuthorisation, reissueTitle } from './rules.js';
import {
  audit,
  completeOpenTasks,
  insertCase,
  insertTask,
  lockCase,
  newId,
  readCase,
  setStatus,
} from './store.js';

export interface AuthoriseReissueInput {
  caseId: string;
  requestedBy: string;
  identityVerification: string;
  entitled: boolean;
  comment?: string | null;
}

/** A request to send a generated document again: a REISSUE case awaiting authorisation. */
export async function reissue(
  d: WorkflowDeps,
  principal: Principal,
  input: { documentId: string; reason: string; channel?: string | null },
): Promise<CaseRow> {
  const reason = input.reason.trim();
  if (!reason || reason.length > 2000) throw badInput('reason: 1 to 2000 characters', 'reason');
  const doc = await d.ports.document(input.documentId);
  if (!doc) throw notFound('Document', input.documentId);
  if (doc.status !== 'GENERATED')
    throw conflict(`Document ${doc.id} was never generated; there is nothing to reissue`);
  const channel = input.channel ?? doc.channel;
  const caseId = newId('case');
  return d.outbox.transaction(async (tx, emit) => {
    const row = await insertCase(tx, {
      id: caseId,
      kind: 'REISSUE',
      status: 'OPEN',
      title: reissueTitle(doc.id),
      customer_id: doc.customerId,
      channel,
      started_by: principal.sub,
      assigned_team: 'customer-service',
      due_at: new Date(Date.now() + STAGE_SLA_MS),
      subject: JSON.stringify({ documentId: doc.id, reason }),
    });
    await insertTask(tx, {
      id: newId('task'),
      case_id: caseId,
      kind: 'AUTHORISE_REISSUE',
      role: 'service-agent',
      team: 'customer-service',
      status: 'OPEN',
      due_at: row.due_at,
    });
    await audit(tx, caseId, principal.sub, 'REISSUE_REQUESTED', { documentId: doc.id, reason, channel });
    await d.processStarting(tx, {
      caseId,
      caseKind: 'REISSUE',
      title: row.title,
      customerId: doc.customerId,
      templateId: null,
      requestedBy: principal.sub,
      stages: [],
    });
    await emit('CASE_UPDATED', { caseId });
    return row;
  });
}

/** Input checks of an authorisation that need no store. */
export function checkAuthorisationInput(input: AuthoriseReissueInput): string {
  const requestedBy = input.requestedBy.trim();
  if (!requestedBy || requestedBy.length > 200)
    throw badInput('requestedBy: 1 to 200 characters', 'requestedBy');
  if (input.comment != null && input.comment.length > 2000)
    throw badInput('comment: at most 2000 characters', 'comment');
  return requestedBy;
}

/** Whether an authorisation check lets the reissue go ahead. */
export function isAuthorised(input: AuthoriseReissueInput): boolean {
  return input.entitled && input.identityVerification !== 'NOT_VERIFIED';
}

/**
 * A service agent records the authorisation check of a reissue: who asked,
 * how their identity was verified, and whether they may receive the
 * document. Refusals are recorded as well; the case then ends REJECTED.
 */
export async function authoriseReissue(
  d: WorkflowDeps,
  principal: Principal,
  input: AuthoriseReissueInput,
): Promise<CaseRow> {
  checkAuthorisationInput(input);
  // Connected: rules first, then Workflow Service's task, then the record (see decideApproval).
  const receipt = d.tasks.connected
    ? await d.tasks.complete(
        await d.db.transaction().execute(async (tx) => {
          const c = await lockCase(tx, input.caseId);
          checkReissueAuthorisation(principal, c);
          return {
            caseRow: c,
            taskKey: 'authorise_reissue',
            actor: principal.sub,
            outcome: isAuthorised(input) ? ('approved' as const) : ('rejected' as const),
            comment: input.comment ?? null,
          };
        }),
      )
    : null;
  const row = await d.outbox.transaction(async (tx, emit) => {
    const c = await lockCase(tx, input.caseId);
    checkReissueAuthorisation(principal, c);
    await d.tasks.record(tx, receipt);
    return recordAuthorisation(d, tx, emit, principal.sub, c, input);
  });
  return followReissue(d, row);
}

/** Records a checked authorisation of locked reissue case `c` by `actor`. */
export async function recordAuthorisation(
  d: WorkflowDeps,
  tx: Transaction<WorkflowDB>,
  emit: Emit,
  actor: string,
  c: CaseRow,
  input: AuthoriseReissueInput,
): Promise<CaseRow> {
  const subject = (c.subject ?? {}) as { documentId?: string };
  const check = {
    requestedBy: input.requestedBy.trim(),
    identityVerification: input.identityVerification,
    entitled: input.entitled,
    comment: input.comment ?? null,
  };
  const authorised = isAuthorised(input);
  await completeOpenTasks(tx, c.id, actor);
  await audit(tx, c.id, actor, authorised ? 'REISSUE_AUTHORISED' : 'REISSUE_REFUSED', check);
  if (!authorised) {
    await setStatus(tx, emit, c.id, 'REJECTED', actor, check, {
      assigned_team: null,
      resolution: 'Refused: not authorised',
    });
  } else {
    await setStatus(tx, emit, c.id, 'APPROVED', actor, check, { assigned_team: null });
    await d.commands.enqueue(tx, 'reissueForCase', {
      caseId: c.id,
      documentId: subject.documentId!,
      channel: c.channel!,
      requestedBy: actor,
      // One reissue per case, however often the command runs.
      idempotencyKey: `reissue:${c.id}`,
    });
  }
  return readCase(tx, c.id);
}

/**
 * The reissue is local and quick in embedded mode: answer with it (RESOLVED, or
 * IN_PROGRESS when it failed). Slower, the answer is the case APPROVED and
 * caseUpdated announces the rest (see the mutation's description).
 */
export async function followReissue(d: WorkflowDeps, row: CaseRow): Promise<CaseRow> {
  if (row.status !== 'APPROVED') return row;
  const done = await d.followUp(() =>
    d.db
      .selectFrom('workflow.cases')
      .selectAll()
      .where('id', '=', row.id)
      .where('status', '!=', 'APPROVED')
      .executeTakeFirst(),
  );
  return done ?? row;
}

/** Command handler: communications regenerates the prior document; the case records it. */
export async function runReissueForCase(d: WorkflowDeps, cmd: ReissueCommand): Promise<void> {
  const outcome = await d.ports.reissue(cmd);
  await recordGeneration(d, cmd.caseId, outcome, { reissueOf: cmd.documentId }, 'DOCUMENT_REISSUED');
}
