import type { Transaction } from 'kysely';
import { Outbox, type Emit } from '../../events/index.js';
import type { WorkflowDB } from '../../store/tables.js';

/**
 * The workflow outbox, with every case event stating the kind of its case.
 * A service client's subscription scope may name case kinds, and the check
 * runs per event on the subscriber's side without a store read; the kind is
 * read here, once, inside the transaction that changed the case.
 */
export class CaseOutbox extends Outbox<WorkflowDB> {
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
