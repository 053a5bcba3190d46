import type { Kysely } from 'kysely';
import type { CommunicationsDB } from '../../store/tables.js';
import {
  TRAIL_TIME,
  verifyTrail,
  type TrailAnchor,
  type TrailCheck,
  type TrailSpec,
} from '../../store/trail.js';

/** The template lifecycle trail (`Template.history`): one chain over every template's entries. */
export const TEMPLATE_TRAIL: TrailSpec = {
  table: 'communications.template_audit',
  content: `e.id, e.template_id, e.version_id, to_char(e.at at time zone 'UTC', ${TRAIL_TIME}), e.actor, e.action, e.detail::text`,
};

export class TemplateTrail {
  constructor(private readonly db: Kysely<CommunicationsDB>) {}

  verify(anchor?: TrailAnchor | null): Promise<TrailCheck> {
    return verifyTrail(this.db as Kysely<unknown>, TEMPLATE_TRAIL, anchor);
  }
}
