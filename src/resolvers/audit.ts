import type { AuditEvent } from '../schema/shared/index.js';

/** One trail entry as clients see it, from a case's or a template's trail row. */
export const toAuditEvent = (r: {
  id: string;
  at: Date;
  actor: string;
  action: string;
  detail: unknown;
}): AuditEvent => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  detail: r.detail,
});
