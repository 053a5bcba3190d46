import type { Kysely, Transaction } from 'kysely';
import type { CaseKind, WorkflowServiceConfig } from '../../config/opentext.js';
import { conflict, GraphQLErrorWithCode, upstreamUnavailable } from '../../errors/index.js';
import { log } from '../../logger.js';
import type { CaseRow, WorkflowDB } from '../../store/tables.js';
import { OpenTextAuthError, UpstreamUnavailableError } from '../../upstreams/opentext/errors.js';
import {
  parseWorkflowDate,
  restVariable,
  startCaseProcess,
  toGraphQLError,
  variablesOf,
  WorkflowApiError,
  type HistoricTaskInstance,
  type WorkflowClient,
} from '../../upstreams/opentext/workflow/index.js';
import type {
  ProcessHistoryEntry,
  StartProcessCommand,
  TaskAction,
  TaskHandling,
  TaskReceipt,
} from './task-handling.js';

/** Kinds whose process walks the `stages` variable (contract: one task per stage). */
const STAGED_KINDS = new Set(['REGULATED_DOCUMENT', 'CORRESPONDENCE', 'MANDATORY_NOTICE']);

/**
 * Task handling by OpenText Workflow Service (`WORKFLOW_BACKEND=otws`, connected-mode contract):
 * a case is a process instance (business key = case id), a stage is a user task, a decision is a
 * claim for the decider and a completion with the outcome. The graph's store keeps the case; the
 * links from a case to its process and from a stage to its task are recorded beside it
 * (migration 013).
 */
export class OtwsTaskHandling implements TaskHandling {
  readonly connected = true;

  constructor(
    private readonly db: Kysely<WorkflowDB>,
    private readonly client: WorkflowClient,
    private readonly config: WorkflowServiceConfig,
  ) {}

  async startProcess(cmd: StartProcessCommand): Promise<void> {
    await this.ensureProcess(cmd);
  }

  async complete(action: TaskAction): Promise<TaskReceipt> {
    return this.call(async () => {
      const pid = await this.processOf(action.caseRow);
      const assignee = this.openTextUser(action.actor);
      const task = await this.openTask(pid, action.taskKey);
      if (!task) {
        // A repeat of a decision whose answer an outage hid: it may have gone through already.
        const done = await this.completedTask(pid, action.taskKey);
        const outcome = done ? variablesOf(done.variables)[`${action.taskKey}Outcome`] : undefined;
        if (
          done &&
          done.assignee === assignee &&
          (action.outcome === undefined || outcome === action.outcome)
        )
          return this.receipt(action, done.id, true);
        throw conflict(
          `The ${action.taskKey} task of case ${action.caseRow.id} is not open in Workflow Service`,
          'WORKFLOW_TASK_NOT_OPEN',
        );
      }
      await this.client.tasks.claim(task.id, assignee);
      try {
        await this.client.tasks.complete(task.id, {
          taskKey: action.taskKey,
          outcome: action.outcome,
          comment: action.comment ?? undefined,
          variables: Object.entries(action.variables ?? {}).map(([name, value]) => restVariable(name, value)),
        });
      } catch (err) {
        // Refused (not an outage): give the task back, so the refusal changes nothing there either.
        if (err instanceof WorkflowApiError && err.status < 500) {
          await this.client.tasks.unclaim(task.id).catch(() => undefined);
        }
        throw err;
      }
      return this.receipt(action, task.id, true);
    });
  }

  async claim(action: TaskAction): Promise<TaskReceipt | null> {
    return this.call(async () => {
      const pid = await this.processOf(action.caseRow);
      const task = await this.openTask(pid, action.taskKey);
      if (!task) return null;
      const assignee = this.openTextUser(action.actor);
      // Another holder gives it up first: assignment in the graph moves the work.
      if (task.assignee && task.assignee !== assignee) await this.client.tasks.unclaim(task.id);
      await this.client.tasks.claim(task.id, assignee);
      return this.receipt(action, task.id, false);
    });
  }

