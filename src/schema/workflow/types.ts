import { Directive, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import {
  ApprovalDecision,
  ApprovalStage,
  CaseKind,
  CaseStatus,
  Channel,
  DateTime,
  JSONScalar,
  PageInfo,
} from '../shared/index.js';
import { JsonLimits, LIMITS, Text } from '../shared/validation.js';

@ObjectType({ description: 'The work behind an approval or an investigation: who should do it, by when.' })
export class Task {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'APPROVAL, INVESTIGATE, AUTHORISE_REISSUE' })
  kind!: string;

  @Field(() => String, { description: 'The role that may complete the task.' })
  role!: string;

  @Field(() => String, { nullable: true })
  team!: string | null;

  @Field(() => String, { nullable: true })
  assignee!: string | null;

  @Field(() => String, { description: 'OPEN, DONE or CANCELLED' })
  status!: string;

  @Field(() => DateTime, { nullable: true })
  dueAt!: Date | null;

  @Field(() => DateTime, { nullable: true })
  completedAt!: Date | null;
}

@ObjectType()
export class Approval {
  @Field(() => ID)
  id!: string;

  @Field(() => ApprovalStage)
  stage!: ApprovalStage;

  @Field(() => ApprovalDecision)
  decision!: ApprovalDecision;

  @Field(() => String, { nullable: true })
  decidedBy!: string | null;

  @Field(() => DateTime, { nullable: true })
  decidedAt!: Date | null;

  @Field(() => String, { nullable: true })
  comment!: string | null;

  caseId!: string;
}

@ObjectType({ description: 'workflow subgraph' })
@Directive('@key(fields: "id")')
export class Case {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'The eventId of the subscription event that delivered this (null in queries): resume with `after` from it.',
  })
  eventId?: string | null;

  @Field(() => CaseKind)
  kind!: CaseKind;

  @Field(() => CaseStatus)
  status!: CaseStatus;

  @Field(() => String)
  title!: string;

  @Field(() => ID, {
    nullable: true,
    description: 'The customer the case is about (resolved as `customer` by the customers subgraph).',
  })
  customerId!: string | null;

  @Field(() => Channel, { nullable: true, description: 'The channel a generated document goes out on.' })
  channel!: Channel | null;

  @Field(() => ID, { nullable: true, description: 'The template version the case was approved with.' })
  templateVersionId!: string | null;

  @Field(() => String, { nullable: true })
  assignedTeam!: string | null;

  @Field(() => String, { nullable: true })
  assignee!: string | null;

  @Field(() => String)
  startedBy!: string;

  @Field(() => String, { nullable: true })
  resolution!: string | null;

  @Field(() => DateTime, { nullable: true })
  dueAt!: Date | null;

  @Field(() => DateTime)
  createdAt!: Date;

  @Field(() => DateTime)
  updatedAt!: Date;

  /** Not a field: the time a subscription event shows the case at (deadline states are computed for it). */
  asOf?: Date;
}

@ObjectType()
export class CaseEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Case)
  node!: Case;
}

@ObjectType()
export class CaseConnection {
  @Field(() => [CaseEdge])
  edges!: CaseEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

/** The customers subgraph owns Customer; workflow adds the customer's cases. */
@ObjectType('Customer')
@Directive('@key(fields: "id")')
export class CustomerCases {
  @Field(() => ID)
  id!: string;
}

@InputType()
export class StartCaseInput {
  @Field(() => CaseKind)
  kind!: CaseKind;

  @Text(LIMITS.title, { min: 1 })
  @Field(() => String)
  title!: string;

  @Field(() => ID, { nullable: true })
  customerId?: string | null;

  @Field(() => ID, { nullable: true })
  templateId?: string | null;

  @Field(() => Channel, { nullable: true })
  channel?: Channel | null;

  @Text(LIMITS.channelOverrideReason, { multiline: true })
  @Field(() => String, {
    nullable: true,
    description:
      "Why the document goes out on another channel than the customer's preferred one (required then for CORRESPONDENCE); recorded in the trail.",
  })
  channelOverrideReason?: string | null;

  @JsonLimits(LIMITS.data)
  @Field(() => JSONScalar, { nullable: true })
  data?: unknown;
}

@InputType()
export class DecideApprovalInput {
  @Field(() => ID)
  approvalId!: string;

