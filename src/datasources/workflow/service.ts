import type { Kysely, Transaction } from 'kysely';
import type { Emit, Outbox } from '../../events/index.js';
import { badInput, forbidden } from '../../errors/index.js';
import type { Principal } from '../../identity/index.js';
import type { ApprovalRow, CaseRow, WorkflowDB } from '../../store/tables.js';
import * as approvals from './approvals.js';
import * as casework from './casework.js';
import {
  WorkflowDeps,
  type MilestoneCommand,
  type WorkflowCommandRelay,
  type WorkflowOptions,
} from './deps.js';
import type { DisputeDesk } from './disputes.js';
import * as documents from './documents.js';
import * as exceptions from './exceptions.js';
import { runGenerateForCase } from './generation.js';
import * as milestones from './milestones.js';
import * as notices from './notices.js';
import type { GenerateForCaseCommand, LaunchNoticeCommand, ReissueCommand, WorkflowPorts } from './ports.js';
import * as reissues from './reissues.js';
import { DEFAULT_CORRESPONDENCE_STAGES, KIND_STARTERS, TITLE_MAX, type ApprovalState } from './rules.js';
import * as store from './store.js';
import { EMBEDDED_TASKS, type StartProcessCommand, type TaskHandling } from './task-handling.js';

// The parts of the service, one module per case kind (see each); re-exported for callers.
export type { StartCaseInput } from './documents.js';
export type { AuthoriseReissueInput } from './reissues.js';
export type { ExceptionOutcomeInput, OpenExceptionCaseInput } from './exceptions.js';
export type { ExceptionRoute, MilestoneCommand, MilestoneRule, WorkflowOptions } from './deps.js';
export {
  DEFAULT_CORRESPONDENCE_STAGES,
  MILESTONES,
  STAGES,
  STAGE_ROLE,
  approvalStateOf,
  noticeTarget,
  reissueTitle,
  routeException,
  type ApprovalState,
  type Stage,
} from './rules.js';
export { insertCase, insertTask, lockCase } from './store.js';

/**
 * The case lifecycle: every rule of the contract (stage order, four-eyes,
 * roles) is enforced in the modules this delegates to, the one path every
 * entry point goes through.
 */
export class WorkflowService {
  private readonly d: WorkflowDeps;

  constructor(
    db: Kysely<WorkflowDB>,
    outbox: Outbox<WorkflowDB>,
    commands: WorkflowCommandRelay,
    ports: WorkflowPorts,
    options: WorkflowOptions = { correspondenceStages: DEFAULT_CORRESPONDENCE_STAGES },
    tasks: TaskHandling = EMBEDDED_TASKS,
  ) {
    this.d = new WorkflowDeps(db, outbox, commands, ports, options, tasks);
  }

  /** Who else holds the cases' tasks (embedded: nobody). */
  get tasks(): TaskHandling {
    return this.d.tasks;
  }

  /** In the transaction that opens a case: arranges its process (also used by the dispute desk). */
  processStarting(tx: Transaction<WorkflowDB>, cmd: StartProcessCommand): Promise<void> {
    return this.d.processStarting(tx, cmd);
  }

  /** Command handler: starts a case's Workflow Service process. */
  runStartProcess(cmd: StartProcessCommand): Promise<void> {
    return this.d.tasks.startProcess(cmd);
  }

  /** The desk that runs DISPUTE cases; it writes the trail through this service. */
  disputes: DisputeDesk | null = null;

  async startCase(principal: Principal, input: documents.StartCaseInput): Promise<CaseRow> {
    const title = input.title.trim();
    if (!title || title.length > TITLE_MAX) throw badInput(`title: 1 to ${TITLE_MAX} characters`, 'title');
    const starters = KIND_STARTERS[input.kind];
    if (starters && !starters.some((r) => principal.roles.includes(r))) {
      throw forbidden(`Starting a ${input.kind} case needs one of the roles: ${starters.join(', ')}`);
    }
    const titled = { ...input, title };
    switch (input.kind) {
      case 'REGULATED_DOCUMENT':
        return documents.startRegulatedDocument(this.d, principal, titled);
      case 'CORRESPONDENCE':
        return documents.startCorrespondence(this.d, principal, titled);
      case 'SERVICE':
        return milestones.startService(this.d, principal, titled);
      case 'MANDATORY_NOTICE':
        return documents.startMandatoryNotice(this.d, principal, titled);
      case 'DISPUTE':
        if (!this.disputes) throw badInput('kind: DISPUTE cases are not handled here', 'kind');
        return this.disputes.start(principal, titled);
      case 'GENERATION_EXCEPTION':
        throw badInput(
          'kind: GENERATION_EXCEPTION cases are opened by the system when generation fails',
          'kind',
        );
      default:
        throw badInput(`kind: ${input.kind} cases cannot be started yet`, 'kind');
    }
  }

