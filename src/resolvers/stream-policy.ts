import type { BaseContext } from '../context/index.js';
import { forbidden, unauthenticated } from '../errors/index.js';
import type { BusEvent } from '../events/index.js';
import { eventAllowed, mayOpenStream, type EventFacts, type Stream } from '../policy/index.js';

/** Refuses a subscription its caller may not open at all (role, or a service client's scope). */
export function openStream(ctx: BaseContext, stream: Stream): void {
  if (!ctx.principal) throw unauthenticated();
  if (!mayOpenStream(ctx.principal, stream)) throw forbidden(`Not allowed to subscribe to ${stream}`);
}

/**
 * The per-event filter of a stream: the subscriber's own arguments, then the
 * policy, asked again for every event with what the event says about its data.
 */
export function allowedEvents(
  ctx: BaseContext,
  stream: Stream,
  facts: (e: BusEvent) => EventFacts,
  matches: (e: BusEvent) => boolean,
): (e: BusEvent) => boolean {
  return (e) => matches(e) && eventAllowed(ctx.principal, stream, facts(e));
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** What each stream's events say about their data. */
export const FACTS = {
  caseUpdated: (e: BusEvent): EventFacts => ({ caseKind: text(e.payload.caseKind) }),
  deadlineAlerted: (e: BusEvent): EventFacts => ({ caseKind: text(e.payload.caseKind) ?? 'DISPUTE' }),
  deliveryStatusChanged: (e: BusEvent): EventFacts => ({
    channel: text((e.payload.delivery as { channel?: unknown } | undefined)?.channel),
  }),
  generationExceptionRaised: (e: BusEvent): EventFacts => ({
    exceptionKind: text(e.payload.kind),
    channel: text(e.payload.channel),
  }),
  noticeBatchProgress: (): EventFacts => ({ caseKind: 'MANDATORY_NOTICE' }),
  templateUpdated: (): EventFacts => ({}),
} satisfies Record<Stream, (e: BusEvent) => EventFacts>;
