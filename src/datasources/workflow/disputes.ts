import { sql, type Kysely } from 'kysely';
import type { Outbox } from '../../events/index.js';
import { approvalRequired, badInput, conflict, forbidden, notFound } from '../../errors/index.js';
import type { Principal, Role } from '../../identity/index.js';
import type { CaseRow, WorkflowDB } from '../../store/tables.js';
import type { WorkflowPorts } from './ports.js';
import type { WorkflowCommandRelay } from './deps.js';
import type { WorkflowService } from './service.js';
import { audit, insertCase, insertTask, lockCase, newId, setStatus } from './store.js';
import { addBusinessDays, checkDeadlines } from './deadlines.js';

/**
 * Complaints and disputes. A DISPUTE case has a response policy: acknowledge
 * within N business days, a final response within M. Letters go out at
 * acknowledgement, interim updates and the final response (which needs an
 * approver's sign-off, four-eyes), each listed on the case with its delivery
 * status. Deadlines are watched: one coming due, or missed, raises an alert
 * event once and shows on the case.
 */
export interface DisputePolicy {
  acknowledgeWithinBusinessDays: number;
  finalResponseWithinBusinessDays: number;
  /** A deadline this close is DUE_SOON. */
  warnBusinessDaysBefore: number;
}

/** Acknowledge promptly, answer within eight weeks (about 40 business days), as UK and EU complaint rules expect. */
export const DEFAULT_DISPUTE_POLICY: DisputePolicy = {
  acknowledgeWithinBusinessDays: 5,
  finalResponseWithinBusinessDays: 40,
  warnBusinessDaysBefore: 2,
};

export const DISPUTE_LETTERS = {
  ACKNOWLEDGEMENT: 'tpl_dispute_acknowledgement',
  INTERIM_UPDATE: 'tpl_dispute_interim_update',
  FINAL_RESPONSE: 'tpl_dispute_final_response',
} as const;
export type DisputeLetter = keyof typeof DISPUTE_LETTERS;

const STARTERS: Role[] = ['service-agent', 'requester'];

export interface DisputeLetterCommand {
  caseId: string;
  letter: DisputeLetter;
  data: Record<string, unknown>;
  requestedBy: string;
  /** Interim updates can go out several times; each has its own number. */
  sequence?: number;
}

export class DisputeDesk {
  constructor(
    private readonly db: Kysely<WorkflowDB>,
    private readonly outbox: Outbox<WorkflowDB>,
    private readonly commands: WorkflowCommandRelay,
    private readonly ports: WorkflowPorts,
    private readonly cases: WorkflowService,
    private readonly policy: DisputePolicy = DEFAULT_DISPUTE_POLICY,
  ) {}

  async start(
    principal: Principal,
    input: {
      title: string;
      customerId?: string | null;
      channel?: string | null;
      data?: Record<string, unknown> | null;
    },
  ): Promise<CaseRow> {
    if (!STARTERS.some((r) => principal.roles.includes(r)))
      throw forbidden(`Logging a dispute needs one of the roles: ${STARTERS.join(', ')}`);
    if (!input.customerId) throw badInput('customerId: required for DISPUTE', 'customerId');
    const customer = await this.ports.customer(input.customerId);
    if (!customer) throw notFound('Customer', input.customerId);
    const now = new Date();
    const ackDue = addBusinessDays(now, this.policy.acknowledgeWithinBusinessDays);
    const finalDue = addBusinessDays(now, this.policy.finalResponseWithinBusinessDays);
    const caseId = newId('case');
    return this.outbox.transaction(async (tx, emit) => {
      const row = await insertCase(tx, {
        id: caseId,
        kind: 'DISPUTE',
        status: 'OPEN',
        title: input.title,
        customer_id: customer.id,
        channel: input.channel ?? customer.preferredChannel,
        data: JSON.stringify({ receivedOn: now.toISOString().slice(0, 10), ...(input.data ?? {}) }),
        started_by: principal.sub,
        assigned_team: 'complaints',
        due_at: finalDue,
        subject: JSON.stringify({ interimCount: 0 }),
      });
      for (const [kind, due] of [
        ['ACKNOWLEDGEMENT', ackDue],
        ['FINAL_RESPONSE', finalDue],
      ] as const) {
        await tx
          .insertInto('workflow.case_deadlines')
          .values({ case_id: caseId, kind, due_at: due, met_at: null, alerted: null })
          .execute();
      }
      await insertTask(tx, {
        id: newId('task'),
        case_id: caseId,
        kind: 'INVESTIGATE',
        role: 'service-agent',
        team: 'complaints',
        status: 'OPEN',
        due_at: finalDue,
      });
      await audit(tx, caseId, principal.sub, 'CASE_STARTED', {
        kind: 'DISPUTE',
        acknowledgeBy: ackDue.toISOString(),
        finalResponseBy: finalDue.toISOString(),
      });
      await this.cases.processStarting(tx, {
        caseId,
        caseKind: 'DISPUTE',
        title: input.title,
        customerId: customer.id,
        templateId: null,
        requestedBy: principal.sub,
        stages: [],
      });
      await emit('CASE_UPDATED', { caseId });
      return row;
    });
  }

