import { DateTimeResolver } from 'graphql-scalars';
import { Authorized, Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { readersOf } from '../../policy/index.js';
import { SafeJSONScalar } from './json.js';

/**
 * Types every subgraph declares identically. Enums and value types shared by
 * several subgraphs must match exactly for composition; declaring them once
 * here guarantees it.
 */
export const DateTime = DateTimeResolver;
/** graphql-scalars' JSON, refusing non-plain, over-deep and oversized input (see ./json.ts). */
export const JSONScalar = SafeJSONScalar;

/** The `after` argument every subscription field takes: the resume cursor. */
export const RESUME_AFTER = {
  nullable: true,
  description: 'Resume after this eventId: missed events are replayed first, then live ones follow.',
} as const;

export enum Channel {
  PRINT = 'PRINT',
  EMAIL = 'EMAIL',
  WEB = 'WEB',
  MOBILE = 'MOBILE',
}
registerEnumType(Channel, {
  name: 'Channel',
  description: 'Output channels of a communication (seed: print, email, web, mobile).',
});

export enum CaseKind {
  REGULATED_DOCUMENT = 'REGULATED_DOCUMENT',
  GENERATION_EXCEPTION = 'GENERATION_EXCEPTION',
  CORRESPONDENCE = 'CORRESPONDENCE',
  DISPUTE = 'DISPUTE',
  MANDATORY_NOTICE = 'MANDATORY_NOTICE',
  REISSUE = 'REISSUE',
  SERVICE = 'SERVICE',
}
registerEnumType(CaseKind, {
  name: 'CaseKind',
  valuesConfig: {
    REGULATED_DOCUMENT: {
      description:
        'Policy packs, statements, billing notices: review, approval and compliance before generation.',
    },
    GENERATION_EXCEPTION: {
      description: 'Opened automatically when generation or delivery fails; worked by operations.',
    },
    CORRESPONDENCE: {
      description:
        'Ad hoc claim letters, account confirmations, regulatory notices requested by service teams.',
    },
    DISPUTE: { description: 'Complaints and billing disputes with response deadlines and staged letters.' },
    MANDATORY_NOTICE: {
      description: 'Rate changes, policy updates, privacy disclosures to customer segments.',
    },
    REISSUE: { description: 'Duplicate statements, policy copies, prior correspondence.' },
    SERVICE: {
      description: 'Claims, underwriting, escalations, payments: milestones trigger communications.',
    },
  },
});

export enum CaseStatus {
  OPEN = 'OPEN',
  AWAITING_APPROVAL = 'AWAITING_APPROVAL',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  IN_PROGRESS = 'IN_PROGRESS',
  RESOLVED = 'RESOLVED',
  CLOSED = 'CLOSED',
}
registerEnumType(CaseStatus, { name: 'CaseStatus' });

export enum ApprovalStage {
  REVIEW = 'REVIEW',
  APPROVAL = 'APPROVAL',
  COMPLIANCE = 'COMPLIANCE',
}
registerEnumType(ApprovalStage, { name: 'ApprovalStage' });

export enum ApprovalDecision {
  PENDING = 'PENDING',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
}
registerEnumType(ApprovalDecision, { name: 'ApprovalDecision' });

export enum TemplateStatus {
  DRAFT = 'DRAFT',
  IN_REVIEW = 'IN_REVIEW',
  APPROVED = 'APPROVED',
  RETIRED = 'RETIRED',
}
registerEnumType(TemplateStatus, { name: 'TemplateStatus' });

export enum DocumentStatus {
  REQUESTED = 'REQUESTED',
  GENERATED = 'GENERATED',
  FAILED = 'FAILED',
}
registerEnumType(DocumentStatus, { name: 'DocumentStatus' });

export enum DeliveryStatus {
  PENDING = 'PENDING',
  SENT = 'SENT',
  DELIVERED = 'DELIVERED',
  FAILED = 'FAILED',
}
registerEnumType(DeliveryStatus, { name: 'DeliveryStatus' });

export enum ExceptionKind {
  MISSING_DATA = 'MISSING_DATA',
  TEMPLATE_ERROR = 'TEMPLATE_ERROR',
  DELIVERY_FAILURE = 'DELIVERY_FAILURE',
  /** Connected mode: the generation backend (Exstream) stayed unreachable through every retry. */
  UPSTREAM_UNAVAILABLE = 'UPSTREAM_UNAVAILABLE',
}
registerEnumType(ExceptionKind, { name: 'ExceptionKind' });

export enum ExceptionStatus {
  OPEN = 'OPEN',
  RESOLVED = 'RESOLVED',
}
registerEnumType(ExceptionStatus, { name: 'ExceptionStatus' });

@ObjectType()
@Directive('@shareable')
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** Shareable: a case's trail (workflow) and a template's trail (communications) have the same shape. */
@ObjectType({ description: "One entry of a case's append-only trail: who did what, when." })
@Directive('@shareable')
export class AuditEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => DateTime)
  at!: Date;

  @Field(() => String)
  actor!: string;

  @Field(() => String)
  action!: string;

  @Authorized(...readersOf('dataPayload'))
  @Field(() => JSONScalar, { nullable: true })
  detail!: unknown;
}

/** Builds a connection's page info from a page and the cursor of its last node. */
export function pageInfo(hasNextPage: boolean, endCursor: string | null): PageInfo {
  return { hasNextPage, endCursor };
}

export { Int };
