import { subscriptionSource } from '../stream-policy.js';
import {
  Arg,
  Authorized,
  Directive,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { WorkflowContext } from '../../context/index.js';
import { pageSize } from '../../datasources/pagination.js';
import { workflowLoaders } from '../../datasources/workflow/cases.js';
import { deadlineState } from '../../datasources/workflow/disputes.js';
import { notFound } from '../../errors/index.js';
import type { BusEvent } from '../../events/index.js';
import { asOf, snapshotOf } from '../../events/snapshot.js';
import { AuditEvent, CaseKind, CaseStatus, RESUME_AFTER } from '../../schema/shared/index.js';
import {
  AddCaseNoteInput,
  NoticeOutcomeInput,
  CaseDeadline,
  DeadlineAlert,
  DeadlineState,
  SendDisputeLetterInput,
  CaseMilestone,
  Milestone,
  ReportMilestoneInput,
  Approval,
  AssignCaseInput,
  AuthoriseReissueInput,
  Case,
  CaseConnection,
  CustomerCases,
  DecideApprovalInput,
  ExceptionOutcomeInput,
  OpenExceptionCaseInput,
  ReissueDocumentInput,
  StartCaseInput,
  Task,
} from '../../schema/workflow/types.js';
import { MUTATION_ROLES } from '../policy.js';
import { toAuditEvent } from '../audit.js';
import { toApproval, toCase, toCaseConnection, toTask } from './mappers.js';

@Resolver(() => Case)
export class CaseResolver {
  @Authorized()
  @Query(() => Case, { nullable: true })
  async case(@Arg('id', () => ID) id: string, @Ctx() ctx: WorkflowContext): Promise<Case | null> {
    const row = await ctx.workflow.loaders.case.load(id);
    return row ? toCase(row) : null;
  }

  @Authorized()
  @Query(() => CaseConnection)
  async cases(
    @Ctx() ctx: WorkflowContext,
    @Arg('kind', () => CaseKind, { nullable: true }) kind?: CaseKind | null,
    @Arg('status', () => CaseStatus, { nullable: true }) status?: CaseStatus | null,
    @Arg('customerId', () => ID, { nullable: true }) customerId?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<CaseConnection> {
    return toCaseConnection(await ctx.workflow.reader.list({ kind, status, customerId, first, after }));
  }

  @Authorized(...MUTATION_ROLES.startCase)
  @Mutation(() => Case)
  async startCase(
    @Arg('input', () => StartCaseInput) input: StartCaseInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<Case> {
    const row = await ctx.workflow.service.startCase(ctx.principal!, {
      ...input,
      data: (input.data ?? null) as Record<string, unknown> | null,
    });
    return toCase(row);
  }

  @Authorized(...MUTATION_ROLES.decideApproval)
  @Mutation(() => Approval, {
    description:
      "Decides one approval stage. The last approval starts the case's work without waiting for it: a REGULATED_DOCUMENT or CORRESPONDENCE case generates its document, a MANDATORY_NOTICE launches its batch, a DISPUTE sends its final response. The answer's `case` is APPROVED; `caseUpdated` announces it again when that work is recorded (RESOLVED with its `documents`, or IN_PROGRESS for a running notice batch).",
  })
  async decideApproval(
    @Arg('input', () => DecideApprovalInput) input: DecideApprovalInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<Approval> {
    return toApproval(await ctx.workflow.service.decideApproval(ctx.principal!, input));
  }

  @Authorized(...MUTATION_ROLES.reissueDocument)
  @Mutation(() => Case, {
    description: 'Opens a REISSUE case; once authorised, the exact prior version is regenerated.',
  })
  async reissueDocument(
    @Arg('input', () => ReissueDocumentInput) input: ReissueDocumentInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<Case> {
    return toCase(await ctx.workflow.service.reissue(ctx.principal!, input));
  }

  @Authorized(...MUTATION_ROLES.authoriseReissue)
  @Mutation(() => Case, {
    description:
      'Records the authorisation check of a REISSUE case; refused, the case ends REJECTED. Authorised, the exact prior document is regenerated and delivered: the mutation waits for the reissue (up to FOLLOW_UP_WAIT_MS, 5 s by default) and answers with the case RESOLVED and the reissued document in `documents` (IN_PROGRESS, handed to operations, if it failed to generate). When the reissue takes longer (a remote Exstream), the answer is the case APPROVED with `documents` still empty, and `caseUpdated` announces the case once the reissue is recorded; `deliveryStatusChanged` follows its delivery.',
  })
  async authoriseReissue(
    @Arg('input', () => AuthoriseReissueInput) input: AuthoriseReissueInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<Case> {
    return toCase(await ctx.workflow.service.authoriseReissue(ctx.principal!, input));
  }

  @Authorized(...MUTATION_ROLES.reportMilestone)
  @Mutation(() => Case, {
    description:
      "Records a milestone of a SERVICE case and sends the communication mapped to it; reporting it again sends nothing. The first report waits for the communication's document (up to FOLLOW_UP_WAIT_MS, 5 s by default), so the answer's `milestones { document }` is filled in; when generation takes longer it is null in the answer, and `caseUpdated` announces the case once the document is linked.",
  })
  async reportMilestone(
    @Arg('input', () => ReportMilestoneInput) input: ReportMilestoneInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<Case> {
    return toCase(
      await ctx.workflow.service.reportMilestone(ctx.principal!, {
        ...input,
        data: (input.data ?? null) as Record<string, unknown> | null,
      }),
    );
  }

  @Authorized(...MUTATION_ROLES.sendDisputeLetter)
  @Mutation(() => Case, {
    description:
      'Sends a dispute letter. The acknowledgement and interim updates go out at once: the mutation waits for the letter (up to FOLLOW_UP_WAIT_MS, 5 s by default), so the answer lists it in `documents` and shows the ACKNOWLEDGEMENT deadline MET; when generation takes longer the answer shows the state before it, and `caseUpdated` announces the case once the letter is recorded. The final response goes out after an approver signs it off: the answer is the case AWAITING_APPROVAL.',
  })
  async sendDisputeLetter(
    @Arg('input', () => SendDisputeLetterInput) input: SendDisputeLetterInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<Case> {
    return toCase(
      await ctx.workflow.disputes.sendLetter(ctx.principal!, {
        ...input,
        data: (input.data ?? null) as Record<string, unknown> | null,
      }),
    );
  }

  @Authorized()
  @Subscription(() => DeadlineAlert, {
    description:
      'A dispute deadline coming due (DUE_SOON) or missed (BREACHED), once per deadline and level.',
    subscribe: ({ args, context }) => {
      const ctx = context as WorkflowContext;
      return subscriptionSource(
        ctx,
        { bus: ctx.workflow.bus, log: ctx.workflow.log, source: 'workflow' },
        'deadlineAlerted',
        'DEADLINE_ALERT',
        args as Record<string, unknown>,
        ['caseId'],
      );
    },
  })
  async deadlineAlerted(
    @Root() event: BusEvent,
    @Arg('after', () => ID, RESUME_AFTER)
    _after: string | null,
    @Ctx() ctx: WorkflowContext,
    @Arg('caseId', () => ID, { nullable: true }) _caseId?: string | null,
  ): Promise<DeadlineAlert> {
    // The case and its deadline as they were at the alert (src/events/snapshot.ts).
    const snapshot = snapshotOf(event);
    ctx.workflow.loaders = workflowLoaders(ctx.workflow.reader, snapshot);
    const at = asOf(event, snapshot);
    const id = String(event.payload.caseId);
    const row = await ctx.workflow.loaders.case.load(id);
    if (!row) throw notFound('Case', id);
    const deadlines = await ctx.workflow.loaders.deadlinesByCase.load(id);
    const d = deadlines.find((x) => x.kind === event.payload.deadline)!;
    return {
      eventId: event.id,
      occurredAt: new Date(event.occurredAt),
      level: event.payload.level as DeadlineState,
      deadline: {
        kind: d.kind,
        dueAt: d.due_at,
        metAt: d.met_at,
        state: deadlineState(d, ctx.workflow.disputePolicy.warnBusinessDaysBefore, at) as DeadlineState,
      },
      case: { ...toCase(row), asOf: at },
    };
  }

  @Authorized(...MUTATION_ROLES.assignCase)
  @Mutation(() => Case, {
    description:
      'Assigns a case (and optionally moves it to another team); an open exception case goes IN_PROGRESS.',
  })
  async assignCase(
    @Arg('input', () => AssignCaseInput) input: AssignCaseInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<Case> {
    return toCase(await ctx.workflow.service.assign(ctx.principal!, input));
  }

  @Authorized(...MUTATION_ROLES.addCaseNote)
  @Mutation(() => Case, { description: "Adds an investigation note to the case's trail." })
  async addCaseNote(
    @Arg('input', () => AddCaseNoteInput) input: AddCaseNoteInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<Case> {
    return toCase(await ctx.workflow.service.addNote(ctx.principal!, input));
  }

  @Authorized(...MUTATION_ROLES.internal)
  @Mutation(() => Boolean)
  @Directive('@inaccessible')
  async recordNoticeOutcome(
    @Arg('input', () => NoticeOutcomeInput) input: NoticeOutcomeInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<boolean> {
    await ctx.workflow.service.recordNoticeOutcome(input);
    return true;
  }

  @Authorized(...MUTATION_ROLES.internal)
  @Mutation(() => Case)
  @Directive('@inaccessible')
  async openExceptionCase(
    @Arg('input', () => OpenExceptionCaseInput) input: OpenExceptionCaseInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<Case> {
    return toCase(await ctx.workflow.service.openExceptionCase(input));
  }

  @Authorized(...MUTATION_ROLES.internal)
  @Mutation(() => Boolean)
  @Directive('@inaccessible')
  async recordExceptionOutcome(
    @Arg('input', () => ExceptionOutcomeInput) input: ExceptionOutcomeInput,
    @Ctx() ctx: WorkflowContext,
  ): Promise<boolean> {
    await ctx.workflow.service.recordExceptionOutcome(input);
    return true;
  }

  @Authorized()
  @Subscription(() => Case, {
    description: 'Every change of a case (status, approvals, assignment, trail), or of one case.',
    subscribe: ({ args, context }) => {
      const ctx = context as WorkflowContext;
      return subscriptionSource(
        ctx,
        { bus: ctx.workflow.bus, log: ctx.workflow.log, source: 'workflow' },
        'caseUpdated',
        'CASE_UPDATED',
        args as Record<string, unknown>,
        ['caseId'],
      );
    },
  })
  async caseUpdated(
    @Root() event: BusEvent,
    @Arg('after', () => ID, RESUME_AFTER)
    _after: string | null,
    @Ctx() ctx: WorkflowContext,
    @Arg('caseId', () => ID, { nullable: true }) _caseId?: string | null,
  ): Promise<Case> {
    const id = String(event.payload.caseId);
    // One subscription context serves every event, one after another: each event gets
    // fresh loaders, primed with the case as it was at the event, so a replay shows what
    // a live subscriber saw (src/events/snapshot.ts). An event from before snapshots
    // existed shows the case as it is now.
    const snapshot = snapshotOf(event);
    ctx.workflow.loaders = workflowLoaders(ctx.workflow.reader, snapshot);
    const row = await ctx.workflow.loaders.case.load(id);
    if (!row) throw notFound('Case', id);
    return { ...toCase(row), eventId: event.id, asOf: asOf(event, snapshot) };
  }

  @FieldResolver(() => [Approval])
  async approvals(@Root() c: Case, @Ctx() ctx: WorkflowContext): Promise<Approval[]> {
    return (await ctx.workflow.loaders.approvalsByCase.load(c.id)).map(toApproval);
  }

  @FieldResolver(() => [Task], {
    description: 'Approval and investigation tasks, with team/role, assignee and due date.',
  })
  async tasks(@Root() c: Case, @Ctx() ctx: WorkflowContext): Promise<Task[]> {
    return (await ctx.workflow.loaders.tasksByCase.load(c.id)).map(toTask);
  }

  @FieldResolver(() => [CaseMilestone], {
    description: 'Milestones reached (SERVICE cases), in order, with the communication each sent.',
  })
  async milestones(@Root() c: Case, @Ctx() ctx: WorkflowContext): Promise<CaseMilestone[]> {
    return (await ctx.workflow.loaders.milestonesByCase.load(c.id)).map((m) => ({
      milestone: m.milestone as Milestone,
      reachedAt: m.reached_at,
      reportedBy: m.reported_by,
      templateId: m.template_id,
      document: m.document_id ? { id: m.document_id } : null,
    }));
  }

  @FieldResolver(() => [CaseDeadline], {
    description: 'Response deadlines (DISPUTE cases) and where each stands.',
  })
  async deadlines(@Root() c: Case, @Ctx() ctx: WorkflowContext): Promise<CaseDeadline[]> {
    const warn = ctx.workflow.disputePolicy.warnBusinessDaysBefore;
    return (await ctx.workflow.loaders.deadlinesByCase.load(c.id)).map((d) => ({
      kind: d.kind,
      dueAt: d.due_at,
      metAt: d.met_at,
      state: deadlineState(d, warn, c.asOf) as DeadlineState,
    }));
  }

  @FieldResolver(() => [AuditEvent])
  async history(@Root() c: Case, @Ctx() ctx: WorkflowContext): Promise<AuditEvent[]> {
    const [trail, process] = await Promise.all([
      ctx.workflow.loaders.historyByCase.load(c.id),
      ctx.workflow.loaders.processHistoryByCase.load(c.id),
    ]);
    if (!process.length) return trail.map(toAuditEvent);
    // Connected: the process's task history (who, when, outcome) joins the trail, in time order.
    return [...trail, ...process].map(toAuditEvent).sort((a, b) => a.at.getTime() - b.at.getTime());
  }
}

@Resolver(() => Approval)
export class ApprovalResolver {
  @FieldResolver(() => Task, { nullable: true, description: 'The task behind this approval.' })
  async task(@Root() a: Approval, @Ctx() ctx: WorkflowContext): Promise<Task | null> {
    const tasks = await ctx.workflow.loaders.tasksByCase.load(a.caseId);
    const t = tasks.find((t) => t.approval_id === a.id);
    return t ? toTask(t) : null;
  }

  @FieldResolver(() => Case)
  async case(@Root() a: Approval, @Ctx() ctx: WorkflowContext): Promise<Case> {
    const row = await ctx.workflow.loaders.case.load(a.caseId);
    if (!row) throw notFound('Case', a.caseId);
    return toCase(row);
  }
}

@Resolver(() => CustomerCases)
export class CustomerCasesResolver {
  @FieldResolver(() => CaseConnection)
  async cases(
    @Root() customer: CustomerCases,
    @Ctx() ctx: WorkflowContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<CaseConnection> {
    // First pages batch across customers; later pages are one query each.
    if (after == null) {
      return toCaseConnection(
        await ctx.workflow.loaders.casesByCustomer.load(`${customer.id}:${pageSize(first)}`),
      );
    }
    return toCaseConnection(await ctx.workflow.reader.list({ customerId: customer.id, first, after }));
  }
}
