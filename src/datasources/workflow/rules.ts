import { badInput, conflict, forbidden } from '../../errors/index.js';
import type { Principal, Role } from '../../identity/index.js';
import { checkFourEyes } from '../../policy/four-eyes.js';
import type { ApprovalRow, CaseRow } from '../../store/tables.js';
import type { ExceptionRoute } from './deps.js';

/**
 * The rules of cases that do not touch the store: stages and who decides
 * them, who may open which kind, where exceptions go, what a notice targets.
 */
export const STAGES = ['REVIEW', 'APPROVAL', 'COMPLIANCE'] as const;
export type Stage = (typeof STAGES)[number];

/** The role that decides each stage; admin is deliberately absent (four-eyes has no override). */
export const STAGE_ROLE: Record<Stage, Role> = {
  REVIEW: 'reviewer',
  APPROVAL: 'approver',
  COMPLIANCE: 'compliance',
};
export const STAGE_TEAM: Record<Stage, string> = {
  REVIEW: 'review',
  APPROVAL: 'approvals',
  COMPLIANCE: 'compliance',
};
/** Working time a stage may take before its task is overdue. */
export const STAGE_SLA_MS = 2 * 24 * 3600_000;
export const EXCEPTION_SLA_MS = 24 * 3600_000;
export const TITLE_MAX = 200;

export const DEFAULT_CORRESPONDENCE_STAGES: Record<string, readonly Stage[]> = {
  claim_letter: ['APPROVAL'],
  account_confirmation: ['APPROVAL'],
  regulatory_notice: ['REVIEW', 'APPROVAL', 'COMPLIANCE'],
};

export const MILESTONES = [
  'CLAIM_INTAKE',
  'UNDERWRITING_REVIEW',
  'SERVICE_ESCALATION',
  'PAYMENT_CONFIRMATION',
] as const;

/** Who may open which kind of case (the mutation's roles are the union). */
export const KIND_STARTERS: Partial<Record<string, Role[]>> = {
  REGULATED_DOCUMENT: ['requester', 'compliance', 'admin'],
  CORRESPONDENCE: ['service-agent'],
  SERVICE: ['service-agent', 'requester'],
  MANDATORY_NOTICE: ['compliance', 'admin'],
};

/** The document types a mandatory notice can be. */
export const NOTICE_TYPES = new Set(['rate_change_notice', 'privacy_disclosure', 'regulatory_notice']);

/** Statuses after which a case takes no more work. */
export const TERMINAL = new Set(['REJECTED', 'RESOLVED', 'CLOSED']);

/** Kinds whose sign-off generates the case's document. */
export const GENERATING_KINDS = new Set(['REGULATED_DOCUMENT', 'CORRESPONDENCE']);

export type ApprovalState = 'APPROVED' | 'PENDING' | 'REJECTED' | 'NO_APPROVALS';

/** A reissue case's title (the demo seeder finds its own reissue by it). */
export function reissueTitle(documentId: string): string {
  return `Reissue of document ${documentId}`;
}

/**
 * Whether `principal` may decide `target`, one of case `c`'s approvals `all`
 * (read under the case's lock): the stage's role, a stage still pending on a
 * case awaiting approval, earlier stages approved, and four-eyes. Throws the
 * refusal; returns nothing when the decision may go ahead.
 */
export function checkApprovalDecision(
  principal: Principal,
  c: CaseRow,
  all: readonly ApprovalRow[],
  target: ApprovalRow,
): void {
  const stage = target.stage as Stage;
  if (!principal.roles.includes(STAGE_ROLE[stage])) {
    throw forbidden(`Deciding the ${stage} stage needs the ${STAGE_ROLE[stage]} role`);
  }
  if (target.decision !== 'PENDING') throw conflict(`The ${stage} stage was already decided`);
  if (c.status !== 'AWAITING_APPROVAL') throw conflict(`Case ${c.id} is ${c.status}, not awaiting approval`);
  const earlier = all.filter((a) => a.seq < target.seq && a.decision !== 'APPROVED');
  if (earlier.length) throw conflict(`Stage ${earlier[0]!.stage} must be approved before ${stage}`);
  checkFourEyes(
    principal.sub,
    { initiator: c.started_by, deciders: all.map((a) => a.decided_by) },
    {
      INITIATOR_DECIDES: 'the person who started a case cannot decide its approvals',
      DECIDES_TWICE: 'one person decides at most one stage of a case',
    },
  );
}

/** Whether `principal` may authorise (or refuse) reissue case `c`. */
export function checkReissueAuthorisation(principal: Principal, c: CaseRow): void {
  if (c.kind !== 'REISSUE')
    throw badInput(`caseId: case ${c.id} is a ${c.kind} case, not a REISSUE`, 'caseId');
  if (c.status !== 'OPEN') throw conflict(`Reissue case ${c.id} is already ${c.status}`);
  checkFourEyes(
    principal.sub,
    { initiator: c.started_by },
    {
      INITIATOR_DECIDES: 'the person who asked for a reissue cannot authorise it',
      DECIDES_TWICE: 'the person who asked for a reissue cannot authorise it',
    },
  );
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

export function humanKind(kind: string): string {
  switch (kind) {
    case 'MISSING_DATA':
      return 'Missing data';
    case 'TEMPLATE_ERROR':
      return 'Template error';
    case 'DELIVERY_FAILURE':
      return 'Delivery failure';
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
