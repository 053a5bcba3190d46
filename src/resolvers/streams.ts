import type { SubgraphName } from '../config/index.js';
import type { BaseContext } from '../context/index.js';
import { unauthenticated } from '../errors/index.js';
import { pushIterator, type BusEvent, type EventBus, type Topic } from '../events/index.js';

export function requirePrincipal(ctx: BaseContext): void {
  if (!ctx.principal) throw unauthenticated();
}

/** A subscription's source: the bus topic, filtered by the subscriber's arguments. */
export function streamOf(
  bus: EventBus,
  source: SubgraphName,
  topic: Topic,
  keep: (e: BusEvent) => boolean,
): AsyncIterableIterator<BusEvent> {
  return pushIterator<BusEvent>((push) =>
    bus.listen(source, topic, (e) => {
      if (keep(e)) push(e);
    }),
  );
}