  async comment(caseRow: CaseRow, message: string): Promise<void> {
    await this.call(async () => {
      await this.client.comments.add(await this.processOf(caseRow), message);
    });
  }

  async record(tx: Transaction<WorkflowDB>, receipt: TaskReceipt | null): Promise<void> {
    if (!receipt) return;
    await tx
      .insertInto('workflow.task_links')
      .values({
        task_id: receipt.taskId,
        case_id: receipt.caseId,
        task_key: receipt.taskKey,
        approval_id: receipt.approvalId,
        assignee: receipt.assignee,
        outcome: receipt.outcome,
        completed_at: receipt.completed ? new Date() : null,
      })
      .onConflict((oc) =>
        oc.column('task_id').doUpdateSet({
          assignee: receipt.assignee,
          outcome: receipt.outcome,
          completed_at: receipt.completed ? new Date() : null,
        }),
      )
      .execute();
  }

  async history(caseIds: readonly string[]): Promise<ProcessHistoryEntry[][]> {
    const links = caseIds.length
      ? await this.db
          .selectFrom('workflow.process_links')
          .selectAll()
          .where('case_id', 'in', [...caseIds])
          .execute()
      : [];
    const byCase = new Map(links.map((l) => [l.case_id, l.process_instance_id]));
    return Promise.all(
      caseIds.map(async (id) => {
        const pid = byCase.get(id);
        if (!pid) return [];
        try {
          return this.entriesOf(await this.client.history.tasksOfProcess(pid));
        } catch (err) {
          // Reads keep working from the graph's store when Workflow Service cannot answer.
          log.warn('Workflow Service task history unavailable; the case trail is shown alone', {
            caseId: id,
            err,
          });
          return [];
        }
      }),
    );
  }

  // ----------------------------------------------------------------------------------- internals

  private entriesOf(tasks: readonly HistoricTaskInstance[]): ProcessHistoryEntry[] {
    const lastEnded = [...tasks].filter((t) => t.endTime).pop();
    return tasks.map((t) => {
      const vars = variablesOf(t.variables);
      const key = t.taskDefinitionKey ?? null;
      const ended = parseWorkflowDate(t.endTime);
      const outcome = key ? vars[`${key}Outcome`] : undefined;
      const action = !ended
        ? 'WORKFLOW_TASK_OPEN'
        : t.deleteReason
          ? 'WORKFLOW_TASK_CANCELLED'
          : 'WORKFLOW_TASK_COMPLETED';
      return {
        id: `otws:${t.id}`,
        at: ended ?? parseWorkflowDate(t.claimTime) ?? parseWorkflowDate(t.startTime) ?? new Date(0),
        actor: t.assignee ? this.graphUser(t.assignee) : 'unassigned',
        action,
        detail: {
          source: 'WORKFLOW_SERVICE',
          taskId: t.id,
          taskKey: key,
          name: t.name ?? null,
          outcome: typeof outcome === 'string' ? outcome : null,
          // Completions set `comment` on the process (contract), so only the latest one's is known.
          comment: t === lastEnded && typeof vars.comment === 'string' ? vars.comment : null,
          processInstanceId: t.processInstanceId ?? null,
          ...(t.deleteReason ? { deleteReason: t.deleteReason } : {}),
        },
      };
    });
  }

  private receipt(action: TaskAction, taskId: string, completed: boolean): TaskReceipt {
    return {
      caseId: action.caseRow.id,
      taskId,
      taskKey: action.taskKey,
      approvalId: action.approvalId ?? null,
      assignee: action.actor,
      outcome: completed ? (action.outcome ?? 'completed') : null,
      completed,
    };
  }

  private async openTask(pid: string, taskKey: string) {
    const page = await this.client.tasks.list({ processInstanceId: pid, count: 100 });
    return page.items.find((t) => t.taskDefinitionKey === taskKey) ?? null;
  }