  @Field(() => ApprovalDecision)
  decision!: ApprovalDecision;

  @Text(LIMITS.comment, { multiline: true })
  @Field(() => String, { nullable: true })
  comment?: string | null;
}

@InputType()
export class ReissueDocumentInput {
  @Field(() => ID)
  documentId!: string;

  @Text(LIMITS.comment, { min: 1, multiline: true })
  @Field(() => String)
  reason!: string;

  @Field(() => Channel, {
    nullable: true,
    description: 'Where to deliver the reissue; defaults to the channel of the original.',
  })
  channel?: Channel | null;
}

export enum IdentityVerification {
  KNOWLEDGE_BASED = 'KNOWLEDGE_BASED',
  ONE_TIME_PASSCODE = 'ONE_TIME_PASSCODE',
  DOCUMENT_CHECK = 'DOCUMENT_CHECK',
  IN_PERSON = 'IN_PERSON',
  NOT_VERIFIED = 'NOT_VERIFIED',
}
registerEnumType(IdentityVerification, {
  name: 'IdentityVerification',
  description: 'How the identity of whoever asked for a reissue was verified.',
});

@InputType({
  description: 'The authorisation check of a reissue, recorded on the case whatever its outcome.',
})
export class AuthoriseReissueInput {
  @Field(() => ID)
  caseId!: string;

  @Text(LIMITS.name, { min: 1 })
  @Field(() => String, { description: 'Who asked for the document (the customer, an attorney, ...).' })
  requestedBy!: string;

  @Field(() => IdentityVerification)
  identityVerification!: IdentityVerification;

  @Field(() => Boolean, {
    description: 'Whether the requester may receive this document. false refuses the reissue.',
  })
  entitled!: boolean;

  @Text(LIMITS.comment, { multiline: true })
  @Field(() => String, { nullable: true })
  comment?: string | null;
}

/** Service-to-service: communications asks for a case for a generation exception. Not in the client API. */
@InputType()
@Directive('@inaccessible')
export class OpenExceptionCaseInput {
  @Field(() => ID)
  exceptionId!: string;

  @Field(() => String)
  kind!: string;

  @Text(LIMITS.message, { min: 1, multiline: true })
  @Field(() => String)
  message!: string;

  @Field(() => ID, { nullable: true })
  documentId!: string | null;

  @Field(() => ID, { nullable: true })
  customerId!: string | null;

  @Field(() => String, { nullable: true })
  channel!: string | null;

  @Field(() => ID, { nullable: true })
  sourceCaseId!: string | null;
}

/** Service-to-service: communications records how an exception was worked. Not in the client API. */
@InputType()
@Directive('@inaccessible')
export class ExceptionOutcomeInput {
  @Field(() => ID)
  caseId!: string;

  @Field(() => ID, { nullable: true })
  sourceCaseId!: string | null;

  @Text(LIMITS.name, { min: 1 })
  @Field(() => String)
  actor!: string;

  @Text(LIMITS.comment, { min: 1, multiline: true })
  @Field(() => String)
  resolution!: string;

  @Field(() => ID, { nullable: true })
  retryDocumentId!: string | null;

  @Field(() => ID, { nullable: true })
  retryDeliveryId!: string | null;

  @Field(() => String, { nullable: true })
  retryStatus!: string | null;
}

@InputType()
export class AssignCaseInput {
  @Field(() => ID)
  caseId!: string;

  @Text(LIMITS.name, { min: 1 })
  @Field(() => String, { description: 'Who works the case now.' })
  assignee!: string;

  @Text(LIMITS.team)
  @Field(() => String, { nullable: true, description: 'Moves the case to another team as well.' })
  team?: string | null;
}

@InputType()
export class AddCaseNoteInput {
  @Field(() => ID)
  caseId!: string;

  @Text(LIMITS.note, { min: 1, multiline: true })
  @Field(() => String, { description: 'An investigation note, kept in the case trail.' })
  note!: string;
}

export enum Milestone {
  CLAIM_INTAKE = 'CLAIM_INTAKE',
  UNDERWRITING_REVIEW = 'UNDERWRITING_REVIEW',
  SERVICE_ESCALATION = 'SERVICE_ESCALATION',
  PAYMENT_CONFIRMATION = 'PAYMENT_CONFIRMATION',
}
registerEnumType(Milestone, {
  name: 'Milestone',
  description: 'Milestones of SERVICE cases; each can trigger a communication.',
});

/** Communications owns Document; workflow only points at one. */
@ObjectType('Document')
@Directive('@key(fields: "id", resolvable: false)')
export class DocumentRef {
  @Field(() => ID)
  id!: string;
}

@ObjectType({ description: 'A milestone a SERVICE case reached, and the communication it sent.' })
export class CaseMilestone {
  @Field(() => Milestone)
  milestone!: Milestone;