  decideApproval(principal: Principal, input: approvals.DecideApprovalInput): Promise<ApprovalRow> {
    return approvals.decideApproval(this.d, principal, input);
  }

  runGenerateForCase(cmd: GenerateForCaseCommand): Promise<void> {
    return runGenerateForCase(this.d, cmd);
  }

  approvalsOf(caseId: string): Promise<ApprovalRow[]> {
    return this.d.db
      .selectFrom('workflow.approvals')
      .selectAll()
      .where('case_id', '=', caseId)
      .orderBy('seq')
      .execute();
  }

  /** Is generation for this case signed off? */
  approvalState(caseId: string): Promise<{ state: ApprovalState; caseRow: CaseRow } | null> {
    return approvals.approvalState(this.d, caseId);
  }

  openExceptionCase(input: exceptions.OpenExceptionCaseInput): Promise<CaseRow> {
    return exceptions.openExceptionCase(this.d, input);
  }

  recordExceptionOutcome(input: exceptions.ExceptionOutcomeInput): Promise<void> {
    return exceptions.recordExceptionOutcome(this.d, input);
  }

  reportMilestone(
    principal: Principal,
    input: { caseId: string; milestone: string; data?: Record<string, unknown> | null },
  ): Promise<CaseRow> {
    return milestones.reportMilestone(this.d, principal, input);
  }

  runMilestoneCommunication(cmd: MilestoneCommand): Promise<void> {
    return milestones.runMilestoneCommunication(this.d, cmd);
  }

  assign(principal: Principal, input: casework.AssignInput): Promise<CaseRow> {
    return casework.assign(this.d, principal, input);
  }

  addNote(principal: Principal, input: { caseId: string; note: string }): Promise<CaseRow> {
    return casework.addNote(this.d, principal, input);
  }

  reissue(principal: Principal, input: { documentId: string; reason: string; channel?: string | null }) {
    return reissues.reissue(this.d, principal, input);
  }

  authoriseReissue(principal: Principal, input: reissues.AuthoriseReissueInput): Promise<CaseRow> {
    return reissues.authoriseReissue(this.d, principal, input);
  }

  runReissueForCase(cmd: ReissueCommand): Promise<void> {
    return reissues.runReissueForCase(this.d, cmd);
  }

  runLaunchNotice(cmd: LaunchNoticeCommand): Promise<void> {
    return notices.runLaunchNotice(this.d, cmd);
  }

  recordNoticeOutcome(input: notices.NoticeOutcome): Promise<void> {
    return notices.recordNoticeOutcome(this.d, input);
  }

  /** Waits, bounded, for work this subgraph's commands do (src/datasources/follow-up.ts). */
  followUp<T>(check: () => Promise<T | null | undefined>): Promise<T | null> {
    return this.d.followUp(check);
  }

  /** Changes a case's status with its trail entry and event (also used by the dispute desk). */
  setStatus(
    tx: Transaction<WorkflowDB>,
    emit: Emit,
    caseId: string,
    status: string,
    actor: string,
    detail: Record<string, unknown>,
    extra: { assigned_team?: string | null; resolution?: string | null; assignee?: string | null } = {},
  ): Promise<void> {
    return store.setStatus(tx, emit, caseId, status, actor, detail, extra);
  }

  /** Appends to a case's trail (also used by the dispute desk). */
  audit(
    tx: Transaction<WorkflowDB>,
    caseId: string,
    actor: string,
    action: string,
    detail: Record<string, unknown>,
  ): Promise<string> {
    return store.audit(tx, caseId, actor, action, detail);
  }
}
