import type { SubgraphName } from '../config/index.js';
import type { BaseContext } from '../context/index.js';
import { GraphQLID } from 'graphql';
import { badInput, forbidden, unauthenticated } from '../errors/index.js';
import type { BusEvent, EventBus, Topic } from '../events/index.js';
import type { EventLog } from '../events/log.js';
import { indexOf, streamOf } from './streams.js';
import { checkArgument } from '../schema/shared/validation.js';
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
  heldJobUpdated: (): EventFacts => ({}),
} satisfies Record<Stream, (e: BusEvent) => EventFacts>;

/** Where a stream's events come from: its subgraph's bus and events table. */
export interface StreamSource {
  bus: EventBus;
  log: EventLog;
  source: SubgraphName;
}

/** Event ids are PostgreSQL bigints: no eventId this API gives out is larger. */
const MAX_EVENT_ID = 2n ** 63n - 1n;

/** A resume cursor: an eventId this API gave out (digits, within bigint range). */
export function checkAfter(after: unknown): string | null {
  if (after == null) return null;
  if (typeof after !== 'string' || !/^\d{1,19}$/.test(after) || BigInt(after) > MAX_EVENT_ID)
    throw badInput(`after: an eventId this API gave out (digits, at most ${MAX_EVENT_ID})`, 'after');
  return after;
}

/**
 * The arguments of a subscription field, checked before anything reads the
 * store: type-graphql's argument validation runs for resolvers, not for the
 * `subscribe` functions, so every stream is checked here, in one place.
 * Filters are ids (or enum values, which fit the id format and are already
 * coerced by GraphQL); `after` is an eventId.
 */
function checkStreamArgs(args: Record<string, unknown>, filters: readonly string[]): string | null {
  for (const f of filters) checkArgument(f, GraphQLID, args[f]);
  return checkAfter(args.after);
}

/**
 * The source of a subscription field: the caller must be allowed to open the
 * stream; then each event of `topic` goes to it if every filter argument
 * given equals the payload field of the same name (`filters`, most selective
 * first, the first given one indexing the relay), and the policy allows it
 * for this subscriber. `after` resumes from the events table.
 */
export function subscriptionSource(
  ctx: BaseContext,
  from: StreamSource,
  stream: Stream,
  topic: Topic,
  args: Record<string, unknown>,
  filters: readonly string[],
): AsyncIterableIterator<BusEvent> {
  openStream(ctx, stream);
  const after = checkStreamArgs(args, filters);
  const wanted = filters.flatMap((f) =>
    typeof args[f] === 'string' && args[f] ? [[f, args[f]] as const] : [],
  );
  return streamOf(
    from.bus,
    from.source,
    topic,
    allowedEvents(ctx, stream, FACTS[stream], (e) => wanted.every(([f, v]) => e.payload[f] === v)),
    { log: from.log, after },
    indexOf(args, filters),
  );
}
