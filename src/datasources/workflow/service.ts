import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { CommandRelay } from '../../events/commands.js';
import type { Emit, Outbox } from '../../events/index.js';
import { badInput, conflict, forbidden, notFound, approvalRequired } from '../../errors/index.js';
import type { Principal, Role } from '../../identity/index.js';
import type { Insertable } from 'kysely';
import type { ApprovalRow, CaseRow, CasesTable, TasksTable, WorkflowDB } from '../../store/tables.js';
import type {
  GenerateForCaseCommand,
  GenerationOutcome,
  LaunchNoticeCommand,
  ReissueCommand,
  WorkflowPorts,
} from './ports.js';
import type { DisputeDesk } from './disputes.js';
import { DEFAULT_FOLLOW_UP_WAIT_MS, followUp } from '../follow-up.js';

export const STAGES = ['REVIEW', 'APPROVAL', 'COMPLIANCE'] as const;
export type Stage = (typeof STAGES)[number];

/** The role that decides each stage; admin is deliberately absent (four-eyes has no override). */
export const STAGE_ROLE: Record<Stage, Role> = {
  REVIEW: 'reviewer',
  APPROVAL: 'approver',
  COMPLIANCE: 'compliance',
};
const STAGE_TEAM: Record<Stage, string> = {
  REVIEW: 'review',
  APPROVAL: 'approvals',
  COMPLIANCE: 'compliance',
};
/** Working time a stage may take before its task is overdue. */
const STAGE_SLA_MS = 2 * 24 * 3600_000;
const EXCEPTION_SLA_MS = 24 * 3600_000;

/** A reissue case's title (the demo seeder finds its own reissue by it). */
export function reissueTitle(documentId: string): string {
  return `Reissue of document ${documentId}`;
}

export interface StartCaseInput {
  kind: string;
  title: string;
  customerId?: string | null;
  templateId?: string | null;
  channel?: string | null;
  channelOverrideReason?: string | null;
  data?: Record<string, unknown> | null;
}

export interface WorkflowOptions {
  /** Document type → approval stages of ad hoc correspondence. */
  correspondenceStages: Record<string, readonly Stage[]>;
  /** Which communication each SERVICE milestone sends; the first matching rule wins. */
  milestoneCommunications?: readonly MilestoneRule[];
  /** Where generation exception cases go; the first matching rule wins. */
  exceptionRouting?: readonly ExceptionRoute[];
  /** How long a mutation waits for the work it started (src/datasources/follow-up.ts); 0 does not wait. */
  followUpWaitMs?: number;
}

export interface MilestoneRule {
  milestone: string;
  segment?: string;
  status?: string;
  templateId: string;
}

export const MILESTONES = [
  'CLAIM_INTAKE',
  'UNDERWRITING_REVIEW',
  'SERVICE_ESCALATION',
  'PAYMENT_CONFIRMATION',
] as const;

export interface MilestoneCommand {
  caseId: string;
  milestone: string;
  generate: GenerateForCaseCommand;
}

export interface ExceptionRoute {
  kind: string;
  channel?: string;
  team: string;
  dueHours: number;
}

export const DEFAULT_CORRESPONDENCE_STAGES: Record<string, readonly Stage[]> = {
  claim_letter: ['APPROVAL'],
  account_confirmation: ['APPROVAL'],
  regulatory_notice: ['REVIEW', 'APPROVAL', 'COMPLIANCE'],
};

/** Who may open which kind of case (the mutation's roles are the union). */
const KIND_STARTERS: Partial<Record<string, Role[]>> = {
  REGULATED_DOCUMENT: ['requester', 'compliance', 'admin'],
  CORRESPONDENCE: ['service-agent'],
  SERVICE: ['service-agent', 'requester'],
  MANDATORY_NOTICE: ['compliance', 'admin'],
};

/** The document types a mandatory notice can be. */
const NOTICE_TYPES = new Set(['rate_change_notice', 'privacy_disclosure', 'regulatory_notice']);

/** Statuses after which a case takes no more work. */
const TERMINAL = new Set(['REJECTED', 'RESOLVED', 'CLOSED']);

/** Kinds whose sign-off generates the case's document. */
const GENERATING_KINDS = new Set(['REGULATED_DOCUMENT', 'CORRESPONDENCE']);

export interface OpenExceptionCaseInput {
  exceptionId: string;
  kind: string;
  message: string;
  documentId: string | null;
  customerId: string | null;
  channel: string | null;
  sourceCaseId: string | null;
}

export interface ExceptionOutcomeInput {
  caseId: string;
  sourceCaseId: string | null;
  actor: string;
  resolution: string;
  retryDocumentId: string | null;
  retryDeliveryId: string | null;
  retryStatus: string | null;
}

export interface AuthoriseReissueInput {
  caseId: string;
  requestedBy: string;
  identityVerification: string;
  entitled: boolean;
  comment?: string | null;
}

export type ApprovalState = 'APPROVED' | 'PENDING' | 'REJECTED' | 'NO_APPROVALS';

const newId = (prefix: string) => `${prefix}_${randomUUID()}`;
const TITLE_MAX = 200;

/**
 * The case lifecycle: every rule of the contract (stage order, four-eyes,
 * roles) is enforced here, the one path every entry point goes through.
 */
export class WorkflowService {
  constructor(
    private readonly db: Kysely<WorkflowDB>,
    private readonly outbox: Outbox<WorkflowDB>,
    private readonly commands: CommandRelay,
    private readonly ports: WorkflowPorts,
    private readonly options: WorkflowOptions = { correspondenceStages: DEFAULT_CORRESPONDENCE_STAGES },
  ) {}

  /** The desk that runs DISPUTE cases; it writes the trail through this service. */
  disputes: DisputeDesk | null = null;

