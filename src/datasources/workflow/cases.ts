import DataLoader from 'dataloader';
import type { Kysely, Transaction } from 'kysely';
import type { Topic } from '../../events/index.js';
import { primeLoaders, upToMark, type EventSnapshot } from '../../events/snapshot.js';
import type {
  ApprovalRow,
  AuditEventRow,
  CaseDeadlineRow,
  CaseMilestoneRow,
  CaseRow,
  TaskRow,
  WorkflowDB,
} from '../../store/tables.js';
import { groupBy, loadFirstPages } from '../batching.js';
import { EMBEDDED_TASKS, type ProcessHistoryEntry, type TaskHandling } from './task-handling.js';
import { decodeCursor, firstPagesByOwner, pageSize, toPage, type Page } from '../pagination.js';

export interface CaseFilter {
  kind?: string | null;
  status?: string | null;
  customerId?: string | null;
  first?: number | null;
  after?: string | null;
}

/** Reads of the workflow store, each batched by key for DataLoader. */
export class CaseReader {
  constructor(private readonly db: Kysely<WorkflowDB>) {}

  async casesByIds(ids: readonly string[]): Promise<(CaseRow | null)[]> {
    const rows = ids.length
      ? await this.db
          .selectFrom('workflow.cases')
          .selectAll()
          .where('id', 'in', [...ids])
          .execute()
      : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async approvalsByIds(ids: readonly string[]): Promise<(ApprovalRow | null)[]> {
    const rows = ids.length
      ? await this.db
          .selectFrom('workflow.approvals')
          .selectAll()
          .where('id', 'in', [...ids])
          .execute()
      : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async approvalsByCase(caseIds: readonly string[]): Promise<ApprovalRow[][]> {
    const rows = caseIds.length
      ? await this.db
          .selectFrom('workflow.approvals')
          .selectAll()
          .where('case_id', 'in', [...caseIds])
          .orderBy('seq')
          .execute()
      : [];
    return groupBy(caseIds, rows, (r) => r.case_id);
  }

  async tasksByCase(caseIds: readonly string[]): Promise<TaskRow[][]> {
    const rows = caseIds.length
      ? await this.db
          .selectFrom('workflow.tasks')
          .selectAll()
          .where('case_id', 'in', [...caseIds])
          .orderBy('created_at')
          .orderBy('id')
          .execute()
      : [];
    return groupBy(caseIds, rows, (r) => r.case_id);
  }

  async historyByCase(caseIds: readonly string[]): Promise<AuditEventRow[][]> {
    const rows = caseIds.length
      ? await this.db
          .selectFrom('workflow.audit_events')
          .selectAll()
          .where('case_id', 'in', [...caseIds])
          .orderBy('id')
          .execute()
      : [];
    return groupBy(caseIds, rows, (r) => r.case_id);
  }

  async milestonesByCase(caseIds: readonly string[]): Promise<CaseMilestoneRow[][]> {
    const rows = caseIds.length
      ? await this.db
          .selectFrom('workflow.case_milestones')
          .selectAll()
          .where('case_id', 'in', [...caseIds])
          .orderBy('reached_at')
          .execute()
      : [];
    return groupBy(caseIds, rows, (r) => r.case_id);
  }

  async deadlinesByCase(caseIds: readonly string[]): Promise<CaseDeadlineRow[][]> {
    const rows = caseIds.length
      ? await this.db
          .selectFrom('workflow.case_deadlines')
          .selectAll()
          .where('case_id', 'in', [...caseIds])
          .orderBy('due_at')
          .execute()
      : [];
    return groupBy(caseIds, rows, (r) => r.case_id);
  }

  async list(filter: CaseFilter): Promise<Page<CaseRow>> {
    const size = pageSize(filter.first);
    const cursor = decodeCursor(filter.after);
    let q = this.db.selectFrom('workflow.cases');
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.customerId) q = q.where('customer_id', '=', filter.customerId);
    const { count } = await q.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    let pq = q.selectAll();
    // Newest first: what a case worker wants on top.
    if (cursor) {
      pq = pq.where((eb) =>
        eb.or([
          eb('created_at', '<', new Date(cursor.at)),
          eb.and([eb('created_at', '=', new Date(cursor.at)), eb('id', '<', cursor.id)]),
        ]),
      );
    }
    const rows = await pq
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(size + 1)
      .execute();
    return toPage(rows, size, Number(count));
  }

  /** The oldest case a principal started with this title (the demo seeder finds its own cases by it). */
  async startedWithTitle(startedBy: string, title: string): Promise<CaseRow | null> {
    const row = await this.db
      .selectFrom('workflow.cases')
      .selectAll()
      .where('started_by', '=', startedBy)
      .where('title', '=', title)
      .orderBy('created_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row ?? null;
  }

  /** One batched query for the first page of several customers' cases. */
  firstPageByCustomer(customerIds: readonly string[], size: number): Promise<Page<CaseRow>[]> {
    return firstPagesByOwner<CaseRow>(
      this.db as Kysely<unknown>,
      'workflow.cases',
      'customer_id',
      customerIds,
      size,
    );
  }
}

/**
 * The loaders of one request, or of one subscription event: given the
 * event's snapshot they answer from it first (src/events/snapshot.ts).
 */
export function workflowLoaders(
  reader: CaseReader,
  snapshot: EventSnapshot | null = null,
  /** Whose process history joins a case's trail (embedded, and in events: none). */
  tasks: TaskHandling = EMBEDDED_TASKS,
) {
  const loaders = {
    case: new DataLoader<string, CaseRow | null>((ids) => reader.casesByIds(ids)),
    approval: new DataLoader<string, ApprovalRow | null>((ids) => reader.approvalsByIds(ids)),
    approvalsByCase: new DataLoader<string, ApprovalRow[]>((ids) => reader.approvalsByCase(ids)),
    tasksByCase: new DataLoader<string, TaskRow[]>((ids) => reader.tasksByCase(ids)),
    historyByCase: new DataLoader<string, AuditEventRow[]>(async (ids) =>
      (await reader.historyByCase(ids)).map((rows, i) => upToMark(snapshot, 'historyByCase', ids[i]!, rows)),
    ),
    processHistoryByCase: new DataLoader<string, ProcessHistoryEntry[]>((ids) => tasks.history(ids)),
    milestonesByCase: new DataLoader<string, CaseMilestoneRow[]>((ids) => reader.milestonesByCase(ids)),
    deadlinesByCase: new DataLoader<string, CaseDeadlineRow[]>((ids) => reader.deadlinesByCase(ids)),
    /** Keyed by `${customerId}:${first}` so one page size batches together. */
    casesByCustomer: new DataLoader<string, Page<CaseRow>>((keys) =>
      loadFirstPages(keys, (ids, size) => reader.firstPageByCustomer(ids, size)),
    ),
  };
  primeLoaders(loaders, snapshot);
  return loaders;
}

/**
 * What a subscriber resolves a case event from: the case as this transaction
 * leaves it, with its approvals, tasks, milestones and deadlines, and how far
 * its trail reached. Case and deadline events (CASE_UPDATED, DEADLINE_ALERT).
 */
export async function caseSnapshot(
  tx: Transaction<WorkflowDB>,
  topic: Topic,
  payload: Readonly<Record<string, unknown>>,
): Promise<EventSnapshot | null> {
  if (topic !== 'CASE_UPDATED' && topic !== 'DEADLINE_ALERT') return null;
  const id = payload.caseId;
  if (typeof id !== 'string') return null;
  const reader = new CaseReader(tx);
  const [row] = await reader.casesByIds([id]);
  if (!row) return null;
  const [approvals] = await reader.approvalsByCase([id]);
  const [tasks] = await reader.tasksByCase([id]);
  const [milestones] = await reader.milestonesByCase([id]);
  const [deadlines] = await reader.deadlinesByCase([id]);
  const trail = await tx
    .selectFrom('workflow.audit_events')
    .select((eb) => eb.fn.max('id').as('newest'))
    .where('case_id', '=', id)
    .executeTakeFirst();
  return {
    loaded: {
      // The case's data is no field of Case; it can be large and is the customer's: not copied.
      case: { [id]: { ...row, data: null } },
      approvalsByCase: { [id]: approvals },
      tasksByCase: { [id]: tasks },
      milestonesByCase: { [id]: milestones },
      deadlinesByCase: { [id]: deadlines },
    },
    upTo: { historyByCase: { [id]: String(trail?.newest ?? '0') } },
  };
}
export type WorkflowLoaders = ReturnType<typeof workflowLoaders>;
