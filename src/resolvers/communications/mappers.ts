import type {
  DeliveryRow,
  DocumentRow,
  ExceptionRow,
  TemplateApprovalRow,
  TemplateRow,
  TemplateVersionRow,
} from '../../store/tables.js';
import type {
  Delivery,
  Document,
  DocumentConnection,
  GenerationException,
  Template,
  TemplateApproval,
  TemplateVersion,
} from '../../schema/communications/types.js';
import type {
  ApprovalDecision,
  ApprovalStage,
  Channel,
  DeliveryStatus,
  DocumentStatus,
  ExceptionKind,
  ExceptionStatus,
  TemplateStatus,
} from '../../schema/shared/index.js';
import { encodeCursor, type Page } from '../../datasources/pagination.js';
import { declaredLanguages, type TemplateContent } from '../../datasources/communications/engine/index.js';

export const toTemplate = (r: TemplateRow): Template => ({
  id: r.id,
  name: r.name,
  documentType: r.document_type,
  channels: r.channels as Channel[],
});

export const toVersion = (r: TemplateVersionRow): TemplateVersion => ({
  id: r.id,
  templateId: r.template_id,
  version: r.version,
  status: r.status as TemplateStatus,
  contentHash: r.content_hash,
  languages: declaredLanguages(r.content as TemplateContent) ?? [],
  dataSchema: r.data_schema,
  approvedBy: r.approved_by,
  approvedAt: r.approved_at,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

export const toTemplateApproval = (r: TemplateApprovalRow): TemplateApproval => ({
  id: r.id,
  stage: r.stage as ApprovalStage,
  decision: r.decision as ApprovalDecision,
  decidedBy: r.decided_by,
  decidedAt: r.decided_at,
  comment: r.comment,
  round: r.round,
  contentHash: r.content_hash,
});

export const toDocument = (r: DocumentRow, publicUrl: string): Document => ({
  id: r.id,
  status: r.status as DocumentStatus,
  channel: r.channel as Channel,
  customerId: r.customer_id,
  contentHash: r.content_hash,
  mediaType: r.media_type,
  contentUrl: r.status === 'GENERATED' ? `${publicUrl}/documents/${r.id}/content` : null,
  requestedBy: r.requested_by,
  createdAt: r.created_at,
  caseId: r.case_id,
  templateVersionId: r.template_version_id,
  reissueOfId: r.reissue_of,
});

export const toDelivery = (r: DeliveryRow): Delivery => ({
  id: r.id,
  channel: r.channel as Channel,
  status: r.status as DeliveryStatus,
  attempts: r.attempts,
  lastError: r.last_error,
  updatedAt: r.updated_at,
});

export const toException = (r: ExceptionRow): GenerationException => ({
  id: r.id,
  kind: r.kind as ExceptionKind,
  status: r.status as ExceptionStatus,
  message: r.message,
  resolution: r.resolution,
  resolvedBy: r.resolved_by,
  resolvedAt: r.resolved_at,
  createdAt: r.created_at,
  documentId: r.document_id,
  deliveryId: r.delivery_id,
  caseId: r.case_id,
  retryDocumentId: r.retry_document_id,
  retryDeliveryId: r.retry_delivery_id,
  jobId: r.job_id ?? null,
  externalId: r.external_id ?? null,
});

export function toDocumentConnection(page: Page<DocumentRow>, publicUrl: string): DocumentConnection {
  const edges = page.nodes.map((r) => ({
    cursor: encodeCursor({ at: r.created_at.toISOString(), id: r.id }),
    node: toDocument(r, publicUrl),
  }));
  return {
    edges,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: page.totalCount,
  };
}

/** A reference to an entity another subgraph owns; the gateway resolves the rest. */
export const caseRef = (id: string | null) => (id ? { id } : null);
