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
