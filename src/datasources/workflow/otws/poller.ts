/**
 * The Workflow Service poller (contract, "Decisions made in OpenText count"): every
 * WORKFLOW_POLL_MS it reads the tasks completed and the process instances finished since its
 * watermarks, and applies the decisions made outside the graph (./outside.ts). There is no push API
 * (reference §8), so history is the change feed.
 *
 * - Each feed's watermark is the newest `endTime` it has applied, kept in the store
 *   (`workflow.otws_watermarks`). A read starts `overlapMs` before it: Flowable's `…After` filters
 *   are strict, and a completion whose transaction commits late in OpenText can carry an `endTime`
 *   older than one already read. Re-read completions are dropped by their task id.
 * - Each completion is applied in its own transaction, with the row that records it; a failure
 *   stops the batch there, and the watermark moves only past what was applied.
 * - A finished process is recorded once; one that ended without finishing its tasks (deleted in
 *   OpenText) is noted on the case trail, and every finished process's completed tasks are checked
 *   once more, so a completion the task feed missed is still applied.
 *
 * Only one process of a deployment runs it (./index.ts elects it); the records make it safe anyway.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { log } from '../../../logger.js';
import type { WorkflowDB } from '../../../store/tables.js';
import {
  parseWorkflowDate,
  type HistoricProcessInstance,
  type HistoricTaskInstance,
  variablesOf,
  type HistoryApi,
} from '../../../upstreams/opentext/workflow/index.js';
import type { WorkflowDeps } from '../deps.js';
import { audit, lockCase } from '../store.js';
import { applyOutsideCompletion, type OutsideCompletion, type OutsideResult } from './outside.js';

export interface WorkflowPollerOptions {
  pollMs: number;
  /** The process definition keys of CommsGraph's cases (WORKFLOW_PROCESS_KEYS' values). */
  processKeys: readonly string[];
  /** OpenText user id → token subject (WORKFLOW_IDENTITY_MAP); null when they are the same. */
  identityMap: Readonly<Record<string, string>> | null;
  /** How far before a watermark each read starts (default 60 s). */
  overlapMs?: number;
  /** Where a store without a watermark starts reading, before now (default 24 h). */
  initialLookbackMs?: number;
  now?: () => number;
}

export interface PollResult {
  /** Completed tasks read (overlap included). */
  read: number;
  /** Completions newly recorded, by what they did. */
  results: Partial<Record<OutsideResult, number>>;
  /** Finished processes newly recorded. */
  finished: number;
}

type Feed = 'tasks' | 'processes';
/** A feed's watermark as this round has moved it. */
interface Mark {
  readonly feed: Feed;
  at: Date;
}

/** After failed rounds the poller waits longer, doubling, up to 16 intervals and never over a minute. */
const MAX_BACKOFF_MS = 60_000;
const MAX_BACKOFF_POLLS = 16;

export class WorkflowServicePoller {
  readonly #keys: ReadonlySet<string>;
  readonly #overlapMs: number;
  readonly #lookbackMs: number;
  readonly #now: () => number;

  constructor(
    private readonly d: WorkflowDeps,
    private readonly history: HistoryApi,
    private readonly options: WorkflowPollerOptions,
  ) {
    this.#keys = new Set(options.processKeys);
    this.#overlapMs = options.overlapMs ?? 60_000;
    this.#lookbackMs = options.initialLookbackMs ?? 24 * 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  private get db(): Kysely<WorkflowDB> {
    return this.d.db;
  }

