import type { Transaction } from 'kysely';
import type { Kysely } from 'kysely';
import type { SubgraphName } from '../../config/index.js';
import { Outbox, type Emit, type EventBus } from '../../events/index.js';
import { eachEvent } from '../../events/snapshot.js';
import type { WorkflowDB } from '../../store/tables.js';
import { caseSnapshot } from './cases.js';

/**
 * The workflow outbox, with every case event stating the kind of its case
 * and carrying the case's snapshot.
 * A service client's subscription scope may name case kinds, and the check
 * runs per event on the subscriber's side without a store read; the kind is
 * read here, once, inside the transaction that changed the case.
 */
export class CaseOutbox extends Outbox<WorkflowDB> {
  constructor(db: Kysely<WorkflowDB>, source: SubgraphName, bus: EventBus) {
    // Each case event carries the case as it stands then (src/events/snapshot.ts).
    super(db, source, bus, eachEvent(caseSnapshot));
  }

  override transaction<T>(fn: (tx: Transaction<WorkflowDB>, emit: Emit) => Promise<T>): Promise<T> {
    return super.transaction((tx, emit) => {
      const withKind: Emit = async (topic, payload) => {
        if (typeof payload.caseId === 'string' && payload.caseKind === undefined) {
          const row = await tx
            .selectFrom('workflow.cases')
            .select('kind')
            .where('id', '=', payload.caseId)
            .executeTakeFirst();
          return emit(topic, { ...payload, caseKind: row?.kind ?? null });
        }
        return emit(topic, payload);
      };
      return fn(tx, withKind);
    });
  }
}
