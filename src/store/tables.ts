import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Row types of every table, grouped by the subgraph that owns them. Each
 * subgraph's datasources are typed with its own slice (WorkflowDB, ...), so a
 * datasource reading another subgraph's table does not compile.
 */
/** A timestamp with a database default: optional on insert. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type JsonObject = ColumnType<Record<string, unknown>, string, string>;
type NullableJson = ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
/** bigserial: pg returns int8 as a string, which keeps it exact. */
type BigId = ColumnType<string, never, never>;
export type { BigId };
/** A column of an audit trail's hash chain: read-only to the application (null until the entry commits). */
type ChainColumn<T> = ColumnType<T | null, never, never>;

/** The outbox every subgraph writes its externally visible changes to. */
export interface EventsTable {
  id: BigId;
  topic: string;
  payload: JsonObject;
  occurred_at: Timestamp;
  /** The W3C traceparent of the change that wrote the event (migration 012); null with tracing off. */
  traceparent: string | null;
}

/** Work for another subgraph, committed with the change that asks for it. */
export interface CommandsTable {
  id: BigId;
  kind: string;
  payload: JsonObject;
  created_at: Timestamp;
  attempts: Generated<number>;
  last_error: string | null;
  done_at: NullableTimestamp;
  next_attempt_at: Timestamp;
}

