import { Directive, Field, ID, InputType, Int, ObjectType } from 'type-graphql';
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

@ObjectType({ description: "One entry of a case's append-only trail: who did what, when." })
export class AuditEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => DateTime)
  at!: Date;

  @Field(() => String)
  actor!: string;

  @Field(() => String)
  action!: string;

  @Field(() => JSONScalar, { nullable: true })
  detail!: unknown;
}

@ObjectType({ description: 'workflow subgraph' })
@Directive('@key(fields: "id")')
export class Case {
  @Field(() => ID)
  id!: string;

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

  @Field(() => String)
  title!: string;

  @Field(() => ID, { nullable: true })
  customerId?: string | null;

  @Field(() => ID, { nullable: true })
  templateId?: string | null;

  @Field(() => Channel, { nullable: true })
  channel?: Channel | null;

  @Field(() => JSONScalar, { nullable: true })
  data?: unknown;
}

@InputType()
export class DecideApprovalInput {
  @Field(() => ID)
  approvalId!: string;

  @Field(() => ApprovalDecision)
  decision!: ApprovalDecision;

  @Field(() => String, { nullable: true })
  comment?: string | null;
}

@InputType()
export class ReissueDocumentInput {
  @Field(() => ID)
  documentId!: string;

  @Field(() => String)
  reason!: string;
}

/** Service-to-service: communications asks for a case for a generation exception. Not in the client API. */
@InputType()
@Directive('@inaccessible')
export class OpenExceptionCaseInput {
  @Field(() => ID)
  exceptionId!: string;

  @Field(() => String)
  kind!: string;

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

  @Field(() => String)
  actor!: string;

  @Field(() => String)
  resolution!: string;

  @Field(() => ID, { nullable: true })
  retryDocumentId!: string | null;

  @Field(() => ID, { nullable: true })
  retryDeliveryId!: string | null;

  @Field(() => String, { nullable: true })
  retryStatus!: string | null;
}