  /**
   * Sends a dispute letter. The acknowledgement and interim updates go out
   * at once; the final response waits for an approver's sign-off.
   */
  async sendLetter(
    principal: Principal,
    input: { caseId: string; letter: string; data?: Record<string, unknown> | null },
  ): Promise<CaseRow> {
    if (!(input.letter in DISPUTE_LETTERS))
      throw badInput('letter: ACKNOWLEDGEMENT, INTERIM_UPDATE or FINAL_RESPONSE', 'letter');
    const letter = input.letter as DisputeLetter;
    const data = input.data ?? {};
    if (typeof data !== 'object' || Array.isArray(data)) throw badInput('data: a JSON object', 'data');
    const version = await this.ports.approvedVersion(DISPUTE_LETTERS[letter]);
    if (!version || version === 'NO_TEMPLATE')
      throw approvalRequired(`The ${letter} letter template has no approved version`);
    const sent = await this.outbox.transaction(async (tx, emit) => {
      const c = await tx
        .selectFrom('workflow.cases')
        .selectAll()
        .where('id', '=', input.caseId)
        .forUpdate()
        .executeTakeFirst();
      if (!c) throw notFound('Case', input.caseId);
      if (c.kind !== 'DISPUTE')
        throw badInput(`caseId: case ${c.id} is a ${c.kind} case, not a DISPUTE`, 'caseId');
      if (c.status === 'RESOLVED' || c.status === 'CLOSED') throw conflict(`Dispute ${c.id} is ${c.status}`);
      const subject = (c.subject ?? {}) as { interimCount?: number; pendingFinal?: Record<string, unknown> };
      const acknowledged = await tx
        .selectFrom('workflow.case_deadlines')
        .select('met_at')
        .where('case_id', '=', c.id)
        .where('kind', '=', 'ACKNOWLEDGEMENT')
        .executeTakeFirst();
      switch (letter) {
        case 'ACKNOWLEDGEMENT':
          if (acknowledged?.met_at) throw conflict(`Dispute ${c.id} was acknowledged already`);
          break;
        case 'INTERIM_UPDATE':
        case 'FINAL_RESPONSE':
          if (!acknowledged?.met_at) throw conflict(`Acknowledge dispute ${c.id} first`);
          break;
      }
      if (c.status === 'AWAITING_APPROVAL')
        throw conflict(`The final response of dispute ${c.id} is awaiting approval`);
      // Approved, the final response is on its way out: another one would reopen an approval
      // that the letter already going out then resolves the case under.
      if (c.status === 'APPROVED' && letter === 'FINAL_RESPONSE')
        throw conflict(`The final response of dispute ${c.id} was approved and is being sent`);
      /** The case as this request leaves it: what the mutation answers. */
      const caseNow = () =>
        tx.selectFrom('workflow.cases').selectAll().where('id', '=', c.id).executeTakeFirstOrThrow();
      if (letter === 'FINAL_RESPONSE') {
        await this.submitFinal(tx, c, principal, data);
        await setStatus(tx, emit, c.id, 'AWAITING_APPROVAL', principal.sub, { letter });
        // Nothing to wait for: the letter goes out after an approver signs it off.
        return {
          row: await caseNow(),
          requested: null,
        };
      }
      let sequence: number | undefined;
      if (letter === 'INTERIM_UPDATE') {
        sequence = (subject.interimCount ?? 0) + 1;
        await tx
          .updateTable('workflow.cases')
          .set({ subject: JSON.stringify({ ...subject, interimCount: sequence }) })
          .where('id', '=', c.id)
          .execute();
      }
      const requested = await audit(tx, c.id, principal.sub, 'LETTER_REQUESTED', {
        letter,
        sequence: sequence ?? null,
      });
      if (c.status === 'OPEN') await setStatus(tx, emit, c.id, 'IN_PROGRESS', principal.sub, { letter });
      else await emit('CASE_UPDATED', { caseId: c.id });
      const cmd: DisputeLetterCommand = { caseId: c.id, letter, data, requestedBy: principal.sub, sequence };
      await this.commands.enqueue(tx, 'disputeLetter', { ...cmd });
      return {
        row: await caseNow(),
        requested: { auditId: requested, sequence: sequence ?? null },
      };
    });
    if (sent.requested) {
      // The letter is local and quick in embedded mode: answer once it is recorded (the
      // ACKNOWLEDGEMENT deadline MET, the letter in `documents`); see the mutation's description.
      const { auditId, sequence } = sent.requested;
      await this.cases.followUp(() =>
        this.db
          .selectFrom('workflow.audit_events')
          .select('id')
          .where('case_id', '=', sent.row.id)
          .where('id', '>', auditId)
          .where('action', 'in', ['LETTER_SENT', 'GENERATION_FAILED'])
          .where(sql<string>`detail->>'letter'`, '=', letter)
          .where(
            sql<string>`coalesce(detail->>'sequence', '')`,
            '=',
            sequence === null ? '' : String(sequence),
          )
          .executeTakeFirst(),
      );
    }
    // The case as this request left it; deadlines and documents are read when the answer is resolved.
    return sent.row;
  }

