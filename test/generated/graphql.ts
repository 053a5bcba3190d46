/* eslint-disable */
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** A date-time string at UTC, such as 2007-12-03T10:15:30Z, compliant with the `date-time` format outlined in section 5.6 of the RFC 3339 profile of the ISO 8601 standard for representation of dates and times using the Gregorian calendar. */
  DateTime: { input: string; output: string; }
  /** The `JSON` scalar type represents JSON values as specified by [ECMA-404](http://www.ecma-international.org/publications/files/ECMA-ST/ECMA-404.pdf). */
  JSON: { input: unknown; output: unknown; }
};

export type AddCaseNoteInput = {
  caseId: Scalars['ID']['input'];
  /** An investigation note, kept in the case trail. */
  note: Scalars['String']['input'];
};

export type Approval = {
  __typename?: 'Approval';
  case: Case;
  comment?: Maybe<Scalars['String']['output']>;
  decidedAt?: Maybe<Scalars['DateTime']['output']>;
  decidedBy?: Maybe<Scalars['String']['output']>;
  decision: ApprovalDecision;
  id: Scalars['ID']['output'];
  stage: ApprovalStage;
  /** The task behind this approval. */
  task?: Maybe<Task>;
};

export type ApprovalDecision =
  | 'APPROVED'
  | 'PENDING'
  | 'REJECTED';

export type ApprovalStage =
  | 'APPROVAL'
  | 'COMPLIANCE'
  | 'REVIEW';

export type AssignCaseInput = {
  /** Who works the case now. */
  assignee: Scalars['String']['input'];
  caseId: Scalars['ID']['input'];
  /** Moves the case to another team as well. */
  team?: InputMaybe<Scalars['String']['input']>;
};

/** One entry of a case's append-only trail: who did what, when. */
export type AuditEvent = {
  __typename?: 'AuditEvent';
  action: Scalars['String']['output'];
  actor: Scalars['String']['output'];
  at: Scalars['DateTime']['output'];
  detail?: Maybe<Scalars['JSON']['output']>;
  id: Scalars['ID']['output'];
};

/** Whether an append-only audit trail is intact: every entry carries the hash of the one before. */
export type AuditTrailCheck = {
  __typename?: 'AuditTrailCheck';
  /** With an anchor: whether the entry at its position still has its hash. Null without one. */
  anchorMatches?: Maybe<Scalars['Boolean']['output']>;
  checkedAt: Scalars['DateTime']['output'];
  entries: Scalars['Int']['output'];
  /** Position (1 = first entry, in chain order) of the first entry that fails; null when intact. */
  firstBrokenAt?: Maybe<Scalars['Int']['output']>;
  /** The id of that entry, as in a history (AuditEvent.id). */
  firstBrokenEntryId?: Maybe<Scalars['ID']['output']>;
  /** Hash of the last entry (hex). Record it with entries outside the database: a later check with it as anchor detects a rewrite of the whole chain. */
  headHash?: Maybe<Scalars['String']['output']>;
  intact: Scalars['Boolean']['output'];
  reason?: Maybe<TrailBreak>;
  /** The trail checked (schema.table). */
  table: Scalars['String']['output'];
};

/** The authorisation check of a reissue, recorded on the case whatever its outcome. */
export type AuthoriseReissueInput = {
  caseId: Scalars['ID']['input'];
  comment?: InputMaybe<Scalars['String']['input']>;
  /** Whether the requester may receive this document. false refuses the reissue. */
  entitled: Scalars['Boolean']['input'];
  identityVerification: IdentityVerification;
  /** Who asked for the document (the customer, an attorney, ...). */
  requestedBy: Scalars['String']['input'];
};

