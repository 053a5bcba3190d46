import { GraphQLErrorWithCode } from '../../errors/index.js';
import type { CaseRow } from '../../store/tables.js';
import type { WorkflowDeps } from './deps.js';
import { TITLE_MAX, humanKind, routeException } from './rules.js';
import { audit, completeOpenTasks, insertCase, insertTask, lockCase, newId, setStatus } from './store.js';

export interface OpenExceptionCaseInput {
  exceptionId: string;
  kind: string;
  message: string;
  documentId: string | null;
  customerId: string | null;
  channel: string | null;
  sourceCaseId: string | null;
}

export interface ExceptionOutcomeInput {
  caseId: string;
  sourceCaseId: string | null;
  actor: string;
  resolution: string;
  retryDocumentId: string | null;
  retryDeliveryId: string | null;
  retryStatus: string | null;
}

/** Opened by communications when generation or delivery fails; idempotent per exception. */
export async function openExceptionCase(d: WorkflowDeps, input: OpenExceptionCaseInput): Promise<CaseRow> {
  const key = `exception:${input.exceptionId}`;
  const byKey = () =>
    d.db.selectFrom('workflow.cases').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  const existing = await byKey();
  if (existing) return existing;
  const caseId = newId('case');
  try {
    return await d.outbox.transaction(async (tx, emit) => {
      const route = routeException(d.options.exceptionRouting ?? [], input.kind, input.channel);
      const team = route.team;
      const row = await insertCase(tx, {
        id: caseId,
        kind: 'GENERATION_EXCEPTION',
        status: 'OPEN',
        title: `${humanKind(input.kind)}: ${input.message}`.slice(0, TITLE_MAX),
        customer_id: input.customerId,
        channel: input.channel,
        started_by: 'system',
        assigned_team: team,
        due_at: new Date(Date.now() + route.dueHours * 3600_000),
        subject: JSON.stringify({
          exceptionId: input.exceptionId,
          documentId: input.documentId,
          sourceCaseId: input.sourceCaseId,
        }),
        idempotency_key: key,
      });
      await insertTask(tx, {
        id: newId('task'),
        case_id: caseId,
        kind: 'INVESTIGATE',
        role: 'operations',
        team,
        status: 'OPEN',
        due_at: row.due_at,
      });
      await audit(tx, caseId, 'system', 'EXCEPTION_CASE_OPENED', {
        exceptionId: input.exceptionId,
        kind: input.kind,
        documentId: input.documentId,
        sourceCaseId: input.sourceCaseId,
        message: input.message,
      });
      await d.processStarting(tx, {
        caseId,
        caseKind: 'GENERATION_EXCEPTION',
        title: row.title,
        customerId: input.customerId,
        templateId: null,
        requestedBy: 'system',
        stages: [],
      });
      if (input.sourceCaseId) {
        const src = await tx
          .selectFrom('workflow.cases')
          .select('id')
          .where('id', '=', input.sourceCaseId)
          .executeTakeFirst();
        if (src) {
          await audit(tx, src.id, 'system', 'EXCEPTION_RAISED', {
            exceptionId: input.exceptionId,
            exceptionCaseId: caseId,
            kind: input.kind,
          });
          await emit('CASE_UPDATED', { caseId: src.id });
        }
      }
      await emit('CASE_UPDATED', { caseId });
      return row;
    });
  } catch (err) {
    // Lost a race with another relay on the same exception: the winner's case stands.
    const winner = await byKey();
    if (winner) return winner;
    throw err;
  }
}

/** Records how an exception was worked, on its case and on the case it came from. */
export async function recordExceptionOutcome(d: WorkflowDeps, input: ExceptionOutcomeInput): Promise<void> {
  // Connected: the `work_exception` task completes, with its resolution, before the case resolves.
  // A failure here fails the command, which runs again later.
  const receipt = d.tasks.connected ? await completeWork(d, input) : null;
  await d.outbox.transaction(async (tx, emit) => {
    const c = await lockCase(tx, input.caseId);
    const detail = {
      resolution: input.resolution,
      retryDocumentId: input.retryDocumentId,
      retryDeliveryId: input.retryDeliveryId,
      retryStatus: input.retryStatus,
    };
    // Recorded already. A retry that waited for an outage is recorded a second time once it
    // is GENERATED (communications' recordLateRetry): then only the source case is left to
    // resolve, if it still waits; either record may come first.
    const late = c.status === 'RESOLVED';
    if (late && input.retryStatus !== 'GENERATED') return;
    if (!late) {
      await d.tasks.record(tx, receipt);
      await completeOpenTasks(tx, c.id, input.actor);
      await setStatus(tx, emit, c.id, 'RESOLVED', input.actor, detail, {
        resolution: input.resolution,
        assignee: input.actor,
      });
    }
    if (!input.sourceCaseId) return;
    const src = await tx
      .selectFrom('workflow.cases')
      .selectAll()
      .where('id', '=', input.sourceCaseId)
      .forUpdate()
      .executeTakeFirst();
    if (!src) return;
    // Still waiting for its document: IN_PROGRESS after GENERATION_FAILED was recorded, or
    // APPROVED when the failure came from a retry after an outage and the case's own
    // generation command has not recorded it yet (recordGeneration keeps the case RESOLVED).
    const waiting = src.status === 'IN_PROGRESS' || src.status === 'APPROVED';
    if (late && !waiting) return;
    await audit(
      tx,
      src.id,
      input.actor,
      input.retryDocumentId ? 'DOCUMENT_REGENERATED' : 'EXCEPTION_RESOLVED',
      {
        exceptionCaseId: c.id,
        ...detail,
      },
    );
    if (waiting && input.retryStatus === 'GENERATED') {
      await setStatus(
        tx,
        emit,
        src.id,
        'RESOLVED',
        input.actor,
        { documentId: input.retryDocumentId },
        { assigned_team: null },
      );
    } else {
      await emit('CASE_UPDATED', { caseId: src.id });
    }
  });
}

async function completeWork(d: WorkflowDeps, input: ExceptionOutcomeInput) {
  const c = await d.db
    .selectFrom('workflow.cases')
    .selectAll()
    .where('id', '=', input.caseId)
    .executeTakeFirst();
  if (!c || c.status === 'RESOLVED') return null;
  try {
    return await d.tasks.complete({
      caseRow: c,
      taskKey: 'work_exception',
      actor: input.actor,
      variables: { resolution: input.resolution },
    });
  } catch (err) {
    // Completed in OpenText's own UI already: the graph's record of the resolution still stands.
    if (err instanceof GraphQLErrorWithCode && err.extensions.reason === 'WORKFLOW_TASK_NOT_OPEN')
      return null;
    throw err;
  }
}
