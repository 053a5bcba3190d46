import type { RenderSnapshot } from './engine/index.js';

/**
 * What communications needs from the other subgraphs (their services
 * in-process, their GraphQL APIs as separate services). Communications never
 * reads another subgraph's tables.
 */
export type CustomerProfile = RenderSnapshot['customer'] & { preferredChannel: string };

export interface CaseApproval {
  caseId: string;
  title: string;
  customerId: string | null;
  state: 'APPROVED' | 'PENDING' | 'REJECTED' | 'NO_APPROVALS';
}

export interface OpenExceptionCase {
  exceptionId: string;
  kind: string;
  message: string;
  documentId: string | null;
  customerId: string | null;
  channel: string | null;
  sourceCaseId: string | null;
}

export interface ExceptionOutcome {
  caseId: string;
  sourceCaseId: string | null;
  actor: string;
  resolution: string;
  retryDocumentId: string | null;
  retryDeliveryId: string | null;
  retryStatus: string | null;
}

export interface CommunicationsPorts {
  customers(ids: readonly string[]): Promise<(CustomerProfile | null)[]>;
  /** Ids of every customer in any of the segments, each once. */
  customersInSegments(segments: readonly string[]): Promise<string[]>;
  recordNoticeOutcome(input: NoticeOutcome): Promise<void>;
  caseApproval(caseId: string): Promise<CaseApproval | null>;
  openExceptionCase(input: OpenExceptionCase): Promise<{ caseId: string }>;
  recordExceptionOutcome(input: ExceptionOutcome): Promise<void>;
}

export interface NoticeOutcome {
  caseId: string;
  batchId: string;
  total: number;
  generated: number;
  failed: number;
}