  async startCase(principal: Principal, input: StartCaseInput): Promise<CaseRow> {
    const title = input.title.trim();
    if (!title || title.length > TITLE_MAX) throw badInput(`title: 1 to ${TITLE_MAX} characters`, 'title');
    const starters = KIND_STARTERS[input.kind];
    if (starters && !starters.some((r) => principal.roles.includes(r))) {
      throw forbidden(`Starting a ${input.kind} case needs one of the roles: ${starters.join(', ')}`);
    }
    switch (input.kind) {
      case 'REGULATED_DOCUMENT':
        return this.startApprovedDocument(principal, { ...input, title }, () => [...STAGES]);
      case 'CORRESPONDENCE':
        return this.startApprovedDocument(principal, { ...input, title }, (documentType) => {
          const stages = this.options.correspondenceStages[documentType];
          if (!stages) {
            throw badInput(
              `templateId: ad hoc correspondence is one of ${Object.keys(this.options.correspondenceStages).join(', ')}, not ${documentType}`,
              'templateId',
            );
          }
          return stages;
        });
      case 'SERVICE':
        return this.startService(principal, { ...input, title });
      case 'MANDATORY_NOTICE':
        return this.startApprovedDocument(principal, { ...input, title }, (documentType) => {
          if (!NOTICE_TYPES.has(documentType)) {
            throw badInput(
              `templateId: a mandatory notice is one of ${[...NOTICE_TYPES].join(', ')}, not ${documentType}`,
              'templateId',
            );
          }
          return [...STAGES];
        });
      case 'DISPUTE':
        if (!this.disputes) throw badInput('kind: DISPUTE cases are not handled here', 'kind');
        return this.disputes.start(principal, { ...input, title });
      case 'GENERATION_EXCEPTION':
        throw badInput(
          'kind: GENERATION_EXCEPTION cases are opened by the system when generation fails',
          'kind',
        );
      default:
        throw badInput(`kind: ${input.kind} cases cannot be started yet`, 'kind');
    }
  }

  /**
   * A case whose document is generated once its approval stages are signed
   * off: regulated documents (all three stages) and ad hoc correspondence
   * (the stages configured for its document type). The document goes out on
   * the customer's preferred channel; another channel needs a recorded reason.
   */
  private async startApprovedDocument(
    principal: Principal,
    input: StartCaseInput,
    stagesFor: (documentType: string) => readonly Stage[],
  ): Promise<CaseRow> {
    if (!input.templateId) throw badInput(`templateId: required for ${input.kind}`, 'templateId');
    const notice = input.kind === 'MANDATORY_NOTICE' ? noticeTarget(input.data) : null;
    if (!notice && !input.customerId) throw badInput(`customerId: required for ${input.kind}`, 'customerId');
    // A notice goes to segments, not to one customer.
    const customer = notice
      ? { id: null, preferredChannel: notice.channels[0]!, segments: [] }
      : await this.ports.customer(input.customerId!);
    if (!customer) throw notFound('Customer', input.customerId!);
    const version = await this.ports.approvedVersion(input.templateId);
    if (version === 'NO_TEMPLATE') throw notFound('Template', input.templateId);
    if (!version) throw approvalRequired(`Template ${input.templateId} has no approved version`);
    const stages = stagesFor(version.documentType);
    const channel = input.channel ?? customer.preferredChannel;
    for (const c of notice?.channels ?? [channel]) {
      if (!version.channels.includes(c))
        throw badInput(
          `channel: template ${input.templateId} does not support ${c}`,
          notice ? 'data.channels' : 'channel',
        );
    }
    const reason = input.channelOverrideReason?.trim() || null;
    if (reason && reason.length > 500)
      throw badInput('channelOverrideReason: at most 500 characters', 'channelOverrideReason');
    const override =
      channel !== customer.preferredChannel ? { from: customer.preferredChannel, to: channel, reason } : null;
    if (override && !reason && input.kind === 'CORRESPONDENCE') {
      throw badInput(
        `channelOverrideReason: the customer prefers ${customer.preferredChannel}; sending by ${channel} needs a reason`,
        'channelOverrideReason',
      );
    }
    const caseId = newId('case');
    const now = Date.now();
    return this.outbox.transaction(async (tx, emit) => {
      const row = await insertCase(tx, {
        id: caseId,
        kind: input.kind,
        status: 'AWAITING_APPROVAL',
        title: input.title,
        customer_id: customer.id,
        template_id: version.templateId,
        // Pinned now: a version approved later must not change what was reviewed.
        template_version_id: version.templateVersionId,
        channel,
        data: JSON.stringify(input.data ?? {}),
        started_by: principal.sub,
        assigned_team: STAGE_TEAM[stages[0]!],
        due_at: new Date(now + stages.length * STAGE_SLA_MS),
      });
      for (const [seq, stage] of stages.entries()) {
        const approvalId = newId('apr');
        await tx
          .insertInto('workflow.approvals')
          .values({
            id: approvalId,
            case_id: caseId,
            stage,
            seq,
            decision: 'PENDING',
            decided_by: null,
            decided_at: null,
            comment: null,
          })
          .execute();
        await insertTask(tx, {
          id: newId('task'),
          case_id: caseId,
          approval_id: approvalId,
          kind: 'APPROVAL',
          role: STAGE_ROLE[stage],
          team: STAGE_TEAM[stage],
          status: 'OPEN',
          due_at: new Date(now + (seq + 1) * STAGE_SLA_MS),
        });
      }
      await this.audit(tx, caseId, principal.sub, 'CASE_STARTED', {
        kind: input.kind,
        templateId: version.templateId,
        templateVersionId: version.templateVersionId,
        channel,
        stages,
        channelOverride: override,
      });
      await emit('CASE_UPDATED', { caseId });
      return row;
    });
  }

