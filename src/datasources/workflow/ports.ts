/**
 * What the workflow subgraph needs from the other subgraphs. In-process these
 * call the owning subgraph's service directly; as separate services they call
 * its GraphQL API. Either way, workflow never reads another subgraph's tables.
 */
export interface CustomerSummary {
  id: string;
  preferredChannel: string;
  segments: string[];
}

export interface ApprovedVersion {
  templateId: string;
  documentType: string;
  templateVersionId: string;
  channels: string[];
}

export interface GenerateForCaseCommand {
  caseId: string;
  customerId: string;
  templateVersionId: string;
  channel: string;
  data: Record<string, unknown>;
  requestedBy: string;
  idempotencyKey: string;
}

export interface GenerationOutcome {
  documentId: string;
  status: 'GENERATED' | 'FAILED';
  /** What the case trail should also say about the document (a reissue that kept the original's bytes). */
  detail?: Record<string, unknown>;
}

/**
 * The document exists but is still REQUESTED: its generation backend (Exstream) is down and
 * communications retries it. Thrown by the ports so the command that asked fails and runs
 * again later, finding the same document (same idempotency key) once it has ended.
 */
export class GenerationPendingError extends Error {
  constructor(readonly documentId: string) {
    super(`Document ${documentId} is still being generated (its backend is unavailable); will look again`);
    this.name = 'GenerationPendingError';
  }
}

/** The outcome of a document the ports got back; REQUESTED is not an outcome yet. */
export function generationOutcome(
  documentId: string,
  status: string,
  detail?: Record<string, unknown> | null,
): GenerationOutcome {
  if (status === 'REQUESTED') throw new GenerationPendingError(documentId);
  return {
    documentId,
    status: status === 'GENERATED' ? 'GENERATED' : 'FAILED',
    ...(detail ? { detail } : {}),
  };
}

export interface DocumentSummary {
  id: string;
  customerId: string;
  channel: string;
  status: string;
}

export interface ReissueCommand {
  caseId: string;
  documentId: string;
  channel: string;
  requestedBy: string;
  idempotencyKey: string;
}

export interface WorkflowPorts {
  customer(id: string): Promise<CustomerSummary | null>;
  /** null when the template exists but has no approved version; NOT_FOUND when there is no template. */
  approvedVersion(templateId: string): Promise<ApprovedVersion | null | 'NO_TEMPLATE'>;
  generateForCase(cmd: GenerateForCaseCommand): Promise<GenerationOutcome>;
  document(id: string): Promise<DocumentSummary | null>;
  /** Starts the batch of a signed-off mandatory notice; idempotent per case. */
  launchNoticeBatch(cmd: LaunchNoticeCommand): Promise<{ batchId: string; total: number }>;
  /** Regenerates the exact prior document (its version and archived data) for an authorised REISSUE case. */
  reissue(cmd: ReissueCommand): Promise<GenerationOutcome>;
}

export interface LaunchNoticeCommand {
  caseId: string;
  templateVersionId: string;
  segments: string[];
  channels: string[];
  data: Record<string, unknown>;
  requestedBy: string;
}
