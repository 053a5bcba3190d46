/**
 * What maps to what between Exstream Design and the graph's template catalogue
 * (contract "Templates are the domain's communications"; docs/opentext.md, "Template catalogue").
 * Pure functions: the one place each rule of the mapping lives.
 */
import { createHash } from 'node:crypto';
import { GraphQLErrorWithCode, ErrorCode } from '../../../errors/index.js';
import type { Channel } from '../../../config/opentext.js';

/** The graph's template statuses (schema `TemplateStatus`). */
export type GraphTemplateStatus = 'DRAFT' | 'IN_REVIEW' | 'APPROVED' | 'RETIRED';

/** The version id the graph gives a DAS version: the embedded mode's form, so ids read the same. */
export const versionId = (resourceId: string, version: number): string => `${resourceId}_v${version}`;

/** The template's `contentHash`: SHA-256 (hex) of the version's content bytes as Exstream serves them. */
export const contentHashOf = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Exstream state → graph status. REJECTED shows as DRAFT (as a rejection does in the embedded
 * mode); an APPROVED version older than the newest APPROVED one was superseded: RETIRED.
 */
export function graphStatus(state: string, supersededApproval: boolean): GraphTemplateStatus {
  switch (state) {
    case 'DRAFT':
    case 'REJECTED':
      return 'DRAFT';
    case 'REVIEW':
      return 'IN_REVIEW';
    case 'APPROVED':
      return supersededApproval ? 'RETIRED' : 'APPROVED';
    default:
      // A state of a workflow the contract does not name (SIMPLE or ADVANCED domains): shown as a
      // draft, the state nothing is generated from.
      return 'DRAFT';
  }
}

/** The statuses of all versions of one resource, by version number. */
export function graphStatuses(
  versions: ReadonlyArray<{ version: number; state: string }>,
): Map<number, GraphTemplateStatus> {
  const newestApproved = Math.max(
    -1,
    ...versions.filter((v) => v.state === 'APPROVED').map((v) => v.version),
  );
  return new Map(
    versions.map((v) => [
      v.version,
      graphStatus(v.state, v.state === 'APPROVED' && v.version < newestApproved),
    ]),
  );
}

/** A template's channels: the union of what its manifest's queue drivers serve (EXSTREAM_QUEUE_CHANNELS), in schema order. */
export function channelsOf(
  queueDrivers: readonly string[],
  queueChannels: Record<string, Channel[]>,
): Channel[] {
  const served = new Set(queueDrivers.flatMap((d) => queueChannels[d] ?? []));
  return (['PRINT', 'EMAIL', 'WEB', 'MOBILE'] as const).filter((c) => served.has(c));
}

/**
 * A mirrored version's `content` in the graph: a reference to the DAS version, not the design
 * (which only Exstream reads). Its integrity is Exstream's: approved DAS versions are immutable,
 * and approval in the graph checks the live content hash.
 */
export interface ExstreamContentRef {
  exstream: { communicationId: string; version: number; contentHash: string };
}

export function exstreamContent(
  communicationId: string,
  version: number,
  contentHash: string,
): ExstreamContentRef {
  return { exstream: { communicationId, version, contentHash } };
}

export function isExstreamContent(content: unknown): content is ExstreamContentRef {
  const ref = (content as { exstream?: unknown } | null)?.exstream;
  return (
    !!ref &&
    typeof ref === 'object' &&
    typeof (ref as { communicationId?: unknown }).communicationId === 'string'
  );
}

/** A document type for a communication the graph has not seen: its name in the form of a document type. */
export function documentTypeOf(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 60);
  return /^[a-z]/.test(slug) ? slug : `communication_${slug || 'unnamed'}`;
}

/** The audited comment of an approval made in the graph: who decided which stage, and the content they saw. */
export function approvalComment(
  deciders: ReadonlyArray<{ stage: string; by: string }>,
  contentHash: string,
): string {
  const who = deciders.map((d) => `${d.by} (${d.stage})`).join(', ');
  return `Approved in CommsGraph by ${who}; content sha256:${contentHash}`;
}

export function submissionComment(by: string, contentHash: string, comment?: string | null): string {
  return `Submitted for review in CommsGraph by ${by}; content sha256:${contentHash}${comment ? `: ${comment}` : ''}`;
}

export function rejectionComment(by: string, stage: string, comment?: string | null): string {
  return `Rejected in CommsGraph by ${by} (${stage})${comment ? `: ${comment}` : ''}`;
}

/** Content is authored in Exstream Designer: the graph's authoring mutations say so. */
export function authoredInExstream(operation: string): GraphQLErrorWithCode {
  return new GraphQLErrorWithCode(
    `${operation}: template content is authored in OpenText Exstream Designer, not through the graph`,
    ErrorCode.BAD_USER_INPUT,
    { reason: 'AUTHORED_IN_EXSTREAM' },
  );
}

/** The reason of a refused approval whose content is no longer the content submitted. */
export const CONTENT_CHANGED = 'CONTENT_CHANGED';