  async decideApproval(
    principal: Principal,
    input: { approvalId: string; decision: string; comment?: string | null },
  ): Promise<ApprovalRow> {
    if (input.decision !== 'APPROVED' && input.decision !== 'REJECTED') {
      throw badInput('decision: APPROVED or REJECTED', 'decision');
    }
    if (input.comment != null && input.comment.length > 2000)
      throw badInput('comment: at most 2000 characters', 'comment');
    let generate: GenerateForCaseCommand | null = null;
    const approval = await this.outbox.transaction(async (tx, emit) => {
      const target = await tx
        .selectFrom('workflow.approvals')
        .selectAll()
        .where('id', '=', input.approvalId)
        .executeTakeFirst();
      if (!target) throw notFound('Approval', input.approvalId);
      // Lock the case: two deciders racing on one case serialise here.
      const c = await tx
        .selectFrom('workflow.cases')
        .selectAll()
        .where('id', '=', target.case_id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const all = await tx
        .selectFrom('workflow.approvals')
        .selectAll()
        .where('case_id', '=', c.id)
        .orderBy('seq')
        .execute();
      const stage = target.stage as Stage;
      const fresh = all.find((a) => a.id === target.id)!;
      if (!principal.roles.includes(STAGE_ROLE[stage])) {
        throw forbidden(`Deciding the ${stage} stage needs the ${STAGE_ROLE[stage]} role`);
      }
      if (fresh.decision !== 'PENDING') throw conflict(`The ${stage} stage was already decided`);
      if (c.status !== 'AWAITING_APPROVAL')
        throw conflict(`Case ${c.id} is ${c.status}, not awaiting approval`);
      const earlier = all.filter((a) => a.seq < fresh.seq && a.decision !== 'APPROVED');
      if (earlier.length) throw conflict(`Stage ${earlier[0]!.stage} must be approved before ${stage}`);
      if (c.started_by === principal.sub)
        throw forbidden('Four-eyes: the person who started a case cannot decide its approvals');
      if (all.some((a) => a.decided_by === principal.sub)) {
        throw forbidden('Four-eyes: one person decides at most one stage of a case');
      }
      const decidedAt = new Date();
      const updated = await tx
        .updateTable('workflow.approvals')
        .set({
          decision: input.decision,
          decided_by: principal.sub,
          decided_at: decidedAt,
          comment: input.comment ?? null,
        })
        .where('id', '=', fresh.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await tx
        .updateTable('workflow.tasks')
        .set({ status: 'DONE', completed_at: decidedAt, assignee: principal.sub })
        .where('approval_id', '=', fresh.id)
        .execute();
      await this.audit(
        tx,
        c.id,
        principal.sub,
        input.decision === 'APPROVED' ? 'APPROVAL_APPROVED' : 'APPROVAL_REJECTED',
        {
          stage,
          comment: input.comment ?? null,
        },
      );
      const next = all.find((a) => a.seq === fresh.seq + 1);
      if (input.decision === 'REJECTED' && c.kind === 'DISPUTE') {
        // A rejected final response goes back for rework; the dispute stays open.
        await this.setStatus(tx, emit, c.id, 'IN_PROGRESS', principal.sub, {
          stage,
          finalResponse: 'REJECTED',
        });
      } else if (input.decision === 'REJECTED') {
        await tx
          .updateTable('workflow.tasks')
          .set({ status: 'CANCELLED', completed_at: decidedAt })
          .where('case_id', '=', c.id)
          .where('status', '=', 'OPEN')
          .execute();
        await this.setStatus(tx, emit, c.id, 'REJECTED', principal.sub, { stage }, { assigned_team: null });
      } else if (next) {
        await tx
          .updateTable('workflow.cases')
          .set({ assigned_team: STAGE_TEAM[next.stage as Stage], updated_at: decidedAt })
          .where('id', '=', c.id)
          .execute();
        await emit('CASE_UPDATED', { caseId: c.id });
      } else {
        await this.setStatus(tx, emit, c.id, 'APPROVED', principal.sub, {}, { assigned_team: null });
        if (c.kind === 'MANDATORY_NOTICE' && c.template_version_id) {
          const target = noticeTarget(c.data);
          await this.commands.enqueue(tx, 'launchNotice', {
            caseId: c.id,
            templateVersionId: c.template_version_id,
            segments: target.segments,
            channels: target.channels,
            data: c.data ?? {},
            requestedBy: c.started_by,
          });
        }
        if (c.kind === 'DISPUTE') {
          const pending =
            ((c.subject ?? {}) as { pendingFinal?: Record<string, unknown> }).pendingFinal ?? {};
          await this.commands.enqueue(tx, 'disputeLetter', {
            caseId: c.id,
            letter: 'FINAL_RESPONSE',
            data: pending,
            requestedBy: principal.sub,
          });
        }
        if (GENERATING_KINDS.has(c.kind) && c.template_version_id && c.customer_id && c.channel) {
          generate = {
            caseId: c.id,
            customerId: c.customer_id,
            templateVersionId: c.template_version_id,
            channel: c.channel,
            data: (c.data ?? {}) as Record<string, unknown>,
            requestedBy: c.started_by,
            // One document per case, however often the command runs.
            idempotencyKey: `case:${c.id}`,
          };
          await this.commands.enqueue(tx, 'generateForCase', { ...generate });
        }
      }
      return updated;
    });
    return approval;
  }

  /** Command handler: asks communications for the document, then records it on the case. */
  async runGenerateForCase(cmd: GenerateForCaseCommand): Promise<void> {
    const outcome = await this.ports.generateForCase(cmd);
    await this.recordGeneration(
      cmd.caseId,
      outcome,
      { templateVersionId: cmd.templateVersionId },
      'DOCUMENT_GENERATED',
    );
  }

  /** Records a generation on its case once, however often the command that asked for it ran. */
  private async recordGeneration(
    caseId: string,
    outcome: GenerationOutcome,
    detail: Record<string, unknown>,
    action: 'DOCUMENT_GENERATED' | 'DOCUMENT_REISSUED',
  ): Promise<void> {
    await this.outbox.transaction(async (tx, emit) => {
      const c = await tx
        .selectFrom('workflow.cases')
        .selectAll()
        .where('id', '=', caseId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const already = await tx
        .selectFrom('workflow.audit_events')
        .select('id')
        .where('case_id', '=', c.id)
        .where('action', 'in', [action, 'GENERATION_FAILED'])
        .executeTakeFirst();
      if (already) return;
      const generated = outcome.status === 'GENERATED';
      await this.audit(tx, c.id, 'system', generated ? action : 'GENERATION_FAILED', {
        documentId: outcome.documentId,
        ...detail,
      });
      await this.setStatus(
        tx,
        emit,
        c.id,
        generated ? 'RESOLVED' : 'IN_PROGRESS',
        'system',
        { documentId: outcome.documentId },
        { assigned_team: generated ? null : 'operations' },
      );
    });
  }

  async approvalsOf(caseId: string): Promise<ApprovalRow[]> {
    return this.db
      .selectFrom('workflow.approvals')
      .selectAll()
      .where('case_id', '=', caseId)
      .orderBy('seq')
      .execute();
  }

  /** Is generation for this case signed off? */
  async approvalState(caseId: string): Promise<{ state: ApprovalState; caseRow: CaseRow } | null> {
    const c = await this.db
      .selectFrom('workflow.cases')
      .selectAll()
      .where('id', '=', caseId)
      .executeTakeFirst();
    if (!c) return null;
    const approvals = await this.db
      .selectFrom('workflow.approvals')
      .select('decision')
      .where('case_id', '=', caseId)
      .execute();
    const state = approvalStateOf(approvals.map((a) => a.decision));
    return { state, caseRow: c };
  }

  /** Opened by communications when generation or delivery fails; idempotent per exception. */
  async openExceptionCase(input: OpenExceptionCaseInput): Promise<CaseRow> {
    const key = `exception:${input.exceptionId}`;
    const existing = await this.db
      .selectFrom('workflow.cases')
      .selectAll()
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    if (existing) return existing;
    const caseId = newId('case');
    try {
      return await this.outbox.transaction(async (tx, emit) => {
        const route = routeException(this.options.exceptionRouting ?? [], input.kind, input.channel);
        const team = route.team;
        const row = await insertCase(tx, {
          id: caseId,
          kind: 'GENERATION_EXCEPTION',
          status: 'OPEN',
          title: `${humanKind(input.kind)}: ${input.message}`.slice(0, TITLE_MAX),
          customer_id: input.customerId,
          channel: input.channel,
          started_by: 'system',
          assigned_team: team,
          due_at: new Date(Date.now() + route.dueHours * 3600_000),
          subject: JSON.stringify({
            exceptionId: input.exceptionId,
            documentId: input.documentId,
            sourceCaseId: input.sourceCaseId,
          }),
          idempotency_key: key,
        });
        await insertTask(tx, {
          id: newId('task'),
          case_id: caseId,
          kind: 'INVESTIGATE',
          role: 'operations',
          team,
          status: 'OPEN',
          due_at: row.due_at,
        });
        await this.audit(tx, caseId, 'system', 'EXCEPTION_CASE_OPENED', {
          exceptionId: input.exceptionId,
          kind: input.kind,
          documentId: input.documentId,
          sourceCaseId: input.sourceCaseId,
          message: input.message,
        });
        if (input.sourceCaseId) {
          const src = await tx
            .selectFrom('workflow.cases')
            .select('id')
            .where('id', '=', input.sourceCaseId)
            .executeTakeFirst();
          if (src) {
            await this.audit(tx, src.id, 'system', 'EXCEPTION_RAISED', {
              exceptionId: input.exceptionId,
              exceptionCaseId: caseId,
              kind: input.kind,
            });
            await emit('CASE_UPDATED', { caseId: src.id });
          }
        }
        await emit('CASE_UPDATED', { caseId });
        return row;
      });
    } catch (err) {
      // Lost a race with another relay on the same exception: the winner's case stands.
      const winner = await this.db
        .selectFrom('workflow.cases')
        .selectAll()
        .where('idempotency_key', '=', key)
        .executeTakeFirst();
      if (winner) return winner;
      throw err;
    }
  }

  /** A claim, underwriting, escalation or payment case whose milestones trigger communications. */
  private async startService(principal: Principal, input: StartCaseInput): Promise<CaseRow> {
    if (!input.customerId) throw badInput('customerId: required for SERVICE', 'customerId');
    const customer = await this.ports.customer(input.customerId);
    if (!customer) throw notFound('Customer', input.customerId);
    const caseId = newId('case');
    return this.outbox.transaction(async (tx, emit) => {
      const row = await insertCase(tx, {
        id: caseId,
        kind: 'SERVICE',
        status: 'OPEN',
        title: input.title,
        customer_id: customer.id,
        channel: input.channel ?? customer.preferredChannel,
        data: JSON.stringify(input.data ?? {}),
        started_by: principal.sub,
        assigned_team: 'customer-service',
      });
      await this.audit(tx, caseId, principal.sub, 'CASE_STARTED', { kind: 'SERVICE', channel: row.channel });
      await emit('CASE_UPDATED', { caseId });
      return row;
    });
  }

  /**
   * A milestone of a SERVICE case. The first report records it, moves the
   * case on and asks for the communication the mapping names for this
   * milestone, customer segment and case status, on the customer's preferred
   * channel. A repeated report is recorded in the trail and sends nothing.
   */
  async reportMilestone(
    principal: Principal,
    input: { caseId: string; milestone: string; data?: Record<string, unknown> | null },
  ): Promise<CaseRow> {
    if (!(MILESTONES as readonly string[]).includes(input.milestone))
      throw badInput('milestone: unknown', 'milestone');
    const data = input.data ?? {};
    if (typeof data !== 'object' || Array.isArray(data)) throw badInput('data: a JSON object', 'data');
    const c = await this.db
      .selectFrom('workflow.cases')
      .selectAll()
      .where('id', '=', input.caseId)
      .executeTakeFirst();
    if (!c) throw notFound('Case', input.caseId);
    if (c.kind !== 'SERVICE')
      throw badInput(`caseId: case ${c.id} is a ${c.kind} case, not SERVICE`, 'caseId');
    if (TERMINAL.has(c.status)) throw conflict(`Case ${c.id} is ${c.status}`);
    const customer = c.customer_id ? await this.ports.customer(c.customer_id) : null;
    if (!customer) throw notFound('Customer', c.customer_id ?? '');
    const nextStatus = input.milestone === 'PAYMENT_CONFIRMATION' ? 'RESOLVED' : 'IN_PROGRESS';
    const rule = (this.options.milestoneCommunications ?? []).find(
      (r) =>
        r.milestone === input.milestone &&
        (!r.segment || customer.segments.includes(r.segment)) &&
        (!r.status || r.status === nextStatus),
    );
    const version = rule ? await this.ports.approvedVersion(rule.templateId) : null;
    if (rule && (version === 'NO_TEMPLATE' || !version)) {
      throw approvalRequired(
        `Milestone ${input.milestone} maps to ${rule.templateId}, which has no approved version`,
      );
    }
    const approved = version && version !== 'NO_TEMPLATE' ? version : null;
    // The preferred channel when the template has it; else the first it supports.
    const channel = approved
      ? approved.channels.includes(customer.preferredChannel)
        ? customer.preferredChannel
        : approved.channels[0]!
      : null;
    const reported = await this.outbox.transaction(async (tx, emit) => {
      // The checks above only chose the communication; the status check that decides runs
      // here, on the locked row, so a milestone racing one that resolves the case serialises.
      const locked = await lockCase(tx, c.id);
      if (TERMINAL.has(locked.status)) throw conflict(`Case ${c.id} is ${locked.status}`);
      const inserted = await tx
        .insertInto('workflow.case_milestones')
        .values({
          case_id: c.id,
          milestone: input.milestone,
          reported_by: principal.sub,
          template_id: approved?.templateId ?? null,
          document_id: null,
        })
        .onConflict((oc) => oc.columns(['case_id', 'milestone']).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!inserted) {
        await this.audit(tx, c.id, principal.sub, 'MILESTONE_REPEATED', { milestone: input.milestone });
        await emit('CASE_UPDATED', { caseId: c.id });
        return {
          sends: false,
          row: await tx
            .selectFrom('workflow.cases')
            .selectAll()
            .where('id', '=', c.id)
            .executeTakeFirstOrThrow(),
        };
      }
      await this.audit(tx, c.id, principal.sub, 'MILESTONE_REACHED', {
        milestone: input.milestone,
        communication: approved ? { templateId: approved.templateId, channel } : null,
      });
      await this.setStatus(tx, emit, c.id, nextStatus, principal.sub, { milestone: input.milestone });
      if (approved && channel) {
        const cmd: MilestoneCommand = {
          caseId: c.id,
          milestone: input.milestone,
          generate: {
            caseId: c.id,
            customerId: customer.id,
            templateVersionId: approved.templateVersionId,
            channel,
            data: { ...((locked.data ?? {}) as Record<string, unknown>), ...data },
            requestedBy: principal.sub,
            // One communication per milestone of a case, however often it is reported or retried.
            idempotencyKey: `milestone:${c.id}:${input.milestone}`,
          },
        };
        await this.commands.enqueue(tx, 'milestoneCommunication', { ...cmd });
      }
      return {
        sends: !!(approved && channel),
        row: await tx
          .selectFrom('workflow.cases')
          .selectAll()
          .where('id', '=', c.id)
          .executeTakeFirstOrThrow(),
      };
    });
    if (reported.sends) {
      // Answer with the milestone's document (`milestones { document }`) when it is quick.
      await this.followUp(() =>
        this.db
          .selectFrom('workflow.case_milestones')
          .select('document_id')
          .where('case_id', '=', c.id)
          .where('milestone', '=', input.milestone)
          .where('document_id', 'is not', null)
          .executeTakeFirst(),
      );
    }
    // The case as this request left it; `milestones` is read when the answer is resolved.
    return reported.row;
  }

  /** Command handler: the milestone's document, linked to the milestone and the trail. */
  async runMilestoneCommunication(cmd: MilestoneCommand): Promise<void> {
    const outcome = await this.ports.generateForCase(cmd.generate);
    await this.outbox.transaction(async (tx, emit) => {
      const linked = await tx
        .updateTable('workflow.case_milestones')
        .set({ document_id: outcome.documentId })
        .where('case_id', '=', cmd.caseId)
        .where('milestone', '=', cmd.milestone)
        .where('document_id', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!linked) return;
      await this.audit(
        tx,
        cmd.caseId,
        'system',
        outcome.status === 'GENERATED' ? 'MILESTONE_COMMUNICATION_SENT' : 'GENERATION_FAILED',
        {
          milestone: cmd.milestone,
          documentId: outcome.documentId,
        },
      );
      await emit('CASE_UPDATED', { caseId: cmd.caseId });
    });
  }

  /** Who works a case now: an assignee (and optionally a team), recorded in the trail. */
  async assign(
    principal: Principal,
    input: { caseId: string; assignee: string; team?: string | null },
  ): Promise<CaseRow> {
    const assignee = input.assignee.trim();
    if (!assignee || assignee.length > 200) throw badInput('assignee: 1 to 200 characters', 'assignee');
    const team = input.team?.trim() || null;
    if (team && team.length > 100) throw badInput('team: at most 100 characters', 'team');
    return this.outbox.transaction(async (tx, emit) => {
      const c = await tx
        .selectFrom('workflow.cases')
        .selectAll()
        .where('id', '=', input.caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw notFound('Case', input.caseId);
      if (TERMINAL.has(c.status)) throw conflict(`Case ${c.id} is ${c.status}`);
      const row = await tx
        .updateTable('workflow.cases')
        .set({ assignee, assigned_team: team ?? c.assigned_team, updated_at: new Date() })
        .where('id', '=', c.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await tx
        .updateTable('workflow.tasks')
        .set({ assignee })
        .where('case_id', '=', c.id)
        .where('status', '=', 'OPEN')
        .execute();
      await this.audit(tx, c.id, principal.sub, 'ASSIGNED', {
        assignee,
        team: row.assigned_team,
        previous: c.assignee,
      });
      if (c.status === 'OPEN' && c.kind === 'GENERATION_EXCEPTION') {
        await this.setStatus(tx, emit, c.id, 'IN_PROGRESS', principal.sub, { assignee });
      } else {
        await emit('CASE_UPDATED', { caseId: c.id });
      }
      return tx.selectFrom('workflow.cases').selectAll().where('id', '=', c.id).executeTakeFirstOrThrow();
    });
  }

  /** An investigation note in the case trail. */
  async addNote(principal: Principal, input: { caseId: string; note: string }): Promise<CaseRow> {
    const note = input.note.trim();
    if (!note || note.length > 4000) throw badInput('note: 1 to 4000 characters', 'note');
    return this.outbox.transaction(async (tx, emit) => {
      const c = await tx
        .selectFrom('workflow.cases')
        .selectAll()
        .where('id', '=', input.caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw notFound('Case', input.caseId);
      await this.audit(tx, c.id, principal.sub, 'NOTE_ADDED', { note });
      await tx.updateTable('workflow.cases').set({ updated_at: new Date() }).where('id', '=', c.id).execute();
      await emit('CASE_UPDATED', { caseId: c.id });
      return c;
    });
  }

  /** Records how an exception was worked, on its case and on the case it came from. */
  async recordExceptionOutcome(input: ExceptionOutcomeInput): Promise<void> {
    await this.outbox.transaction(async (tx, emit) => {
      const c = await tx
        .selectFrom('workflow.cases')
        .selectAll()
        .where('id', '=', input.caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw notFound('Case', input.caseId);
      if (c.status === 'RESOLVED') return; // recorded already
      const detail = {
        resolution: input.resolution,
        retryDocumentId: input.retryDocumentId,
        retryDeliveryId: input.retryDeliveryId,
        retryStatus: input.retryStatus,
      };
      await tx
        .updateTable('workflow.tasks')
        .set({ status: 'DONE', completed_at: new Date(), assignee: input.actor })
        .where('case_id', '=', c.id)
        .where('status', '=', 'OPEN')
        .execute();
      await this.setStatus(tx, emit, c.id, 'RESOLVED', input.actor, detail, {
        resolution: input.resolution,
        assignee: input.actor,
      });
      if (input.sourceCaseId) {
        const src = await tx
          .selectFrom('workflow.cases')
          .selectAll()
          .where('id', '=', input.sourceCaseId)
          .forUpdate()
          .executeTakeFirst();
        if (src) {
          await this.audit(
            tx,
            src.id,
            input.actor,
            input.retryDocumentId ? 'DOCUMENT_REGENERATED' : 'EXCEPTION_RESOLVED',
            {
              exceptionCaseId: c.id,
              ...detail,
            },
          );
          if (src.status === 'IN_PROGRESS' && input.retryStatus === 'GENERATED') {
            await this.setStatus(
              tx,
              emit,
              src.id,
              'RESOLVED',
              input.actor,
              { documentId: input.retryDocumentId },
              { assigned_team: null },
            );
          } else {
            await emit('CASE_UPDATED', { caseId: src.id });
          }
        }
      }
    });
  }

  async reissue(
    principal: Principal,
    input: { documentId: string; reason: string; channel?: string | null },
  ): Promise<CaseRow> {
    const reason = input.reason.trim();
    if (!reason || reason.length > 2000) throw badInput('reason: 1 to 2000 characters', 'reason');
    const doc = await this.ports.document(input.documentId);
    if (!doc) throw notFound('Document', input.documentId);
    if (doc.status !== 'GENERATED')
      throw conflict(`Document ${doc.id} was never generated; there is nothing to reissue`);
    const channel = input.channel ?? doc.channel;
    const caseId = newId('case');
    return this.outbox.transaction(async (tx, emit) => {
      const row = await insertCase(tx, {
        id: caseId,
        kind: 'REISSUE',
        status: 'OPEN',
        title: reissueTitle(doc.id),
        customer_id: doc.customerId,
        channel,
        started_by: principal.sub,
        assigned_team: 'customer-service',
        due_at: new Date(Date.now() + STAGE_SLA_MS),
        subject: JSON.stringify({ documentId: doc.id, reason }),
      });
      await insertTask(tx, {
        id: newId('task'),
        case_id: caseId,
        kind: 'AUTHORISE_REISSUE',
        role: 'service-agent',
        team: 'customer-service',
        status: 'OPEN',
        due_at: row.due_at,
      });
      await this.audit(tx, caseId, principal.sub, 'REISSUE_REQUESTED', {
        documentId: doc.id,
        reason,
        channel,
      });
      await emit('CASE_UPDATED', { caseId });
      return row;
    });
  }

  /**
   * A service agent records the authorisation check of a reissue: who asked,
   * how their identity was verified, and whether they may receive the
   * document. Refusals are recorded as well; the case then ends REJECTED.
   */
  async authoriseReissue(principal: Principal, input: AuthoriseReissueInput): Promise<CaseRow> {
    const requestedBy = input.requestedBy.trim();
    if (!requestedBy || requestedBy.length > 200)
      throw badInput('requestedBy: 1 to 200 characters', 'requestedBy');
    if (input.comment != null && input.comment.length > 2000)
      throw badInput('comment: at most 2000 characters', 'comment');
    const row = await this.outbox.transaction(async (tx, emit) => {
      const c = await tx
        .selectFrom('workflow.cases')
        .selectAll()
        .where('id', '=', input.caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw notFound('Case', input.caseId);
      if (c.kind !== 'REISSUE')
        throw badInput(`caseId: case ${c.id} is a ${c.kind} case, not a REISSUE`, 'caseId');
      if (c.status !== 'OPEN') throw conflict(`Reissue case ${c.id} is already ${c.status}`);
      if (c.started_by === principal.sub)
        throw forbidden('Four-eyes: the person who asked for a reissue cannot authorise it');
      const subject = (c.subject ?? {}) as { documentId?: string };
      const check = {
        requestedBy,
        identityVerification: input.identityVerification,
        entitled: input.entitled,
        comment: input.comment ?? null,
      };
      const authorised = input.entitled && input.identityVerification !== 'NOT_VERIFIED';
      await tx
        .updateTable('workflow.tasks')
        .set({ status: 'DONE', completed_at: new Date(), assignee: principal.sub })
        .where('case_id', '=', c.id)
        .where('status', '=', 'OPEN')
        .execute();
      await this.audit(tx, c.id, principal.sub, authorised ? 'REISSUE_AUTHORISED' : 'REISSUE_REFUSED', check);
      if (!authorised) {
        await this.setStatus(tx, emit, c.id, 'REJECTED', principal.sub, check, {
          assigned_team: null,
          resolution: 'Refused: not authorised',
        });
      } else {
        await this.setStatus(tx, emit, c.id, 'APPROVED', principal.sub, check, { assigned_team: null });
        await this.commands.enqueue(tx, 'reissueForCase', {
          caseId: c.id,
          documentId: subject.documentId,
          channel: c.channel,
          requestedBy: principal.sub,
          // One reissue per case, however often the command runs.
          idempotencyKey: `reissue:${c.id}`,
        });
      }
      return tx.selectFrom('workflow.cases').selectAll().where('id', '=', c.id).executeTakeFirstOrThrow();
    });
    if (row.status !== 'APPROVED') return row;
    // The reissue is local and quick in embedded mode: answer with it (RESOLVED, or
    // IN_PROGRESS when it failed). Slower, the answer is the case APPROVED and
    // caseUpdated announces the rest (see the mutation's description).
    const done = await this.followUp(() =>
      this.db
        .selectFrom('workflow.cases')
        .selectAll()
        .where('id', '=', row.id)
        .where('status', '!=', 'APPROVED')
        .executeTakeFirst(),
    );
    return done ?? row;
  }

  /** Waits, bounded, for work this subgraph's commands do (src/datasources/follow-up.ts). */
  followUp<T>(check: () => Promise<T | null | undefined>): Promise<T | null> {
    const ms = this.options.followUpWaitMs ?? DEFAULT_FOLLOW_UP_WAIT_MS;
    return followUp({ ms, onCommit: (listener) => this.outbox.onCommit(listener) }, check);
  }

  /** Command handler: starts the notice's batch; the case records that it was sent out. */
  async runLaunchNotice(cmd: LaunchNoticeCommand): Promise<void> {
    const { batchId, total } = await this.ports.launchNoticeBatch(cmd);
    await this.outbox.transaction(async (tx, emit) => {
      // Locked first: a second run of this command (an expired lease) and the batch's
      // outcome (recordNoticeOutcome, which can commit first for a small batch) serialise here.
      const c = await lockCase(tx, cmd.caseId);
      const already = await tx
        .selectFrom('workflow.audit_events')
        .select('id')
        .where('case_id', '=', c.id)
        .where('action', '=', 'NOTICE_LAUNCHED')
        .executeTakeFirst();
      if (already) return;
      await this.audit(tx, c.id, 'system', 'NOTICE_LAUNCHED', {
        batchId,
        total,
        segments: cmd.segments,
        channels: cmd.channels,
      });
      // A batch that finished before its launch was recorded leaves the case RESOLVED.
      if (c.status === 'APPROVED') await this.setStatus(tx, emit, c.id, 'IN_PROGRESS', 'system', { batchId });
      else await emit('CASE_UPDATED', { caseId: c.id });
    });
  }

  /** Communications reports the batch done: the regulatory trail records what went out. */
  async recordNoticeOutcome(input: {
    caseId: string;
    batchId: string;
    total: number;
    generated: number;
    failed: number;
  }): Promise<void> {
    await this.outbox.transaction(async (tx, emit) => {
      const c = await tx
        .selectFrom('workflow.cases')
        .selectAll()
        .where('id', '=', input.caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw notFound('Case', input.caseId);
      if (c.status === 'RESOLVED') return;
      await this.audit(tx, c.id, 'system', 'NOTICE_SENT', { ...input });
      await this.setStatus(tx, emit, c.id, 'RESOLVED', 'system', { batchId: input.batchId });
    });
  }

  /** Command handler: communications regenerates the prior document; the case records it. */
  async runReissueForCase(cmd: ReissueCommand): Promise<void> {
    const outcome = await this.ports.reissue(cmd);
    await this.recordGeneration(
      cmd.caseId,
      outcome,
      // A reissue that kept the original's bytes says so (connected mode, contract "Reissue").
      { reissueOf: cmd.documentId, ...(outcome.detail ?? {}) },
      'DOCUMENT_REISSUED',
    );
  }

  /** Changes a case's status with its trail entry and event (also used by the dispute desk). */
  async setStatus(
    tx: Transaction<WorkflowDB>,
    emit: Emit,
    caseId: string,
    status: string,
    actor: string,
    detail: Record<string, unknown>,
    extra: { assigned_team?: string | null; resolution?: string | null; assignee?: string | null } = {},
  ): Promise<void> {
    await tx
      .updateTable('workflow.cases')
      .set({ status, updated_at: new Date(), ...extra })
      .where('id', '=', caseId)
      .execute();
    await this.audit(tx, caseId, actor, `STATUS_${status}`, detail);
    await emit('CASE_UPDATED', { caseId });
  }

  /** Appends to a case's trail (also used by the dispute desk). */
  async audit(
    tx: Transaction<WorkflowDB>,
    caseId: string,
    actor: string,
    action: string,
    detail: Record<string, unknown>,
  ): Promise<string> {
    const row = await tx
      .insertInto('workflow.audit_events')
      .values({ case_id: caseId, actor, action, detail: JSON.stringify(detail) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return String(row.id);
  }
}

/** Whether a case's approvals sign generation off, from their decisions. */
export function approvalStateOf(decisions: readonly string[]): ApprovalState {
  if (!decisions.length) return 'NO_APPROVALS';
  if (decisions.includes('REJECTED')) return 'REJECTED';
  return decisions.every((d) => d === 'APPROVED') ? 'APPROVED' : 'PENDING';
}

/**
 * Where an exception case goes: the first rule matching its kind (and
 * channel, when the rule names one); `{channel}` in a team name becomes the
 * channel in lower case. Unmatched kinds go to operations, due in a day.
 */
export function routeException(
  rules: readonly ExceptionRoute[],
  kind: string,
  channel: string | null,
): { team: string; dueHours: number } {
  const rule = rules.find((r) => r.kind === kind && (!r.channel || r.channel === channel));
  if (!rule) return { team: 'operations', dueHours: EXCEPTION_SLA_MS / 3600_000 };
  return { team: rule.team.replace('{channel}', (channel ?? 'any').toLowerCase()), dueHours: rule.dueHours };
}

function humanKind(kind: string): string {
  switch (kind) {
    case 'MISSING_DATA':
      return 'Missing data';
    case 'TEMPLATE_ERROR':
      return 'Template error';
    case 'DELIVERY_FAILURE':
      return 'Delivery failure';
    case 'UPSTREAM_UNAVAILABLE':
      return 'Generation backend unavailable';
    default:
      return kind;
  }
}

/** The segments and channels a mandatory notice goes to, from its case data. */
export function noticeTarget(data: unknown): { segments: string[]; channels: string[] } {
  const d = (data ?? {}) as { segments?: unknown; channels?: unknown };
  const strings = (v: unknown) =>
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 60);
  if (!strings(d.segments)) throw badInput('data.segments: one or more customer segments', 'data.segments');
  if (
    !strings(d.channels) ||
    !(d.channels as string[]).every((c) => ['PRINT', 'EMAIL', 'WEB', 'MOBILE'].includes(c))
  ) {
    throw badInput('data.channels: one or more of PRINT, EMAIL, WEB, MOBILE', 'data.channels');
  }
  return { segments: [...new Set(d.segments as string[])], channels: [...new Set(d.channels as string[])] };
}

type NewCaseFields = Pick<Insertable<CasesTable>, 'id' | 'kind' | 'status' | 'title' | 'started_by'> &
  Partial<Insertable<CasesTable>>;

/** Inserts a case; what a kind does not use stays null. */
export function insertCase(tx: Transaction<WorkflowDB>, fields: NewCaseFields): Promise<CaseRow> {
  return tx
    .insertInto('workflow.cases')
    .values({
      customer_id: null,
      template_id: null,
      template_version_id: null,
      channel: null,
      data: null,
      assigned_team: null,
      assignee: null,
      due_at: null,
      subject: null,
      idempotency_key: null,
      resolution: null,
      ...fields,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Reads a case and locks its row until the transaction ends: every status
 * check that decides a write runs on the row this returns, so concurrent
 * requests on one case serialise (issue 9, point 2).
 */
export async function lockCase(tx: Transaction<WorkflowDB>, caseId: string): Promise<CaseRow> {
  const c = await tx
    .selectFrom('workflow.cases')
    .selectAll()
    .where('id', '=', caseId)
    .forUpdate()
    .executeTakeFirst();
  if (!c) throw notFound('Case', caseId);
  return c;
}

type NewTaskFields = Pick<Insertable<TasksTable>, 'id' | 'case_id' | 'kind' | 'role' | 'status'> &
  Partial<Insertable<TasksTable>>;

/** Inserts a task: the work behind an approval or an investigation. */
export async function insertTask(tx: Transaction<WorkflowDB>, fields: NewTaskFields): Promise<void> {
  await tx
    .insertInto('workflow.tasks')
    .values({ approval_id: null, team: null, assignee: null, due_at: null, completed_at: null, ...fields })
    .execute();
}