  private async completedTask(pid: string, taskKey: string): Promise<HistoricTaskInstance | null> {
    const tasks = await this.client.history.tasksOfProcess(pid);
    return (
      [...tasks].reverse().find((t) => t.taskDefinitionKey === taskKey && t.endTime && !t.deleteReason) ??
      null
    );
  }

  /** The case's process instance; started now if its start command has not run yet. */
  private async processOf(c: CaseRow): Promise<string> {
    const link = await this.linkOf(c.id);
    if (link) return link;
    const approvals = STAGED_KINDS.has(c.kind)
      ? await this.db
          .selectFrom('workflow.approvals')
          .select('stage')
          .where('case_id', '=', c.id)
          .orderBy('seq')
          .execute()
      : [];
    return this.ensureProcess({
      caseId: c.id,
      caseKind: c.kind,
      title: c.title,
      customerId: c.customer_id,
      templateId: c.template_id,
      requestedBy: c.started_by,
      stages: approvals.map((a) => a.stage),
    });
  }

  private async linkOf(caseId: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('workflow.process_links')
      .select('process_instance_id')
      .where('case_id', '=', caseId)
      .executeTakeFirst();
    return row?.process_instance_id ?? null;
  }

  /** Starts in flight per case: the start command and a decision racing it wait for one another. */
  private readonly starting = new Map<string, Promise<string>>();

  /**
   * Starts the case's process at most once (found by business key first) and links it. Two
   * starts of one case in this process run one after the other; across replicas the business
   * key lookup is what stands between them (a known gap: two replicas at the very same moment).
   */
  private ensureProcess(cmd: StartProcessCommand): Promise<string> {
    const before = this.starting.get(cmd.caseId) ?? Promise.resolve('');
    const run = before.catch(() => '').then(() => this.startOnce(cmd));
    this.starting.set(cmd.caseId, run);
    const forget = () => {
      if (this.starting.get(cmd.caseId) === run) this.starting.delete(cmd.caseId);
    };
    run.then(forget, forget);
    return run;
  }

  private async startOnce(cmd: StartProcessCommand): Promise<string> {
    const existing = await this.linkOf(cmd.caseId);
    if (existing) return existing;
    const key = this.config.processKeys[cmd.caseKind as CaseKind];
    if (!key) throw new Error(`no Workflow Service process key for case kind ${cmd.caseKind}`);
    const ref = await startCaseProcess(this.client, {
      processDefinitionKey: key,
      caseId: cmd.caseId,
      caseKind: cmd.caseKind,
      title: cmd.title,
      customerId: cmd.customerId,
      templateId: cmd.templateId,
      requestedBy: cmd.requestedBy,
      stages: cmd.stages,
    });
    await this.db
      .insertInto('workflow.process_links')
      .values({
        case_id: cmd.caseId,
        process_definition_key: key,
        process_instance_id: ref.processInstanceId,
      })
      .onConflict((oc) => oc.column('case_id').doNothing())
      .execute();
    return (await this.linkOf(cmd.caseId)) ?? ref.processInstanceId;
  }

  /** The OpenText user id of a token subject (WORKFLOW_IDENTITY_MAP read backwards). */
  private openTextUser(subject: string): string {
    const map = this.config.identityMap;
    if (!map) return subject;
    return Object.entries(map).find(([, sub]) => sub === subject)?.[0] ?? subject;
  }

  /** The token subject of an OpenText user id. */
  private graphUser(user: string): string {
    return this.config.identityMap?.[user] ?? user;
  }

  /** Runs Workflow Service calls; refusals and outages become the graph's coded errors. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof GraphQLErrorWithCode) throw err;
      if (err instanceof UpstreamUnavailableError) throw err.toGraphQLError();
      if (err instanceof OpenTextAuthError)
        throw upstreamUnavailable('Workflow Service refused our credentials');
      const mapped = toGraphQLError(err);
      if (mapped instanceof GraphQLErrorWithCode) {
        log.warn('Workflow Service refused a change', { err });
        throw mapped;
      }
      throw err;
    }
  }
}