// ── workflow ────────────────────────────────────────────────────────────────
export interface CasesTable {
  id: string;
  kind: string;
  status: string;
  title: string;
  customer_id: string | null;
  template_id: string | null;
  template_version_id: string | null;
  channel: string | null;
  data: NullableJson;
  started_by: string;
  assigned_team: string | null;
  assignee: string | null;
  due_at: NullableTimestamp;
  /** Links to the other side: the exception or document a case is about. */
  subject: NullableJson;
  idempotency_key: string | null;
  resolution: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApprovalsTable {
  id: string;
  case_id: string;
  stage: string;
  seq: number;
  decision: string;
  decided_by: string | null;
  decided_at: NullableTimestamp;
  comment: string | null;
}

export interface TasksTable {
  id: string;
  case_id: string;
  approval_id: string | null;
  kind: string;
  role: string;
  team: string | null;
  assignee: string | null;
  status: string;
  due_at: NullableTimestamp;
  created_at: Timestamp;
  completed_at: NullableTimestamp;
}

export interface AuditEventsTable {
  id: BigId;
  case_id: string;
  at: Timestamp;
  actor: string;
  action: string;
  detail: NullableJson;
  /** Hash chain (migration 008), set by the database at commit: never written by us. */
  seq: ChainColumn<string>;
  prev_hash: ChainColumn<Buffer>;
  hash: ChainColumn<Buffer>;
}

export interface CaseMilestonesTable {
  case_id: string;
  milestone: string;
  reached_at: Timestamp;
  reported_by: string;
  /** The template of the communication the mapping chose, if any. */
  template_id: string | null;
  document_id: string | null;
}

export interface CaseDeadlinesTable {
  case_id: string;
  /** ACKNOWLEDGEMENT or FINAL_RESPONSE */
  kind: string;
  due_at: Timestamp;
  met_at: NullableTimestamp;
  /** The last alert raised: DUE_SOON, then BREACHED. */
  alerted: string | null;
}

/** Workflow Service poller (migration 015): how far each history feed has been applied. */
export interface OtwsWatermarksTable {
  /** `tasks` (completed tasks) or `processes` (finished process instances). */
  feed: string;
  watermark: Date;
  updated_at: Timestamp;
}

/** A task completed in Workflow Service that the poller has applied (or found nothing to apply for). */
export interface OtwsAppliedTasksTable {
  task_id: string;
  case_id: string;
  task_key: string;
  /** The OpenText user id of its assignee, as Workflow Service gave it. */
  assignee: string | null;
  outcome: string | null;
  /** What the completion did in the graph (see src/datasources/workflow/otws/outside.ts). */
  result: string;
  completed_at: NullableTimestamp;
  applied_at: Timestamp;
}

/** A process instance the poller has seen finished. */
export interface OtwsFinishedProcessesTable {
  process_instance_id: string;
  case_id: string;
  end_activity_id: string | null;
  delete_reason: string | null;
  ended_at: NullableTimestamp;
  applied_at: Timestamp;
}

export interface WorkflowDB {
  'workflow.otws_watermarks': OtwsWatermarksTable;
  'workflow.otws_applied_tasks': OtwsAppliedTasksTable;
  'workflow.otws_finished_processes': OtwsFinishedProcessesTable;
  'workflow.cases': CasesTable;
  'workflow.approvals': ApprovalsTable;
  'workflow.tasks': TasksTable;
  'workflow.audit_events': AuditEventsTable;
  'workflow.case_milestones': CaseMilestonesTable;
  'workflow.case_deadlines': CaseDeadlinesTable;
  'workflow.events': EventsTable;
  'workflow.commands': CommandsTable;
  'workflow.process_links': ProcessLinksTable;
  'workflow.task_links': TaskLinksTable;
}

/** A case's Workflow Service process instance (migration 013; connected workflow only). */
export interface ProcessLinksTable {
  case_id: string;
  process_definition_key: string;
  process_instance_id: string;
  linked_at: Timestamp;
}

/** A Workflow Service task behind a case's stage, and how the graph completed or claimed it. */
export interface TaskLinksTable {
  task_id: string;
  case_id: string;
  task_key: string;
  approval_id: string | null;
  assignee: string | null;
  outcome: string | null;
  completed_at: NullableTimestamp;
}

// ── customers ───────────────────────────────────────────────────────────────
export interface CustomersTable {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  address: NullableJson;
  preferred_channel: string;
  segments: string[];
  locale: string;
  brand: string;
  created_at: Timestamp;
}

export interface CustomersDB {
  'customers.customers': CustomersTable;
  'customers.events': EventsTable;
}

// ── communications ──────────────────────────────────────────────────────────
export interface TemplatesTable {
  id: string;
  name: string;
  document_type: string;
  channels: string[];
  created_at: Timestamp;
}

export interface TemplateVersionsTable {
  id: string;
  template_id: string;
  version: number;
  status: string;
  content: JsonObject;
  data_schema: JsonObject;
  content_hash: string;
  approved_by: string | null;
  approved_at: NullableTimestamp;
  created_by: string;
  created_at: Timestamp;
  /** Bumped at each submission for review; approvals of earlier rounds no longer count. */
  review_round: Generated<number>;
}

export interface TemplateApprovalsTable {
  id: string;
  version_id: string;
  round: number;
  stage: string;
  seq: number;
  decision: string;
  decided_by: string | null;
  decided_at: NullableTimestamp;
  comment: string | null;
  /** The content the decision was about; an approval counts only for that content. */
  content_hash: string;
}

export interface TemplateAuditTable {
  id: BigId;
  template_id: string;
  version_id: string | null;
  at: Timestamp;
  actor: string;
  action: string;
  detail: NullableJson;
  /** Hash chain (migration 008), set by the database at commit: never written by us. */
  seq: ChainColumn<string>;
  prev_hash: ChainColumn<Buffer>;
  hash: ChainColumn<Buffer>;
}

export interface DocumentsTable {
  id: string;
  status: string;
  channel: string;
  customer_id: string;
  case_id: string | null;
  template_version_id: string;
  /** The archived data snapshot the document was rendered from. */
  snapshot: JsonObject;
  content_hash: string | null;
  media_type: string | null;
  reissue_of: string | null;
  /** The mandatory-notice batch the document belongs to. */
  batch_id: Generated<string | null>;
  idempotency_key: string | null;
  /**
   * Whose key it is (migration 009): `caller:<token subject>` for a client's key,
   * `system` for the keys of the gateway's own commands. Keys are unique per scope.
   */
  idempotency_scope: Generated<string | null>;
  /** SHA-256 of the canonical request the key was first used with; null before migration 009. */
  request_hash: Generated<string | null>;
  /**
   * Set when the content is not the renderer's answer (migration 014): a reissue whose Exstream
   * output differed from the original carries the original's bytes, and this says so.
   */
  output_note: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  requested_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** The rendered output of a document, one row per part (document.pdf, body.html, body.txt, ...). */
export interface DocumentPartsTable {
  document_id: string;
  name: string;
  media_type: string;
  body: Buffer;
}

export interface DeliveriesTable {
  id: string;
  document_id: string;
  channel: string;
  status: string;
  attempts: number;
  address: string | null;
  location: string | null;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ExceptionsTable {
  id: string;
  kind: string;
  status: string;
  message: string;
  document_id: string | null;
  delivery_id: string | null;
  case_id: string | null;
  resolution: string | null;
  resolved_by: string | null;
  resolved_at: NullableTimestamp;
  retry_document_id: string | null;
  retry_delivery_id: string | null;
  /**
   * The resolution that won the exception (migration 009), held while its retry is made:
   * who, what, with which data. Set under the row lock while OPEN, cleared when RESOLVED.
   */
  claim: NullableJson;
  created_at: Timestamp;
  /** The Exstream runtime job whose `error` raised it (migration 011); unique: one exception per job. */
  job_id: Generated<string | null>;
  /** That job's `externalId`. */
  external_id: Generated<string | null>;
}

/** An Exstream runtime job seen `holding` by the runtime monitor (migration 011). */
export interface HeldJobsTable {
  job_id: string;
  domain: string;
  external_id: string | null;
  /** HOLDING, RELEASED (through the graph) or LEFT_HOLD (released or stopped outside the graph). */
  status: string;
  held_since: Timestamp;
  /** The held flow steps as last read: `HeldStep[]`. */
  steps: ColumnType<unknown[], string | undefined, string>;
  released_by: string | null;
  released_at: NullableTimestamp;
  release_comment: string | null;
  /** A release under way: `{actor, comment, at}`; set under the row lock, cleared when done. */
  release_claim: NullableJson;
  seen_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface HeldJobAuditTable {
  id: BigId;
  job_id: string;
  at: Timestamp;
  actor: string;
  action: string;
  detail: NullableJson;
  seq: ChainColumn<string>;
  prev_hash: ChainColumn<Buffer>;
  hash: ChainColumn<Buffer>;
}

/** The runtime monitor's watermark per Exstream domain (migration 011). */
export interface RuntimeMonitorTable {
  domain: string;
  /** When the last complete poll started (its jobs are all handled). */
  polled_at: NullableTimestamp;
  /** The oldest job start that poll read (now − EXSTREAM_LOOKBACK_HOURS). */
  window_start: NullableTimestamp;
  last_error: string | null;
  last_error_at: NullableTimestamp;
  updated_at: Generated<Date>;
}

export interface NoticeBatchesTable {
  id: string;
  case_id: string;
  template_version_id: string;
  segments: string[];
  channels: string[];
  data: JsonObject;
  requested_by: string;
  /** RUNNING, then COMPLETED once every record is generated or failed and every delivery ended. */
  status: string;
  total: number;
  /** Its documents, counted in the transaction that inserts each (migration 016). */
  documents: Generated<number>;
  enqueued_at: NullableTimestamp;
  created_at: Timestamp;
  finished_at: NullableTimestamp;
}

/**
 * A batch's documents counted by channel, status and their latest delivery's status ('' for
 * none), kept by triggers on documents and deliveries (migration 017); read by `batchProgress`.
 */
export interface BatchCountsTable {
  batch_id: string;
  channel: string;
  document_status: string;
  delivery_status: string;
  /** The writing connection's backend pid (migration 018): a count is the sum over slots. */
  slot: Generated<number>;
  count: number;
}

/** Issue 10: what Exstream Design last said of a communication (migration 010). */
export interface ExstreamResourcesTable {
  resource_id: string;
  name: string;
  channels: string[];
  communication_set_id: string | null;
  driver_data_source: string | null;
  present: Generated<boolean>;
  refreshed_at: Timestamp;
}

export interface ExstreamVersionsTable {
  resource_id: string;
  version: number;
  /** Exstream's state: DRAFT, REVIEW, APPROVED, REJECTED. */
  state: string;
  last_modified_by: string | null;
  last_modified_date: string | null;
  /** SHA-256 (hex) of the version's content bytes. */
  content_hash: string;
  refreshed_at: Timestamp;
}

export interface ExstreamHistoryTable {
  resource_id: string;
  /** Position in Exstream's STATE history (its `revision` when given). */
  seq: number;
  version: number | null;
  state: string | null;
  operation: string | null;
  modified_by: string | null;
  modified_at: NullableTimestamp;
  audited_comment: string | null;
}

export interface CommunicationsDB {
  'communications.templates': TemplatesTable;
  'communications.template_versions': TemplateVersionsTable;
  'communications.template_approvals': TemplateApprovalsTable;
  'communications.template_audit': TemplateAuditTable;
  'communications.documents': DocumentsTable;
  'communications.document_parts': DocumentPartsTable;
  'communications.deliveries': DeliveriesTable;
  'communications.exceptions': ExceptionsTable;
  'communications.notice_batches': NoticeBatchesTable;
  'communications.batch_counts': BatchCountsTable;
  'communications.held_jobs': HeldJobsTable;
  'communications.held_job_audit': HeldJobAuditTable;
  'communications.runtime_monitor': RuntimeMonitorTable;
  'communications.events': EventsTable;
  'communications.commands': CommandsTable;
  'communications.exstream_resources': ExstreamResourcesTable;
  'communications.exstream_versions': ExstreamVersionsTable;
  'communications.exstream_history': ExstreamHistoryTable;
}

export type ExstreamVersionRow = Selectable<ExstreamVersionsTable>;
export type ExstreamHistoryRow = Selectable<ExstreamHistoryTable>;

export type Database = WorkflowDB & CustomersDB & CommunicationsDB;

export type CaseRow = Selectable<CasesTable>;
export type ApprovalRow = Selectable<ApprovalsTable>;
export type TaskRow = Selectable<TasksTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type CaseMilestoneRow = Selectable<CaseMilestonesTable>;
export type CaseDeadlineRow = Selectable<CaseDeadlinesTable>;
export type CustomerRow = Selectable<CustomersTable>;
export type TemplateRow = Selectable<TemplatesTable>;
export type TemplateVersionRow = Selectable<TemplateVersionsTable>;
export type TemplateApprovalRow = Selectable<TemplateApprovalsTable>;
export type TemplateAuditRow = Selectable<TemplateAuditTable>;
export type DocumentRow = Selectable<DocumentsTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type ExceptionRow = Selectable<ExceptionsTable>;
export type NoticeBatchRow = Selectable<NoticeBatchesTable>;
export type HeldJobRow = Selectable<HeldJobsTable>;
export type HeldJobAuditRow = Selectable<HeldJobAuditTable>;
export type EventRow = Selectable<EventsTable>;
export type NewCase = Insertable<CasesTable>;
export type CaseUpdate = Updateable<CasesTable>;

/**
 * A subgraph's typed view of the shared handle. In the embedded default all
 * schemas live in one database; the type is what keeps each subgraph to its own.
 */
export function sliceOf<DB>(db: unknown): import('kysely').Kysely<DB> {
  return db as import('kysely').Kysely<DB>;
}