/** workflow subgraph */
export type Case = {
  __typename?: 'Case';
  approvals: Array<Approval>;
  assignedTeam?: Maybe<Scalars['String']['output']>;
  assignee?: Maybe<Scalars['String']['output']>;
  /** The channel a generated document goes out on. */
  channel?: Maybe<Channel>;
  createdAt: Scalars['DateTime']['output'];
  customer?: Maybe<Customer>;
  /** The customer the case is about (resolved as `customer` by the customers subgraph). */
  customerId?: Maybe<Scalars['ID']['output']>;
  /** Response deadlines (DISPUTE cases) and where each stands. */
  deadlines: Array<CaseDeadline>;
  documents: Array<Document>;
  dueAt?: Maybe<Scalars['DateTime']['output']>;
  /** The eventId of the subscription event that delivered this (null in queries): resume with `after` from it. */
  eventId?: Maybe<Scalars['ID']['output']>;
  exceptions: Array<GenerationException>;
  history: Array<AuditEvent>;
  id: Scalars['ID']['output'];
  kind: CaseKind;
  /** Milestones reached (SERVICE cases), in order, with the communication each sent. */
  milestones: Array<CaseMilestone>;
  /** The batch of a MANDATORY_NOTICE case, once signed off. */
  noticeBatch?: Maybe<NoticeBatch>;
  resolution?: Maybe<Scalars['String']['output']>;
  startedBy: Scalars['String']['output'];
  status: CaseStatus;
  /** Approval and investigation tasks, with team/role, assignee and due date. */
  tasks: Array<Task>;
  /** The template version the case was approved with. */
  templateVersionId?: Maybe<Scalars['ID']['output']>;
  title: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

export type CaseConnection = {
  __typename?: 'CaseConnection';
  edges: Array<CaseEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

/** A response deadline of a dispute (acknowledgement, final response). */
export type CaseDeadline = {
  __typename?: 'CaseDeadline';
  dueAt: Scalars['DateTime']['output'];
  /** ACKNOWLEDGEMENT or FINAL_RESPONSE */
  kind: Scalars['String']['output'];
  /** When the letter that meets it was generated: the acknowledgement for ACKNOWLEDGEMENT, the approved final response for FINAL_RESPONSE. sendDisputeLetter(ACKNOWLEDGEMENT) answers once it is set unless the letter took longer than FOLLOW_UP_WAIT_MS; `caseUpdated` announces the case when it is. */
  metAt?: Maybe<Scalars['DateTime']['output']>;
  /** Where the deadline stands now; MET once `metAt` is set in time. */
  state: DeadlineState;
};

export type CaseEdge = {
  __typename?: 'CaseEdge';
  cursor: Scalars['String']['output'];
  node: Case;
};

export type CaseKind =
  /** Ad hoc claim letters, account confirmations, regulatory notices requested by service teams. */
  | 'CORRESPONDENCE'
  /** Complaints and billing disputes with response deadlines and staged letters. */
  | 'DISPUTE'
  /** Opened automatically when generation or delivery fails; worked by operations. */
  | 'GENERATION_EXCEPTION'
  /** Rate changes, policy updates, privacy disclosures to customer segments. */
  | 'MANDATORY_NOTICE'
  /** Policy packs, statements, billing notices: review, approval and compliance before generation. */
  | 'REGULATED_DOCUMENT'
  /** Duplicate statements, policy copies, prior correspondence. */
  | 'REISSUE'
  /** Claims, underwriting, escalations, payments: milestones trigger communications. */
  | 'SERVICE';

/** A milestone a SERVICE case reached, and the communication it sent. */
export type CaseMilestone = {
  __typename?: 'CaseMilestone';
  /** The communication sent for it. Null when the mapping names none, and until it is generated: reportMilestone waits for it (up to FOLLOW_UP_WAIT_MS, 5 s by default), so it is filled in when that answers unless generation took longer; then `caseUpdated` announces the case once the document is linked. */
  document?: Maybe<Document>;
  milestone: Milestone;
  reachedAt: Scalars['DateTime']['output'];
  reportedBy: Scalars['String']['output'];
  /** The template the milestone mapping chose, if any. */
  templateId?: Maybe<Scalars['ID']['output']>;
};

export type CaseStatus =
  | 'APPROVED'
  | 'AWAITING_APPROVAL'
  | 'CLOSED'
  | 'IN_PROGRESS'
  | 'OPEN'
  | 'REJECTED'
  | 'RESOLVED';

/** Output channels of a communication (seed: print, email, web, mobile). */
export type Channel =
  | 'EMAIL'
  | 'MOBILE'
  | 'PRINT'
  | 'WEB';

export type CreateTemplateInput = {
  channels: Array<Channel>;
  /** Per-channel content, every string a Handlebars template, and its language: language is a BCP 47 tag (or a list of them) in which every date and amount is written, en-GB when absent. Each channel the template lists needs all of its keys: PRINT: print; EMAIL: subject, mjml, text; WEB: html; MOBILE: sms. print is { title, blocks }; mjml is MJML source; the rendered sms is at most 160 characters. */
  content: Scalars['JSON']['input'];
  /** JSON Schema (draft 2020-12) of the data the content needs. */
  dataSchema: Scalars['JSON']['input'];
  /** snake_case, e.g. claim_letter; the template id becomes tpl_<documentType>. */
  documentType: Scalars['String']['input'];
  name: Scalars['String']['input'];
};

/** customers subgraph */
export type Customer = {
  __typename?: 'Customer';
  /** The brand the customer is served under. */
  brand: Scalars['String']['output'];
  cases: CaseConnection;
  documents: DocumentConnection;
  email?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  /** BCP 47, e.g. pl-PL */
  locale: Scalars['String']['output'];
  name: Scalars['String']['output'];
  phone?: Maybe<Scalars['String']['output']>;
  postalAddress?: Maybe<PostalAddress>;
  preferredChannel: Channel;
  segments: Array<Scalars['String']['output']>;
};


/** customers subgraph */
export type CustomerCasesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** customers subgraph */
export type CustomerDocumentsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type CustomerConnection = {
  __typename?: 'CustomerConnection';
  edges: Array<CustomerEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type CustomerEdge = {
  __typename?: 'CustomerEdge';
  cursor: Scalars['String']['output'];
  node: Customer;
};

/** A deadline coming due or missed. */
export type DeadlineAlert = {
  __typename?: 'DeadlineAlert';
  case: Case;
  deadline: CaseDeadline;
  /** Unique and increasing per stream. */
  eventId: Scalars['ID']['output'];
  /** DUE_SOON or BREACHED */
  level: DeadlineState;
  occurredAt: Scalars['DateTime']['output'];
};

export type DeadlineState =
  | 'BREACHED'
  | 'DUE_SOON'
  | 'MET'
  | 'PENDING';

export type DecideApprovalInput = {
  approvalId: Scalars['ID']['input'];
  comment?: InputMaybe<Scalars['String']['input']>;
  decision: ApprovalDecision;
};

export type DecideTemplateApprovalInput = {
  approvalId: Scalars['ID']['input'];
  comment?: InputMaybe<Scalars['String']['input']>;
  decision: ApprovalDecision;
};

export type Delivery = {
  __typename?: 'Delivery';
  attempts: Scalars['Int']['output'];
  channel: Channel;
  id: Scalars['ID']['output'];
  lastError?: Maybe<Scalars['String']['output']>;
  status: DeliveryStatus;
  updatedAt: Scalars['DateTime']['output'];
};

export type DeliveryStatus =
  | 'DELIVERED'
  | 'FAILED'
  | 'PENDING'
  | 'SENT';

export type DeliveryStatusEvent = {
  __typename?: 'DeliveryStatusEvent';
  delivery: Delivery;
  document: Document;
  /** Unique and increasing per stream; a subscriber can resume after it. */
  eventId: Scalars['ID']['output'];
  occurredAt: Scalars['DateTime']['output'];
};

/** The letters of a complaint or dispute, in the order they go out. */
export type DisputeLetter =
  | 'ACKNOWLEDGEMENT'
  | 'FINAL_RESPONSE'
  | 'INTERIM_UPDATE';

export type Document = {
  __typename?: 'Document';
  case?: Maybe<Case>;
  channel: Channel;
  /** Hash of the rendered output; a reissue of the same document has the same hash. */
  contentHash?: Maybe<Scalars['String']['output']>;
  /** Where an authorised client downloads the rendered output (GET, with the same bearer token). */
  contentUrl?: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  customer?: Maybe<Customer>;
  /** The customer the document is for (resolved as `customer` by the customers subgraph). */
  customerId: Scalars['ID']['output'];
  deliveries: Array<Delivery>;
  exceptions: Array<GenerationException>;
  id: Scalars['ID']['output'];
  /** Media type of the rendered output (application/pdf, multipart/alternative, text/html, text/plain). */
  mediaType?: Maybe<Scalars['String']['output']>;
  reissueOf?: Maybe<Document>;
  requestedBy: Scalars['String']['output'];
  status: DocumentStatus;
  templateVersion: TemplateVersion;
};

export type DocumentConnection = {
  __typename?: 'DocumentConnection';
  edges: Array<DocumentEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type DocumentEdge = {
  __typename?: 'DocumentEdge';
  cursor: Scalars['String']['output'];
  node: Document;
};

export type DocumentStatus =
  | 'FAILED'
  | 'GENERATED'
  | 'REQUESTED';

/** Edits the draft; when the newest version is approved or retired, starts a new draft from it. */
export type EditTemplateInput = {
  channels?: InputMaybe<Array<Channel>>;
  comment?: InputMaybe<Scalars['String']['input']>;
  /** Per-channel content, every string a Handlebars template, and its language: language is a BCP 47 tag (or a list of them) in which every date and amount is written, en-GB when absent. Each channel the template lists needs all of its keys: PRINT: print; EMAIL: subject, mjml, text; WEB: html; MOBILE: sms. print is { title, blocks }; mjml is MJML source; the rendered sms is at most 160 characters. Absent: unchanged. */
  content?: InputMaybe<Scalars['JSON']['input']>;
  dataSchema?: InputMaybe<Scalars['JSON']['input']>;
  templateId: Scalars['ID']['input'];
};

export type ExceptionKind =
  | 'DELIVERY_FAILURE'
  | 'MISSING_DATA'
  | 'TEMPLATE_ERROR'
  | 'UPSTREAM_UNAVAILABLE';

export type ExceptionStatus =
  | 'OPEN'
  | 'RESOLVED';

export type GenerateDocumentInput = {
  caseId?: InputMaybe<Scalars['ID']['input']>;
  /** Defaults to the customer's preferred channel. */
  channel?: InputMaybe<Channel>;
  customerId: Scalars['ID']['input'];
  data?: InputMaybe<Scalars['JSON']['input']>;
  /** The caller's own key (per token subject): the same key with the same request returns the same document instead of generating twice; with a different request it is refused with CONFLICT, reason IDEMPOTENCY_KEY_REUSED. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  templateId: Scalars['ID']['input'];
};

export type GenerationException = {
  __typename?: 'GenerationException';
  /** The workflow case opened for operations to work this exception. It is opened a moment after the failure and is null until then; generateDocument waits for it (see there), and `generationExceptionRaised` announces the exception once it is open. */
  case?: Maybe<Case>;
  createdAt: Scalars['DateTime']['output'];
  /** The failed delivery, for a DELIVERY_FAILURE. */
  delivery?: Maybe<Delivery>;
  document?: Maybe<Document>;
  /** The eventId of the subscription event that delivered this (null in queries): resume with `after` from it. */
  eventId?: Maybe<Scalars['ID']['output']>;
  /** Connected mode: that runtime job's externalId. */
  externalId?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  /** Connected mode: the Exstream runtime job whose error raised this exception (its `msg` is the message); null otherwise. */
  jobId?: Maybe<Scalars['ID']['output']>;
  kind: ExceptionKind;
  message: Scalars['String']['output'];
  resolution?: Maybe<Scalars['String']['output']>;
  resolvedAt?: Maybe<Scalars['DateTime']['output']>;
  resolvedBy?: Maybe<Scalars['String']['output']>;
  /** The new delivery attempt of the same document, for a resend. */
  retryDelivery?: Maybe<Delivery>;
  /** The document generated again when the exception was resolved. */
  retryDocument?: Maybe<Document>;
  status: ExceptionStatus;
};

/** An Exstream runtime job that was seen holding at a hold step (connected mode; the runtime monitor mirrors them, so this reads while Exstream is down). */
export type HeldJob = {
  __typename?: 'HeldJob';
  /** The eventId of the subscription event that delivered this (null in queries): resume with `after` from it. */
  eventId?: Maybe<Scalars['ID']['output']>;
  /** The job's externalId in Exstream. */
  externalId?: Maybe<Scalars['String']['output']>;
  /** The job's trail, oldest first: held (by exstream), released (by whom, with the comment), left hold. */
  history: Array<AuditEvent>;
  /** The Exstream job id. */
  id: Scalars['ID']['output'];
  /** Why, as the releaser wrote it. */
  releaseComment?: Maybe<Scalars['String']['output']>;
  releasedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Who released it through the graph. */
  releasedBy?: Maybe<Scalars['String']['output']>;
  /** Since when the job holds (its earliest held step). */
  since: Scalars['DateTime']['output'];
  status: HeldJobStatus;
  /** The held flow steps (for a released job: the steps released). */
  steps: Array<HeldJobStep>;
};

/** HOLDING: Exstream holds it; RELEASED: released through the graph (releaseHeldJob); LEFT_HOLD: released or stopped in Exstream, outside the graph. */
export type HeldJobStatus =
  | 'HOLDING'
  | 'LEFT_HOLD'
  | 'RELEASED';

/** A flow step of an Exstream runtime job, as the runtime monitor last read it. */
export type HeldJobStep = {
  __typename?: 'HeldJobStep';
  displayName?: Maybe<Scalars['String']['output']>;
  /** The flow instance the step belongs to. */
  flowInstanceId: Scalars['ID']['output'];
  /** The Exstream flow step id. */
  id: Scalars['ID']['output'];
  /** Exstream's stepName. */
  name?: Maybe<Scalars['String']['output']>;
  /** When the step started (or was queued). */
  since?: Maybe<Scalars['DateTime']['output']>;
  /** Exstream's step status when last read, e.g. holding. */
  status: Scalars['String']['output'];
  /** Exstream's stepType, e.g. hold. */
  type?: Maybe<Scalars['String']['output']>;
};

/** How the identity of whoever asked for a reissue was verified. */
export type IdentityVerification =
  | 'DOCUMENT_CHECK'
  | 'IN_PERSON'
  | 'KNOWLEDGE_BASED'
  | 'NOT_VERIFIED'
  | 'ONE_TIME_PASSCODE';

/** Milestones of SERVICE cases; each can trigger a communication. */
export type Milestone =
  | 'CLAIM_INTAKE'
  | 'PAYMENT_CONFIRMATION'
  | 'SERVICE_ESCALATION'
  | 'UNDERWRITING_REVIEW';

export type Mutation = {
  __typename?: 'Mutation';
  /** Adds an investigation note to the case's trail. */
  addCaseNote: Case;
  /** Assigns a case (and optionally moves it to another team); an open exception case goes IN_PROGRESS. */
  assignCase: Case;
  /** Records the authorisation check of a REISSUE case; refused, the case ends REJECTED. Authorised, the exact prior document is regenerated and delivered: the mutation waits for the reissue (up to FOLLOW_UP_WAIT_MS, 5 s by default) and answers with the case RESOLVED and the reissued document in `documents` (IN_PROGRESS, handed to operations, if it failed to generate). When the reissue takes longer (a remote Exstream), the answer is the case APPROVED with `documents` still empty, and `caseUpdated` announces the case once the reissue is recorded; `deliveryStatusChanged` follows its delivery. */
  authoriseReissue: Case;
  /** A new template with its first version as a DRAFT. */
  createTemplate: Template;
  /** Decides one approval stage. The last approval starts the case's work without waiting for it: a REGULATED_DOCUMENT or CORRESPONDENCE case generates its document, a MANDATORY_NOTICE launches its batch, a DISPUTE sends its final response. The answer's `case` is APPROVED; `caseUpdated` announces it again when that work is recorded (RESOLVED with its `documents`, or IN_PROGRESS for a running notice batch). */
  decideApproval: Approval;
  /** Decides a review stage (approver, then compliance; not the author; one stage per person). A rejection sends the version back to DRAFT. */
  decideTemplateApproval: TemplateApproval;
  /** Edits the DRAFT version; editing an APPROVED (or RETIRED) template creates a new DRAFT version. A version in review cannot be edited. */
  editTemplate: TemplateVersion;
  /** Generates from the template's approved version. A generation failure is not an error: the document comes back FAILED with its exception, and the mutation waits for the exception's case to open (up to FOLLOW_UP_WAIT_MS, 5 s by default) so `exceptions { case }` is filled in; if that takes longer, `case` is null in the answer and `generationExceptionRaised` announces the exception once its case is open. Delivery happens after the answer: `deliveryStatusChanged` follows each step. `idempotencyKey` is the caller's own: the same key with the same request returns the same document; with another request it is CONFLICT (reason IDEMPOTENCY_KEY_REUSED). */
  generateDocument: Document;
  /** Opens a REISSUE case; once authorised, the exact prior version is regenerated. */
  reissueDocument: Case;
  /** Releases the held steps of a held Exstream job, so its flow continues, and records who released it and why on its trail. One release wins: a concurrent one gets CONFLICT. A job no longer holding is CONFLICT; with Exstream down, UPSTREAM_UNAVAILABLE and the job stays HOLDING. */
  releaseHeldJob: HeldJob;
  /** Records a milestone of a SERVICE case and sends the communication mapped to it; reporting it again sends nothing. The first report waits for the communication's document (up to FOLLOW_UP_WAIT_MS, 5 s by default), so the answer's `milestones { document }` is filled in; when generation takes longer it is null in the answer, and `caseUpdated` announces the case once the document is linked. */
  reportMilestone: Case;
  /** Records the resolution on the exception and its case; with regenerate, generates again (or resends the same bytes for a delivery failure). The retry is made before the answer (`retryDocument`, `retryDelivery`). One resolution wins: a concurrent one gets CONFLICT and nothing is generated for it. The exception's case records the resolution a moment after the answer; `caseUpdated` announces it RESOLVED. */
  resolveException: GenerationException;
  /** Retires a version: nothing is generated from it any more. */
  retireTemplateVersion: TemplateVersion;
  /** Sends a dispute letter. The acknowledgement and interim updates go out at once: the mutation waits for the letter (up to FOLLOW_UP_WAIT_MS, 5 s by default), so the answer lists it in `documents` and shows the ACKNOWLEDGEMENT deadline MET; when generation takes longer the answer shows the state before it, and `caseUpdated` announces the case once the letter is recorded. The final response goes out after an approver signs it off: the answer is the case AWAITING_APPROVAL. */
  sendDisputeLetter: Case;
  startCase: Case;
  /** DRAFT → IN_REVIEW, opening the APPROVAL and COMPLIANCE stages bound to the current content hash. */
  submitTemplateVersion: TemplateVersion;
  /** Corrects a customer's email or phone (for instance before resending a failed delivery). */
  updateCustomerContact: Customer;
};


export type MutationAddCaseNoteArgs = {
  input: AddCaseNoteInput;
};


export type MutationAssignCaseArgs = {
  input: AssignCaseInput;
};


export type MutationAuthoriseReissueArgs = {
  input: AuthoriseReissueInput;
};


export type MutationCreateTemplateArgs = {
  input: CreateTemplateInput;
};


export type MutationDecideApprovalArgs = {
  input: DecideApprovalInput;
};


export type MutationDecideTemplateApprovalArgs = {
  input: DecideTemplateApprovalInput;
};


export type MutationEditTemplateArgs = {
  input: EditTemplateInput;
};


export type MutationGenerateDocumentArgs = {
  input: GenerateDocumentInput;
};


export type MutationReissueDocumentArgs = {
  input: ReissueDocumentInput;
};


export type MutationReleaseHeldJobArgs = {
  input: ReleaseHeldJobInput;
};


export type MutationReportMilestoneArgs = {
  input: ReportMilestoneInput;
};


export type MutationResolveExceptionArgs = {
  input: ResolveExceptionInput;
};


export type MutationRetireTemplateVersionArgs = {
  input: TemplateVersionActionInput;
};


export type MutationSendDisputeLetterArgs = {
  input: SendDisputeLetterInput;
};


export type MutationStartCaseArgs = {
  input: StartCaseInput;
};


export type MutationSubmitTemplateVersionArgs = {
  input: TemplateVersionActionInput;
};


export type MutationUpdateCustomerContactArgs = {
  input: UpdateCustomerContactInput;
};

/** The batch generation of a mandatory notice: one record per customer in its segments and channel. */
export type NoticeBatch = {
  __typename?: 'NoticeBatch';
  /** The MANDATORY_NOTICE case it was approved in. */
  case: Case;
  channels: Array<Channel>;
  /** Counts by channel, document status and delivery status. */
  counts: Array<NoticeCount>;
  /** How many customers the segments held when the batch started. */
  customers: Scalars['Int']['output'];
  delivered: Scalars['Int']['output'];
  deliveryFailed: Scalars['Int']['output'];
  /** The eventId of the subscription event that delivered this (null in queries): resume with `after` from it. */
  eventId?: Maybe<Scalars['ID']['output']>;
  /** Records whose generation failed (each with its exception). */
  failed: Scalars['Int']['output'];
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  generated: Scalars['Int']['output'];
  id: Scalars['ID']['output'];
  /** Exceptions of this batch not yet resolved. */
  openExceptions: Array<GenerationException>;
  segments: Array<Scalars['String']['output']>;
  startedAt: Scalars['DateTime']['output'];
  /** RUNNING while records are generated and delivered; COMPLETED once every record was generated or failed and every delivery ended (DELIVERED or FAILED). */
  status: Scalars['String']['output'];
  /** Customers in the segments × channels. */
  total: Scalars['Int']['output'];
};

/** How many records of a notice batch are at one status, on one channel. */
export type NoticeCount = {
  __typename?: 'NoticeCount';
  channel: Channel;
  count: Scalars['Int']['output'];
  /** The latest delivery attempt; null when nothing was generated to deliver. */
  deliveryStatus?: Maybe<DeliveryStatus>;
  documentStatus: DocumentStatus;
};

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
};

export type PostalAddress = {
  __typename?: 'PostalAddress';
  city: Scalars['String']['output'];
  /** ISO 3166-1 alpha-2 */
  country: Scalars['String']['output'];
  line1: Scalars['String']['output'];
  line2?: Maybe<Scalars['String']['output']>;
  postcode: Scalars['String']['output'];
};

export type Query = {
  __typename?: 'Query';
  case?: Maybe<Case>;
  /** Recomputes the hash chain of the case trails (every Case.history entry) and says whether it is intact. */
  caseTrailIntegrity: AuditTrailCheck;
  cases: CaseConnection;
  customer?: Maybe<Customer>;
  customers: CustomerConnection;
  document?: Maybe<Document>;
  /** A job the runtime monitor saw holding, whatever became of it since, with its trail. */
  heldJob?: Maybe<HeldJob>;
  /** Exstream runtime jobs holding at a hold step now, longest held first (connected mode; empty in the embedded mode). Refreshed every EXSTREAM_POLL_MS by the runtime monitor. */
  heldJobs: Array<HeldJob>;
  noticeBatch?: Maybe<NoticeBatch>;
  template?: Maybe<Template>;
  /** Recomputes the hash chain of the template trails (every Template.history entry) and says whether it is intact. */
  templateTrailIntegrity: AuditTrailCheck;
  templates: Array<Template>;
};


export type QueryCaseArgs = {
  id: Scalars['ID']['input'];
};


export type QueryCaseTrailIntegrityArgs = {
  anchor?: InputMaybe<TrailAnchorInput>;
};


export type QueryCasesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  customerId?: InputMaybe<Scalars['ID']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  kind?: InputMaybe<CaseKind>;
  status?: InputMaybe<CaseStatus>;
};


export type QueryCustomerArgs = {
  id: Scalars['ID']['input'];
};


export type QueryCustomersArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  segment?: InputMaybe<Scalars['String']['input']>;
};


export type QueryDocumentArgs = {
  id: Scalars['ID']['input'];
};


export type QueryHeldJobArgs = {
  id: Scalars['ID']['input'];
};


export type QueryNoticeBatchArgs = {
  id: Scalars['ID']['input'];
};


export type QueryTemplateArgs = {
  id: Scalars['ID']['input'];
};


export type QueryTemplateTrailIntegrityArgs = {
  anchor?: InputMaybe<TrailAnchorInput>;
};

export type ReissueDocumentInput = {
  /** Where to deliver the reissue; defaults to the channel of the original. */
  channel?: InputMaybe<Channel>;
  documentId: Scalars['ID']['input'];
  reason: Scalars['String']['input'];
};

export type ReleaseHeldJobInput = {
  /** Why it is released; recorded on the job trail. */
  comment: Scalars['String']['input'];
  /** The Exstream job id (HeldJob.id). */
  jobId: Scalars['ID']['input'];
};

export type ReportMilestoneInput = {
  caseId: Scalars['ID']['input'];
  /** Data for the milestone's communication, merged over the case data. */
  data?: InputMaybe<Scalars['JSON']['input']>;
  milestone: Milestone;
};

export type ResolveExceptionInput = {
  /** Corrected data for a MISSING_DATA exception, merged over the original data. */
  data?: InputMaybe<Scalars['JSON']['input']>;
  exceptionId: Scalars['ID']['input'];
  /** Generate (or resend) the document again once the cause is fixed. */
  regenerate?: InputMaybe<Scalars['Boolean']['input']>;
  resolution: Scalars['String']['input'];
};

export type SendDisputeLetterInput = {
  caseId: Scalars['ID']['input'];
  /** The letter's data, merged over the dispute's data. */
  data?: InputMaybe<Scalars['JSON']['input']>;
  letter: DisputeLetter;
};

export type StartCaseInput = {
  channel?: InputMaybe<Channel>;
  /** Why the document goes out on another channel than the customer's preferred one (required then for CORRESPONDENCE); recorded in the trail. */
  channelOverrideReason?: InputMaybe<Scalars['String']['input']>;
  customerId?: InputMaybe<Scalars['ID']['input']>;
  data?: InputMaybe<Scalars['JSON']['input']>;
  kind: CaseKind;
  templateId?: InputMaybe<Scalars['ID']['input']>;
  title: Scalars['String']['input'];
};

export type Subscription = {
  __typename?: 'Subscription';
  /** Every change of a case (status, approvals, assignment, trail), or of one case. */
  caseUpdated: Case;
  /** A dispute deadline coming due (DUE_SOON) or missed (BREACHED), once per deadline and level. */
  deadlineAlerted: DeadlineAlert;
  /** Every step of every delivery (PENDING, SENT, DELIVERED, FAILED), optionally for one customer, case or document. */
  deliveryStatusChanged: DeliveryStatusEvent;
  /** Each generation or delivery failure, once its exception case is open. */
  generationExceptionRaised: GenerationException;
  /** Connected mode: each change of a held Exstream job (it began holding, was released through the graph, or left its hold in Exstream), or of one job; each event shows the job as it was then (its history as it is now). */
  heldJobUpdated: HeldJob;
  /** Progress of notice batches, or of one batch or case: at most every half second while records are generated and delivered, and once when every delivery ended (COMPLETED, with the counts the report shows); after that, whenever a resend moves one of its deliveries. */
  noticeBatchProgress: NoticeBatch;
  /** Every move of a template through its lifecycle (edit, submission, decision, retirement), or of one template. */
  templateUpdated: Template;
};


export type SubscriptionCaseUpdatedArgs = {
  after?: InputMaybe<Scalars['ID']['input']>;
  caseId?: InputMaybe<Scalars['ID']['input']>;
};


export type SubscriptionDeadlineAlertedArgs = {
  after?: InputMaybe<Scalars['ID']['input']>;
  caseId?: InputMaybe<Scalars['ID']['input']>;
};


export type SubscriptionDeliveryStatusChangedArgs = {
  after?: InputMaybe<Scalars['ID']['input']>;
  caseId?: InputMaybe<Scalars['ID']['input']>;
  customerId?: InputMaybe<Scalars['ID']['input']>;
  documentId?: InputMaybe<Scalars['ID']['input']>;
};


export type SubscriptionGenerationExceptionRaisedArgs = {
  after?: InputMaybe<Scalars['ID']['input']>;
  kind?: InputMaybe<ExceptionKind>;
};


export type SubscriptionHeldJobUpdatedArgs = {
  after?: InputMaybe<Scalars['ID']['input']>;
  jobId?: InputMaybe<Scalars['ID']['input']>;
};


export type SubscriptionNoticeBatchProgressArgs = {
  after?: InputMaybe<Scalars['ID']['input']>;
  batchId?: InputMaybe<Scalars['ID']['input']>;
  caseId?: InputMaybe<Scalars['ID']['input']>;
};


export type SubscriptionTemplateUpdatedArgs = {
  after?: InputMaybe<Scalars['ID']['input']>;
  templateId?: InputMaybe<Scalars['ID']['input']>;
};

/** The work behind an approval or an investigation: who should do it, by when. */
export type Task = {
  __typename?: 'Task';
  assignee?: Maybe<Scalars['String']['output']>;
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  dueAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  /** APPROVAL, INVESTIGATE, AUTHORISE_REISSUE */
  kind: Scalars['String']['output'];
  /** The role that may complete the task. */
  role: Scalars['String']['output'];
  /** OPEN, DONE or CANCELLED */
  status: Scalars['String']['output'];
  team?: Maybe<Scalars['String']['output']>;
};

/** communications subgraph (Exstream side) */
export type Template = {
  __typename?: 'Template';
  /** The newest APPROVED version: the one generation uses. */
  approvedVersion?: Maybe<TemplateVersion>;
  channels: Array<Channel>;
  /** e.g. account_statement, claim_letter */
  documentType: Scalars['String']['output'];
  /** The eventId of the subscription event that delivered this (null in queries): resume with `after` from it. */
  eventId?: Maybe<Scalars['ID']['output']>;
  /** The template's trail: every edit, submission, decision and retirement, with actor, time and comment. */
  history: Array<AuditEvent>;
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  versions: Array<TemplateVersion>;
};

/** One stage of a template version review, bound to the content it saw. */
export type TemplateApproval = {
  __typename?: 'TemplateApproval';
  comment?: Maybe<Scalars['String']['output']>;
  /** The content hash this decision was about. */
  contentHash: Scalars['String']['output'];
  decidedAt?: Maybe<Scalars['DateTime']['output']>;
  decidedBy?: Maybe<Scalars['String']['output']>;
  decision: ApprovalDecision;
  id: Scalars['ID']['output'];
  /** Which submission for review this stage belongs to. */
  round: Scalars['Int']['output'];
  stage: ApprovalStage;
};

export type TemplateStatus =
  | 'APPROVED'
  | 'DRAFT'
  | 'IN_REVIEW'
  | 'RETIRED';

export type TemplateVersion = {
  __typename?: 'TemplateVersion';
  /** The stages of the current (or last) review. */
  approvals: Array<TemplateApproval>;
  approvedAt?: Maybe<Scalars['DateTime']['output']>;
  approvedBy?: Maybe<Scalars['String']['output']>;
  /** The per-channel content (Handlebars, MJML, print layout). */
  content: Scalars['JSON']['output'];
  contentHash: Scalars['String']['output'];
  createdAt: Scalars['DateTime']['output'];
  /** Who wrote this content (the last editor of the draft). */
  createdBy: Scalars['String']['output'];
  /**
   * JSON Schema (draft 2020-12) of the `data` this version needs beyond the
   * customer's own profile; generation with data that does not satisfy it fails
   * with MISSING_DATA. Front ends build their request forms from it.
   */
  dataSchema: Scalars['JSON']['output'];
  id: Scalars['ID']['output'];
  /** The languages (BCP 47) its text is written in; every date and amount of a letter is written in its language. Where several are listed the customer's locale chooses among them, otherwise the first. Empty for a version written before letters had a language: it formats in the customer's locale, as it always did. */
  languages: Array<Scalars['String']['output']>;
  status: TemplateStatus;
  template: Template;
  version: Scalars['Int']['output'];
};

export type TemplateVersionActionInput = {
  comment?: InputMaybe<Scalars['String']['input']>;
  versionId: Scalars['ID']['input'];
};

/** A trail head recorded earlier, outside the database (entries and headHash of a past check). */
export type TrailAnchorInput = {
  entries: Scalars['Int']['input'];
  /** headHash as it was then (hex). */
  hash: Scalars['String']['input'];
};

/** Why an audit trail entry fails verification. */
export type TrailBreak =
  /** The entry no longer matches its hash: its content was changed. */
  | 'ALTERED'
  /** The entry does not link to the one before it: an entry before it was removed, replaced or inserted. */
  | 'LINK_BROKEN'
  /** The entry is not at the position it was given: entries were removed or renumbered. */
  | 'OUT_OF_SEQUENCE'
  /** The entry has no chain values: it was added with the chain trigger disabled. */
  | 'UNCHAINED';

/** Corrects contact details: a value sets it, null clears it, leaving it out keeps it. */
export type UpdateCustomerContactInput = {
  customerId: Scalars['ID']['input'];
  email?: InputMaybe<Scalars['String']['input']>;
  /** International format, e.g. +44 7700 900123. */
  phone?: InputMaybe<Scalars['String']['input']>;
};

export type StartCaseMutationVariables = Exact<{
  input: StartCaseInput;
}>;


export type StartCaseMutation = { __typename?: 'Mutation', startCase: { __typename?: 'Case', id: string, kind: CaseKind, status: CaseStatus, templateVersionId?: string | null, approvals: Array<{ __typename?: 'Approval', id: string, stage: ApprovalStage, decision: ApprovalDecision, task?: { __typename?: 'Task', role: string, dueAt?: string | null } | null }> } };

export type DecideApprovalMutationVariables = Exact<{
  input: DecideApprovalInput;
}>;


export type DecideApprovalMutation = { __typename?: 'Mutation', decideApproval: { __typename?: 'Approval', id: string, stage: ApprovalStage, decision: ApprovalDecision, decidedBy?: string | null, decidedAt?: string | null } };

export type CaseDetailQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type CaseDetailQuery = { __typename?: 'Query', case?: { __typename?: 'Case', id: string, kind: CaseKind, status: CaseStatus, title: string, assignedTeam?: string | null, customer?: { __typename?: 'Customer', id: string, name: string } | null, approvals: Array<{ __typename?: 'Approval', stage: ApprovalStage, decision: ApprovalDecision, decidedBy?: string | null }>, documents: Array<{ __typename?: 'Document', id: string, status: DocumentStatus, channel: Channel, contentHash?: string | null, contentUrl?: string | null, deliveries: Array<{ __typename?: 'Delivery', channel: Channel, status: DeliveryStatus, attempts: number, lastError?: string | null }> }>, exceptions: Array<{ __typename?: 'GenerationException', id: string, kind: ExceptionKind, status: ExceptionStatus }>, history: Array<{ __typename?: 'AuditEvent', actor: string, action: string, at: string }> } | null };

export type CasesPageQueryVariables = Exact<{
  kind?: InputMaybe<CaseKind>;
  status?: InputMaybe<CaseStatus>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type CasesPageQuery = { __typename?: 'Query', cases: { __typename?: 'CaseConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null }, edges: Array<{ __typename?: 'CaseEdge', node: { __typename?: 'Case', id: string, kind: CaseKind, status: CaseStatus, title: string } }> } };

export type GenerateDocumentMutationVariables = Exact<{
  input: GenerateDocumentInput;
}>;


export type GenerateDocumentMutation = { __typename?: 'Mutation', generateDocument: { __typename?: 'Document', id: string, status: DocumentStatus, channel: Channel, contentHash?: string | null, exceptions: Array<{ __typename?: 'GenerationException', id: string, kind: ExceptionKind, status: ExceptionStatus, message: string }> } };

export type ResolveExceptionMutationVariables = Exact<{
  input: ResolveExceptionInput;
}>;


export type ResolveExceptionMutation = { __typename?: 'Mutation', resolveException: { __typename?: 'GenerationException', id: string, status: ExceptionStatus, resolution?: string | null, retryDocument?: { __typename?: 'Document', id: string, status: DocumentStatus, contentHash?: string | null } | null } };

export type TemplatesQueryVariables = Exact<{ [key: string]: never; }>;


export type TemplatesQuery = { __typename?: 'Query', templates: Array<{ __typename?: 'Template', id: string, name: string, channels: Array<Channel>, approvedVersion?: { __typename?: 'TemplateVersion', id: string, version: number, status: TemplateStatus, contentHash: string, dataSchema: unknown } | null }> };

export type CustomerWithDocumentsQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type CustomerWithDocumentsQuery = { __typename?: 'Query', customer?: { __typename?: 'Customer', id: string, name: string, preferredChannel: Channel, segments: Array<string>, documents: { __typename?: 'DocumentConnection', totalCount: number, edges: Array<{ __typename?: 'DocumentEdge', node: { __typename?: 'Document', id: string, status: DocumentStatus } }> }, cases: { __typename?: 'CaseConnection', totalCount: number } } | null };

export type DeliveryStatusChangedSubscriptionVariables = Exact<{
  customerId?: InputMaybe<Scalars['ID']['input']>;
  caseId?: InputMaybe<Scalars['ID']['input']>;
  documentId?: InputMaybe<Scalars['ID']['input']>;
  after?: InputMaybe<Scalars['ID']['input']>;
}>;


export type DeliveryStatusChangedSubscription = { __typename?: 'Subscription', deliveryStatusChanged: { __typename?: 'DeliveryStatusEvent', eventId: string, occurredAt: string, delivery: { __typename?: 'Delivery', id: string, channel: Channel, status: DeliveryStatus, lastError?: string | null }, document: { __typename?: 'Document', id: string, customer?: { __typename?: 'Customer', name: string } | null, case?: { __typename?: 'Case', id: string, status: CaseStatus } | null } } };

export type GenerationExceptionRaisedSubscriptionVariables = Exact<{
  kind?: InputMaybe<ExceptionKind>;
  after?: InputMaybe<Scalars['ID']['input']>;
}>;


export type GenerationExceptionRaisedSubscription = { __typename?: 'Subscription', generationExceptionRaised: { __typename?: 'GenerationException', id: string, kind: ExceptionKind, message: string, document?: { __typename?: 'Document', id: string } | null, case?: { __typename?: 'Case', id: string, assignedTeam?: string | null } | null } };

export type CaseUpdatedSubscriptionVariables = Exact<{
  caseId?: InputMaybe<Scalars['ID']['input']>;
  after?: InputMaybe<Scalars['ID']['input']>;
}>;


export type CaseUpdatedSubscription = { __typename?: 'Subscription', caseUpdated: { __typename?: 'Case', id: string, status: CaseStatus } };


export const StartCaseDocument = {"__meta__":{"hash":"ddee39fb809b24f03ace499cf27b249915c169f9edffe0dc12d60c12c357961a"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"StartCase"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"StartCaseInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"startCase"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"templateVersionId"}},{"kind":"Field","name":{"kind":"Name","value":"approvals"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"decision"}},{"kind":"Field","name":{"kind":"Name","value":"task"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"dueAt"}}]}}]}}]}}]}}]} as unknown as DocumentNode<StartCaseMutation, StartCaseMutationVariables>;
export const DecideApprovalDocument = {"__meta__":{"hash":"18973f52891bb66c7d6ef6504316620e60f63e5e95c131c0cfed8180bc37c0ca"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DecideApproval"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DecideApprovalInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"decideApproval"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"decision"}},{"kind":"Field","name":{"kind":"Name","value":"decidedBy"}},{"kind":"Field","name":{"kind":"Name","value":"decidedAt"}}]}}]}}]} as unknown as DocumentNode<DecideApprovalMutation, DecideApprovalMutationVariables>;
export const CaseDetailDocument = {"__meta__":{"hash":"9a232c931b3436f6ae4c4e8941dfcdf2fd3c99181c4fc6c26c1e65f9d834d74a"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CaseDetail"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"case"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"assignedTeam"}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"approvals"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"decision"}},{"kind":"Field","name":{"kind":"Name","value":"decidedBy"}}]}},{"kind":"Field","name":{"kind":"Name","value":"documents"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"channel"}},{"kind":"Field","name":{"kind":"Name","value":"contentHash"}},{"kind":"Field","name":{"kind":"Name","value":"contentUrl"}},{"kind":"Field","name":{"kind":"Name","value":"deliveries"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"channel"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"lastError"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"exceptions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}},{"kind":"Field","name":{"kind":"Name","value":"history"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"actor"}},{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]}}]}}]} as unknown as DocumentNode<CaseDetailQuery, CaseDetailQueryVariables>;
export const CasesPageDocument = {"__meta__":{"hash":"dc76ce3e6da21650a3b678916ccdb29b36d63b89f72ac2cbf0128acb154b1ce1"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CasesPage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"kind"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"CaseKind"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"status"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"CaseStatus"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cases"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"kind"},"value":{"kind":"Variable","name":{"kind":"Name","value":"kind"}}},{"kind":"Argument","name":{"kind":"Name","value":"status"},"value":{"kind":"Variable","name":{"kind":"Name","value":"status"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"title"}}]}}]}}]}}]}}]} as unknown as DocumentNode<CasesPageQuery, CasesPageQueryVariables>;
export const GenerateDocumentDocument = {"__meta__":{"hash":"c967a9d68ce9254c901bb4ecca9d1e614b35e1088d478ca471d73ee9ef99cdef"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"GenerateDocument"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"GenerateDocumentInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"generateDocument"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"channel"}},{"kind":"Field","name":{"kind":"Name","value":"contentHash"}},{"kind":"Field","name":{"kind":"Name","value":"exceptions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<GenerateDocumentMutation, GenerateDocumentMutationVariables>;
export const ResolveExceptionDocument = {"__meta__":{"hash":"adfabb62fb5c82695fe369040360fd70006d56a0ce3a0ad7393bb11aa0bdf5e6"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ResolveException"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ResolveExceptionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"resolveException"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"resolution"}},{"kind":"Field","name":{"kind":"Name","value":"retryDocument"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"contentHash"}}]}}]}}]}}]} as unknown as DocumentNode<ResolveExceptionMutation, ResolveExceptionMutationVariables>;
export const TemplatesDocument = {"__meta__":{"hash":"367e0e3957809e46fd9886b01086287e67d5290ae8f399a3a261f50f11703b92"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Templates"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"templates"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"channels"}},{"kind":"Field","name":{"kind":"Name","value":"approvedVersion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"contentHash"}},{"kind":"Field","name":{"kind":"Name","value":"dataSchema"}}]}}]}}]}}]} as unknown as DocumentNode<TemplatesQuery, TemplatesQueryVariables>;
export const CustomerWithDocumentsDocument = {"__meta__":{"hash":"1d81ed7d9a1cc42370548966638fe838965f969c41c3f0417b9ae8a2ef2ecfbd"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerWithDocuments"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"preferredChannel"}},{"kind":"Field","name":{"kind":"Name","value":"segments"}},{"kind":"Field","name":{"kind":"Name","value":"documents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"10"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"cases"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"10"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}}]}}]}}]}}]} as unknown as DocumentNode<CustomerWithDocumentsQuery, CustomerWithDocumentsQueryVariables>;
export const DeliveryStatusChangedDocument = {"__meta__":{"hash":"102acd62736f3dc1e6364f32fe25b02b9610b49abcce52b0aba6820a93dc26ab"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DeliveryStatusChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"customerId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"caseId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"documentId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deliveryStatusChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"customerId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"customerId"}}},{"kind":"Argument","name":{"kind":"Name","value":"caseId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"caseId"}}},{"kind":"Argument","name":{"kind":"Name","value":"documentId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"documentId"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"eventId"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"delivery"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"channel"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastError"}}]}},{"kind":"Field","name":{"kind":"Name","value":"document"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"case"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]}}]} as unknown as DocumentNode<DeliveryStatusChangedSubscription, DeliveryStatusChangedSubscriptionVariables>;
export const GenerationExceptionRaisedDocument = {"__meta__":{"hash":"b231d2b7d83612f268d5d7ad69861861e2603d06c4830c85f7beabee15e13e8a"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"GenerationExceptionRaised"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"kind"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ExceptionKind"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"generationExceptionRaised"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"kind"},"value":{"kind":"Variable","name":{"kind":"Name","value":"kind"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"document"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}},{"kind":"Field","name":{"kind":"Name","value":"case"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"assignedTeam"}}]}}]}}]}}]} as unknown as DocumentNode<GenerationExceptionRaisedSubscription, GenerationExceptionRaisedSubscriptionVariables>;
export const CaseUpdatedDocument = {"__meta__":{"hash":"98319ec5c479c869d8379cd2fa856ce56c7aa00e1e35180a356bceb767c009dc"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"CaseUpdated"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"caseId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseUpdated"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"caseId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"caseId"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<CaseUpdatedSubscription, CaseUpdatedSubscriptionVariables>;