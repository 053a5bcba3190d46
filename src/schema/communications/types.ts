import { Authorized, Directive, Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { readersOf } from '../../policy/index.js';
import {
  ApprovalDecision,
  ApprovalStage,
  Channel,
  DateTime,
  DeliveryStatus,
  DocumentStatus,
  ExceptionKind,
  ExceptionStatus,
  JSONScalar,
  PageInfo,
  TemplateStatus,
} from '../shared/index.js';
import { Items, JsonLimits, LIMITS, Matches, Text } from '../shared/validation.js';
import { DOCUMENT_TYPE } from '../../validation/index.js';
import { channelContentSummary, SMS_MAX_CHARS } from '../../datasources/communications/engine/channels.js';
import { DEFAULT_LANGUAGE } from '../../datasources/communications/engine/format.js';

/** What template content holds; the keys per channel come from the engine, which enforces them. */
const CONTENT_DESCRIPTION =
  'Per-channel content, every string a Handlebars template, and its language: language is a BCP 47 tag ' +
  `(or a list of them) in which every date and amount is written, ${DEFAULT_LANGUAGE} when absent. ` +
  'Each channel the template lists needs all ' +
  `of its keys: ${channelContentSummary()}. print is { title, blocks }; mjml is MJML source; ` +
  `the rendered sms is at most ${SMS_MAX_CHARS} characters.`;

@ObjectType({ description: 'communications subgraph (Exstream side)' })
@Directive('@key(fields: "id")')
export class Template {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'The eventId of the subscription event that delivered this (null in queries): resume with `after` from it.',
  })
  eventId?: string | null;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'e.g. account_statement, claim_letter' })
  documentType!: string;

  @Field(() => [Channel])
  channels!: Channel[];
}

@ObjectType()
@Directive('@key(fields: "id")')
export class TemplateVersion {
  @Field(() => ID)
  id!: string;

  @Field(() => Int)
  version!: number;

  @Field(() => TemplateStatus)
  status!: TemplateStatus;

  @Field(() => String)
  contentHash!: string;

  @Field(() => [String], {
    description:
      'The languages (BCP 47) its text is written in; every date and amount of a letter is written in its language. ' +
      "Where several are listed the customer's locale chooses among them, otherwise the first. Empty for a version " +
      "written before letters had a language: it formats in the customer's locale, as it always did.",
  })
  languages!: string[];

  @Field(() => JSONScalar, {
    description:
      "JSON Schema (draft 2020-12) of the `data` this version needs beyond the\ncustomer's own profile; generation with data that does not satisfy it fails\nwith MISSING_DATA. Front ends build their request forms from it.",
  })
  dataSchema!: unknown;

  @Field(() => String, { nullable: true })
  approvedBy!: string | null;

  @Field(() => DateTime, { nullable: true })
  approvedAt!: Date | null;

  @Field(() => String, { description: 'Who wrote this content (the last editor of the draft).' })
  createdBy!: string;

  @Field(() => DateTime)
  createdAt!: Date;

  templateId!: string;
}

@ObjectType({ description: 'One stage of a template version review, bound to the content it saw.' })
export class TemplateApproval {
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

  @Field(() => Int, { description: 'Which submission for review this stage belongs to.' })
  round!: number;

  @Field(() => String, { description: 'The content hash this decision was about.' })
  contentHash!: string;
}

@ObjectType()
@Directive('@key(fields: "id")')
export class Delivery {
  @Field(() => ID)
  id!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => DeliveryStatus)
  status!: DeliveryStatus;

  @Field(() => Int)
  attempts!: number;

  @Field(() => String, { nullable: true })
  lastError!: string | null;

  @Field(() => DateTime)
  updatedAt!: Date;
}

@ObjectType()
@Directive('@key(fields: "id")')
export class Document {
  @Field(() => ID)
  id!: string;

  @Field(() => DocumentStatus)
  status!: DocumentStatus;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => ID, {
    description: 'The customer the document is for (resolved as `customer` by the customers subgraph).',
  })
  customerId!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Hash of the rendered output; a reissue of the same document has the same hash.',
  })
  contentHash!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Media type of the rendered output (application/pdf, multipart/alternative, text/html, text/plain).',
  })
  mediaType!: string | null;

  @Authorized(...readersOf('documentContent'))
  @Field(() => String, {
    nullable: true,
    description:
      'Where an authorised client downloads the rendered output (GET, with the same bearer token).',
  })
  contentUrl!: string | null;

  @Field(() => String)
  requestedBy!: string;

  @Field(() => DateTime)
  createdAt!: Date;

  caseId!: string | null;
  templateVersionId!: string;
  reissueOfId!: string | null;
}