  /** One round: both feeds, applied and recorded. Rejects on an outage (nothing half-applied). */
  async pollOnce(): Promise<PollResult> {
    const result: PollResult = { read: 0, results: {}, finished: 0 };
    const tasksMark = await this.#watermark('tasks');
    const tasks = await this.history.completedTasksSince(new Date(tasksMark.at.getTime() - this.#overlapMs));
    result.read = tasks.length;
    await this.#applyTasks(tasks, result, tasksMark);

    const processesMark = await this.#watermark('processes');
    const processes = await this.history.finishedProcessesSince(
      new Date(processesMark.at.getTime() - this.#overlapMs),
    );
    for (const p of processes) {
      const ended = parseWorkflowDate(p.endTime);
      if (this.#ours(p.processDefinitionId, p.processDefinitionKey) && p.businessKey) {
        if (await this.#recordFinished(p, ended)) {
          result.finished++;
          // The safety net: its completed tasks, in case the task feed missed one.
          await this.#applyTasks(await this.history.tasksOfProcess(p.id), result, null);
        }
      }
      if (ended) await this.#advance(processesMark, ended);
    }
    return result;
  }

  /**
   * Polls every `pollMs` until `signal` aborts (leadership lost or stopped). A failed round (an
   * outage, an answer of the wrong shape) is logged and tried again later, backing off; a dropped
   * upstream is survived, never fatal.
   */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const r = await this.pollOnce();
        failures = 0;
        if (Object.keys(r.results).length || r.finished) log.info('workflow service poll', { ...r });
      } catch (err) {
        failures++;
        log.warn('workflow poll failed; trying again', { err, failures });
      }
      const wait = failures
        ? Math.min(
            this.options.pollMs * 2 ** Math.min(failures, 10),
            Math.max(Math.min(MAX_BACKOFF_MS, this.options.pollMs * MAX_BACKOFF_POLLS), this.options.pollMs),
          )
        : this.options.pollMs;
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        return;
      }
    }
  }

  /**
   * Applies completions oldest first, each in its own transaction; with `mark`, moves that feed's
   * watermark past each one applied (so a failure part-way keeps what was done).
   */
  async #applyTasks(tasks: readonly HistoricTaskInstance[], result: PollResult, mark: Mark | null) {
    const candidates = tasks.filter(
      (t) => t.endTime && !t.deleteReason && this.#ours(t.processDefinitionId, null),
    );
    const known = candidates.length
      ? new Set(
          (
            await this.db
              .selectFrom('workflow.otws_applied_tasks')
              .select('task_id')
              .where(
                'task_id',
                'in',
                candidates.map((t) => t.id),
              )
              .execute()
          ).map((r) => r.task_id),
        )
      : new Set<string>();
    for (const task of tasks) {
      const completedAt = parseWorkflowDate(task.endTime);
      const completion =
        candidates.includes(task) && !known.has(task.id) ? this.#completion(task, tasks) : null;
      if (completion) {
        const applied = await this.#apply(completion);
        if (applied) result.results[applied] = (result.results[applied] ?? 0) + 1;
      }
      if (mark && completedAt) await this.#advance(mark, completedAt);
    }
  }

  async #apply(completion: OutsideCompletion): Promise<OutsideResult | null> {
    try {
      return await this.d.outbox.transaction(async (tx, emit) => {
        const exists = await tx
          .selectFrom('workflow.cases')
          .select('id')
          .where('id', '=', completion.caseId)
          .executeTakeFirst();
        // Not a case of this graph (another system's process under our keys): nothing to apply.
        if (!exists) return null;
        const c = await lockCase(tx, completion.caseId);
        return applyOutsideCompletion(this.d, tx, emit, c, completion);
      });
    } catch (err) {
      // Another replica recorded the same task between our read and our insert: it is applied.
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  /** The completion a historic task describes, or null when it is not one of our cases' tasks. */
  #completion(task: HistoricTaskInstance, batch: readonly HistoricTaskInstance[]): OutsideCompletion | null {
    const vars = variablesOf(task.variables);
    const caseId = typeof vars.caseId === 'string' ? vars.caseId : null;
    const key = task.taskDefinitionKey;
    if (!caseId || !key) return null;
    const completedAt = parseWorkflowDate(task.endTime);
    // `comment` is one process variable that every completion overwrites: it is this task's only
    // if no task of the same process completed after it (any such would be in this batch too).
    const later = batch.some(
      (t) =>
        t !== task &&
        t.processInstanceId === task.processInstanceId &&
        (parseWorkflowDate(t.endTime)?.getTime() ?? 0) > (completedAt?.getTime() ?? 0),
    );
    const comment = typeof vars.comment === 'string' && !later ? vars.comment : null;
    const outcome = vars[`${key}Outcome`];
    const assignee = task.assignee ?? null;
    return {
      taskId: task.id,
      taskKey: key,
      caseId,
      processInstanceId: task.processInstanceId ?? null,
      assignee,
      decidedBy: assignee === null ? null : (this.options.identityMap?.[assignee] ?? assignee),
      outcome: typeof outcome === 'string' ? outcome : null,
      comment,
      completedAt,
    };
  }

  /** Records a finished process once; notes on the trail one that was deleted in OpenText. */
  async #recordFinished(p: HistoricProcessInstance, ended: Date | null): Promise<boolean> {
    const caseId = p.businessKey!;
    try {
      return await this.d.outbox.transaction(async (tx, emit) => {
        const exists = await tx
          .selectFrom('workflow.cases')
          .select('id')
          .where('id', '=', caseId)
          .executeTakeFirst();
        if (!exists) return false;
        await lockCase(tx, caseId);
        const inserted = await tx
          .insertInto('workflow.otws_finished_processes')
          .values({
            process_instance_id: p.id,
            case_id: caseId,
            end_activity_id: p.endActivityId ?? null,
            delete_reason: p.deleteReason ?? null,
            ended_at: ended,
          })
          .onConflict((oc) => oc.column('process_instance_id').doNothing())
          .returning('process_instance_id')
          .executeTakeFirst();
        if (!inserted) return false;
        if (p.deleteReason) {
          await audit(tx, caseId, p.startUserId ?? 'opentext', 'PROCESS_ENDED_IN_OPENTEXT', {
            processInstanceId: p.id,
            deleteReason: p.deleteReason,
            endActivityId: p.endActivityId ?? null,
          });
          await emit('CASE_UPDATED', { caseId });
        }
        return true;
      });
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Whether a process definition (`key:version:id`, or its key) is one of our cases' processes. */
  #ours(definitionId: string | null | undefined, definitionKey: string | null | undefined): boolean {
    const key = definitionKey ?? definitionId?.split(':')[0];
    return key !== undefined && this.#keys.has(key);
  }

  async #watermark(feed: Feed): Promise<Mark> {
    const row = await this.db
      .selectFrom('workflow.otws_watermarks')
      .select('watermark')
      .where('feed', '=', feed)
      .executeTakeFirst();
    return { feed, at: row ? new Date(row.watermark) : new Date(this.#now() - this.#lookbackMs) };
  }

  /**
   * Moves a feed's watermark forward to `to`, in the store and in `mark`; never back (a replica
   * behind, finishing a round after losing its lead, cannot undo one ahead).
   */
  async #advance(mark: Mark, to: Date): Promise<void> {
    if (to <= mark.at) return;
    mark.at = to;
    await this.db
      .insertInto('workflow.otws_watermarks')
      .values({ feed: mark.feed, watermark: to, updated_at: new Date() })
      .onConflict((oc) =>
        oc
          .column('feed')
          .doUpdateSet({ watermark: to, updated_at: new Date() })
          .where('workflow.otws_watermarks.watermark', '<', to),
      )
      .execute();
  }
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
