import type { Kysely } from 'kysely';
import type { WorkflowDB } from '../../store/tables.js';
import {
  TRAIL_TIME,
  verifyTrail,
  type TrailAnchor,
  type TrailCheck,
  type TrailSpec,
} from '../../store/trail.js';

/** The case trail (`Case.history`): one chain over every case's entries. */
export const CASE_TRAIL: TrailSpec = {
  table: 'workflow.audit_events',
  content: `e.id, e.case_id, to_char(e.at at time zone 'UTC', ${TRAIL_TIME}), e.actor, e.action, e.detail::text`,
};

export class CaseTrail {
  constructor(private readonly db: Kysely<WorkflowDB>) {}

  verify(anchor?: TrailAnchor | null): Promise<TrailCheck> {
    return verifyTrail(this.db as Kysely<unknown>, CASE_TRAIL, anchor);
  }
}