@ObjectType()
@Directive('@key(fields: "id")')
export class GenerationException {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'The eventId of the subscription event that delivered this (null in queries): resume with `after` from it.',
  })
  eventId?: string | null;

  @Field(() => ExceptionKind)
  kind!: ExceptionKind;

  @Field(() => ExceptionStatus)
  status!: ExceptionStatus;

  @Field(() => String)
  message!: string;

  @Field(() => String, { nullable: true })
  resolution!: string | null;

  @Field(() => String, { nullable: true })
  resolvedBy!: string | null;

  @Field(() => DateTime, { nullable: true })
  resolvedAt!: Date | null;

  @Field(() => DateTime)
  createdAt!: Date;

  @Field(() => ID, {
    nullable: true,
    description:
      'Connected mode: the Exstream runtime job whose error raised this exception (its `msg` is the message); null otherwise.',
  })
  jobId!: string | null;

  @Field(() => String, { nullable: true, description: "Connected mode: that runtime job's externalId." })
  externalId!: string | null;

  documentId!: string | null;
  deliveryId!: string | null;
  caseId!: string | null;
  retryDocumentId!: string | null;
  retryDeliveryId!: string | null;
}

@ObjectType()
export class DocumentEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Document)
  node!: Document;
}

@ObjectType()
export class DocumentConnection {
  @Field(() => [DocumentEdge])
  edges!: DocumentEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType()
export class DeliveryStatusEvent {
  @Field(() => ID, { description: 'Unique and increasing per stream; a subscriber can resume after it.' })
  eventId!: string;

  @Field(() => DateTime)
  occurredAt!: Date;

  @Field(() => Delivery)
  delivery!: Delivery;

  documentId!: string;
}

/** Workflow owns Case; communications adds its documents and exceptions. */
@ObjectType('Case')
@Directive('@key(fields: "id")')
export class CaseCommunications {
  @Field(() => ID)
  id!: string;
}

/** Customers owns Customer; communications adds the customer's documents. */
@ObjectType('Customer')
@Directive('@key(fields: "id")')
export class CustomerCommunications {
  @Field(() => ID)
  id!: string;
}

@InputType()
export class GenerateDocumentInput {
  @Field(() => ID)
  customerId!: string;

  @Field(() => ID)
  templateId!: string;

  @Field(() => Channel, { nullable: true, description: "Defaults to the customer's preferred channel." })
  channel?: Channel | null;

  @JsonLimits(LIMITS.data)
  @Field(() => JSONScalar, { nullable: true })
  data?: unknown;

  @Field(() => ID, { nullable: true })
  caseId?: string | null;

  @Text(LIMITS.idempotencyKey, { min: 1 })
  @Field(() => String, {
    nullable: true,
    description:
      "The caller's own key (per token subject): the same key with the same request returns the same document instead of generating twice; with a different request it is refused with CONFLICT, reason IDEMPOTENCY_KEY_REUSED.",
  })
  idempotencyKey?: string | null;
}

@InputType()
export class ResolveExceptionInput {
  @Field(() => ID)
  exceptionId!: string;

  @Text(LIMITS.comment, { min: 1, multiline: true })
  @Field(() => String)
  resolution!: string;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Generate (or resend) the document again once the cause is fixed.',
  })
  regenerate?: boolean | null;

  @JsonLimits(LIMITS.data)
  @Field(() => JSONScalar, {
    nullable: true,
    description: 'Corrected data for a MISSING_DATA exception, merged over the original data.',
  })
  data?: unknown;
}

/** Service-to-service: workflow asks for the document of a signed-off case. Not in the client API. */
@InputType()
@Directive('@inaccessible')
export class GenerateForCaseInput {
  @Field(() => ID)
  caseId!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => ID)
  templateVersionId!: string;

  @Field(() => Channel)
  channel!: Channel;

  @JsonLimits(LIMITS.data)
  @Field(() => JSONScalar, { nullable: true })
  data?: unknown;

  @Text(LIMITS.name, { min: 1 })
  @Field(() => String)
  requestedBy!: string;

  @Text(LIMITS.idempotencyKey, { min: 1 })
  @Field(() => String)
  idempotencyKey!: string;
}

/** Service-to-service: workflow asks for the exact prior document of an authorised REISSUE case. Not in the client API. */
@InputType()
@Directive('@inaccessible')
export class ReissueForCaseInput {
  @Field(() => ID)
  caseId!: string;

