import type { ApprovalRow, CaseRow, TaskRow } from '../../store/tables.js';
import type { Approval, Case, Task } from '../../schema/workflow/types.js';
import type {
  ApprovalDecision,
  ApprovalStage,
  CaseKind,
  CaseStatus,
  Channel,
} from '../../schema/shared/index.js';
import { encodeCursor, type Page } from '../../datasources/pagination.js';
import type { CaseConnection } from '../../schema/workflow/types.js';

export const toCase = (r: CaseRow): Case => ({
  id: r.id,
  kind: r.kind as CaseKind,
  status: r.status as CaseStatus,
  title: r.title,
  customerId: r.customer_id,
  channel: r.channel as Channel | null,
  templateVersionId: r.template_version_id,
  assignedTeam: r.assigned_team,
  assignee: r.assignee,
  startedBy: r.started_by,
  resolution: r.resolution,
  dueAt: r.due_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toApproval = (r: ApprovalRow): Approval => ({
  id: r.id,
  caseId: r.case_id,
  stage: r.stage as ApprovalStage,
  decision: r.decision as ApprovalDecision,
  decidedBy: r.decided_by,
  decidedAt: r.decided_at,
  comment: r.comment,
});

export const toTask = (r: TaskRow): Task => ({
  id: r.id,
  kind: r.kind,
  role: r.role,
  team: r.team,
  assignee: r.assignee,
  status: r.status,
  dueAt: r.due_at,
  completedAt: r.completed_at,
});

export function toCaseConnection(page: Page<CaseRow>): CaseConnection {
  const edges = page.nodes.map((r) => ({
    cursor: encodeCursor({ at: r.created_at.toISOString(), id: r.id }),
    node: toCase(r),
  }));
  return {
    edges,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: page.totalCount,
  };
}