  /** The final response's single approval stage; a resubmission after a rejection reopens it. */
  private async submitFinal(
    tx: Parameters<Parameters<Outbox<WorkflowDB>['transaction']>[0]>[0],
    c: CaseRow,
    principal: Principal,
    data: Record<string, unknown>,
  ) {
    const subject = (c.subject ?? {}) as Record<string, unknown>;
    await tx
      .updateTable('workflow.cases')
      .set({ subject: JSON.stringify({ ...subject, pendingFinal: data }) })
      .where('id', '=', c.id)
      .execute();
    const existing = await tx
      .selectFrom('workflow.approvals')
      .selectAll()
      .where('case_id', '=', c.id)
      .executeTakeFirst();
    if (existing) {
      await tx
        .updateTable('workflow.approvals')
        .set({ decision: 'PENDING', decided_by: null, decided_at: null, comment: null })
        .where('id', '=', existing.id)
        .execute();
      await tx
        .updateTable('workflow.tasks')
        .set({ status: 'OPEN', completed_at: null, assignee: null })
        .where('approval_id', '=', existing.id)
        .execute();
    } else {
      const approvalId = newId('apr');
      await tx
        .insertInto('workflow.approvals')
        .values({
          id: approvalId,
          case_id: c.id,
          stage: 'APPROVAL',
          seq: 0,
          decision: 'PENDING',
          decided_by: null,
          decided_at: null,
          comment: null,
        })
        .execute();
      await insertTask(tx, {
        id: newId('task'),
        case_id: c.id,
        approval_id: approvalId,
        kind: 'APPROVAL',
        role: 'approver',
        team: 'approvals',
        status: 'OPEN',
        due_at: c.due_at,
      });
    }
    await audit(tx, c.id, principal.sub, 'FINAL_RESPONSE_SUBMITTED', { data });
  }

  /** Command handler: the letter's document, then the trail and the deadline it meets. */
  async runLetter(cmd: DisputeLetterCommand): Promise<void> {
    const c = await this.db
      .selectFrom('workflow.cases')
      .selectAll()
      .where('id', '=', cmd.caseId)
      .executeTakeFirstOrThrow();
    const version = await this.ports.approvedVersion(DISPUTE_LETTERS[cmd.letter]);
    if (!version || version === 'NO_TEMPLATE') throw new Error(`no approved ${cmd.letter} template`);
    const channel = version.channels.includes(c.channel ?? '') ? c.channel! : version.channels[0]!;
    const key = `dispute:${c.id}:${cmd.letter}${cmd.sequence ? `:${cmd.sequence}` : ''}`;
    const outcome = await this.ports.generateForCase({
      caseId: c.id,
      customerId: c.customer_id!,
      templateVersionId: version.templateVersionId,
      channel,
      data: { ...((c.data ?? {}) as Record<string, unknown>), ...cmd.data },
      requestedBy: cmd.requestedBy,
      idempotencyKey: key,
    });
    await this.outbox.transaction(async (tx, emit) => {
      // Locked before the check: two runs of one command (an expired lease) record the letter once.
      await lockCase(tx, c.id);
      const recorded = await tx
        .selectFrom('workflow.audit_events')
        .select('id')
        .where('case_id', '=', c.id)
        .where('action', 'in', ['LETTER_SENT', 'GENERATION_FAILED'])
        .where(sql<boolean>`detail->>'documentId' = ${outcome.documentId}`)
        .executeTakeFirst();
      if (recorded) return;
      const sent = outcome.status === 'GENERATED';
      await audit(tx, c.id, 'system', sent ? 'LETTER_SENT' : 'GENERATION_FAILED', {
        letter: cmd.letter,
        sequence: cmd.sequence ?? null,
        documentId: outcome.documentId,
      });
      if (sent && cmd.letter !== 'INTERIM_UPDATE') {
        await tx
          .updateTable('workflow.case_deadlines')
          .set({ met_at: new Date() })
          .where('case_id', '=', c.id)
          .where('kind', '=', cmd.letter)
          .where('met_at', 'is', null)
          .execute();
      }
      if (sent && cmd.letter === 'FINAL_RESPONSE') {
        await setStatus(
          tx,
          emit,
          c.id,
          'RESOLVED',
          'system',
          { documentId: outcome.documentId },
          { assigned_team: null },
        );
        await tx
          .updateTable('workflow.tasks')
          .set({ status: 'DONE', completed_at: new Date() })
          .where('case_id', '=', c.id)
          .where('status', '=', 'OPEN')
          .execute();
      } else {
        await emit('CASE_UPDATED', { caseId: c.id });
      }
    });
  }

  /** Raises each deadline's alerts once (src/datasources/workflow/deadlines.ts). */
  checkDeadlines(now = new Date()): Promise<number> {
    return checkDeadlines(this.db, this.outbox, this.policy, now);
  }
}

export { addBusinessDays, deadlineState } from './deadlines.js';