  @Field(() => ID)
  documentId!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Text(LIMITS.name, { min: 1 })
  @Field(() => String)
  requestedBy!: string;

  @Text(LIMITS.idempotencyKey, { min: 1 })
  @Field(() => String)
  idempotencyKey!: string;
}

@InputType()
export class CreateTemplateInput {
  @Text(LIMITS.title, { min: 1 })
  @Field(() => String)
  name!: string;

  @Matches(
    DOCUMENT_TYPE,
    'snake_case: a lower-case letter, then lower-case letters, digits and _ (e.g. claim_letter)',
  )
  @Field(() => String, {
    description: 'snake_case, e.g. claim_letter; the template id becomes tpl_<documentType>.',
  })
  documentType!: string;

  @Items(1, 4)
  @Field(() => [Channel])
  channels!: Channel[];

  @JsonLimits(LIMITS.templateContent)
  @Field(() => JSONScalar, { description: CONTENT_DESCRIPTION })
  content!: unknown;

  @JsonLimits(LIMITS.dataSchema)
  @Field(() => JSONScalar, { description: 'JSON Schema (draft 2020-12) of the data the content needs.' })
  dataSchema!: unknown;
}

@InputType({
  description: 'Edits the draft; when the newest version is approved or retired, starts a new draft from it.',
})
export class EditTemplateInput {
  @Field(() => ID)
  templateId!: string;

  @JsonLimits(LIMITS.templateContent)
  @Field(() => JSONScalar, { nullable: true, description: `${CONTENT_DESCRIPTION} Absent: unchanged.` })
  content?: unknown;

  @JsonLimits(LIMITS.dataSchema)
  @Field(() => JSONScalar, { nullable: true })
  dataSchema?: unknown;

  @Items(1, 4)
  @Field(() => [Channel], { nullable: true })
  channels?: Channel[] | null;

  @Text(LIMITS.comment, { multiline: true })
  @Field(() => String, { nullable: true })
  comment?: string | null;
}

@InputType()
export class TemplateVersionActionInput {
  @Field(() => ID)
  versionId!: string;

  @Text(LIMITS.comment, { multiline: true })
  @Field(() => String, { nullable: true })
  comment?: string | null;
}

@InputType()
export class DecideTemplateApprovalInput {
  @Field(() => ID)
  approvalId!: string;

  @Field(() => ApprovalDecision)
  decision!: ApprovalDecision;

  @Text(LIMITS.comment, { multiline: true })
  @Field(() => String, { nullable: true })
  comment?: string | null;
}

@ObjectType({ description: 'How many records of a notice batch are at one status, on one channel.' })
export class NoticeCount {
  @Field(() => Channel)
  channel!: Channel;

  @Field(() => DocumentStatus)
  documentStatus!: DocumentStatus;

  @Field(() => DeliveryStatus, {
    nullable: true,
    description: 'The latest delivery attempt; null when nothing was generated to deliver.',
  })
  deliveryStatus!: DeliveryStatus | null;

  @Field(() => Int)
  count!: number;
}

@ObjectType({
  description:
    'The batch generation of a mandatory notice: one record per customer in its segments and channel.',
})
@Directive('@key(fields: "id")')
export class NoticeBatch {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'The eventId of the subscription event that delivered this (null in queries): resume with `after` from it.',
  })
  eventId?: string | null;

  @Field(() => String, {
    description:
      'RUNNING while records are generated and delivered; COMPLETED once every record was generated or failed and every delivery ended (DELIVERED or FAILED).',
  })
  status!: string;

  @Field(() => [String])
  segments!: string[];

  @Field(() => [Channel])
  channels!: Channel[];

  @Field(() => Int, { description: 'Customers in the segments × channels.' })
  total!: number;

  @Field(() => DateTime)
  startedAt!: Date;

  @Field(() => DateTime, { nullable: true })
  finishedAt!: Date | null;

  caseId!: string;
}

/** Service-to-service: workflow starts the batch of a signed-off notice. Not in the client API. */
@InputType()
@Directive('@inaccessible')
export class LaunchNoticeBatchInput {
  @Field(() => ID)
  caseId!: string;

  @Field(() => ID)
  templateVersionId!: string;

  @Text(60, { min: 1 })
  @Items(1, 100)
  @Field(() => [String])
  segments!: string[];

  @Items(1, 4)
  @Field(() => [Channel])
  channels!: Channel[];

  @JsonLimits(LIMITS.data)
  @Field(() => JSONScalar)
  data!: Record<string, unknown>;

  @Text(LIMITS.name, { min: 1 })
  @Field(() => String)
  requestedBy!: string;
}
