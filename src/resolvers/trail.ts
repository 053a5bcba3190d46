import { badInput } from '../errors/index.js';
import type { TrailAnchor, TrailCheck } from '../store/trail.js';
import type { AuditTrailCheck, TrailAnchorInput, TrailBreak } from '../schema/shared/trail.js';

/** An anchor is a head a check reported: a position of at least 1 and a sha256 in hex. */
export function checkAnchor(anchor: TrailAnchorInput | null | undefined): TrailAnchor | null {
  if (!anchor) return null;
  if (anchor.entries < 1) throw badInput('anchor.entries: at least 1', 'anchor.entries');
  if (!/^[0-9a-fA-F]{64}$/.test(anchor.hash))
    throw badInput('anchor.hash: a headHash, 64 hexadecimal characters', 'anchor.hash');
  return { entries: anchor.entries, hash: anchor.hash };
}

/** A trail check as clients see it. */
export const toTrailCheck = (c: TrailCheck): AuditTrailCheck => ({
  ...c,
  // The same four names on both sides (store union, schema enum).
  reason: c.reason as TrailBreak | null,
});