  @Field(() => DateTime)
  reachedAt!: Date;

  @Field(() => String)
  reportedBy!: string;

  @Field(() => ID, { nullable: true, description: 'The template the milestone mapping chose, if any.' })
  templateId!: string | null;

  @Field(() => DocumentRef, {
    nullable: true,
    description:
      'The communication sent for it. Null when the mapping names none, and until it is generated: reportMilestone waits for it (up to FOLLOW_UP_WAIT_MS, 5 s by default), so it is filled in when that answers unless generation took longer; then `caseUpdated` announces the case once the document is linked.',
  })
  document!: DocumentRef | null;
}

@InputType()
export class ReportMilestoneInput {
  @Field(() => ID)
  caseId!: string;

  @Field(() => Milestone)
  milestone!: Milestone;

  @JsonLimits(LIMITS.data)
  @Field(() => JSONScalar, {
    nullable: true,
    description: "Data for the milestone's communication, merged over the case data.",
  })
  data?: unknown;
}

export enum DisputeLetter {
  ACKNOWLEDGEMENT = 'ACKNOWLEDGEMENT',
  INTERIM_UPDATE = 'INTERIM_UPDATE',
  FINAL_RESPONSE = 'FINAL_RESPONSE',
}
registerEnumType(DisputeLetter, {
  name: 'DisputeLetter',
  description: 'The letters of a complaint or dispute, in the order they go out.',
});

export enum DeadlineState {
  PENDING = 'PENDING',
  DUE_SOON = 'DUE_SOON',
  BREACHED = 'BREACHED',
  MET = 'MET',
}
registerEnumType(DeadlineState, { name: 'DeadlineState' });

@ObjectType({ description: 'A response deadline of a dispute (acknowledgement, final response).' })
export class CaseDeadline {
  @Field(() => String, { description: 'ACKNOWLEDGEMENT or FINAL_RESPONSE' })
  kind!: string;

  @Field(() => DateTime)
  dueAt!: Date;

  @Field(() => DateTime, {
    nullable: true,
    description:
      'When the letter that meets it was generated: the acknowledgement for ACKNOWLEDGEMENT, the approved final response for FINAL_RESPONSE. sendDisputeLetter(ACKNOWLEDGEMENT) answers once it is set unless the letter took longer than FOLLOW_UP_WAIT_MS; `caseUpdated` announces the case when it is.',
  })
  metAt!: Date | null;

  @Field(() => DeadlineState, {
    description: 'Where the deadline stands now; MET once `metAt` is set in time.',
  })
  state!: DeadlineState;
}

@ObjectType({ description: 'A deadline coming due or missed.' })
export class DeadlineAlert {
  @Field(() => ID, { description: 'Unique and increasing per stream.' })
  eventId!: string;

  @Field(() => DateTime)
  occurredAt!: Date;

  @Field(() => DeadlineState, { description: 'DUE_SOON or BREACHED' })
  level!: DeadlineState;

  @Field(() => CaseDeadline)
  deadline!: CaseDeadline;

  @Field(() => Case)
  case!: Case;
}

@InputType()
export class SendDisputeLetterInput {
  @Field(() => ID)
  caseId!: string;

  @Field(() => DisputeLetter)
  letter!: DisputeLetter;

  @JsonLimits(LIMITS.data)
  @Field(() => JSONScalar, {
    nullable: true,
    description: "The letter's data, merged over the dispute's data.",
  })
  data?: unknown;
}

/** Service-to-service: communications reports a finished notice batch. Not in the client API. */
@InputType()
@Directive('@inaccessible')
export class NoticeOutcomeInput {
  @Field(() => ID)
  caseId!: string;

  @Field(() => ID)
  batchId!: string;

  @Field(() => Int)
  total!: number;

  @Field(() => Int)
  generated!: number;

  @Field(() => Int)
  failed!: number;
}
