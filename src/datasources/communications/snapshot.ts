import type { Transaction } from 'kysely';
import type { Topic } from '../../events/index.js';
import type { EventSnapshot } from '../../events/snapshot.js';
import type { CommunicationsDB, NoticeBatchRow } from '../../store/tables.js';
import { batchProgress } from './batches.js';
import { CommunicationsReader } from './reader.js';

/**
 * What a subscriber resolves a communications event from (src/events/snapshot.ts):
 * the entity the event is about as this transaction leaves it, with its own
 * lists, in the loaders' terms. An entity it only refers to (a document's
 * template version, an exception's retry document) is read when the event
 * is delivered.
 *
 * - BATCH_PROGRESS: the batch, its counts and its open exceptions.
 * - DELIVERY_STATUS: the delivery's document, with its deliveries and exceptions.
 * - EXCEPTION_RAISED: the exception, its document and its delivery.
 * - TEMPLATE_UPDATED: the template, its versions with their current review, and how far its trail reached.
 */
export async function communicationsSnapshots(
  tx: Transaction<CommunicationsDB>,
  events: readonly { topic: Topic; payload: Readonly<Record<string, unknown>> }[],
): Promise<(EventSnapshot | null)[]> {
  // The documents of a transaction's DELIVERY_STATUS events (a set of a batch's records,
  // written at once) read together: three reads for the set, not three for each event.
  const documentIds = [
    ...new Set(
      events.flatMap((e) =>
        e.topic === 'DELIVERY_STATUS' && typeof e.payload.documentId === 'string'
          ? [e.payload.documentId]
          : [],
      ),
    ),
  ];
  const documents = await documentSnapshots(new CommunicationsReader(tx), documentIds);
  const snapshots: (EventSnapshot | null)[] = [];
  for (const e of events) {
    snapshots.push(
      e.topic === 'DELIVERY_STATUS'
        ? (documents.get(e.payload.documentId as string) ?? null)
        : await communicationsSnapshot(tx, e.topic, e.payload),
    );
  }
  return snapshots;
}

async function communicationsSnapshot(
  tx: Transaction<CommunicationsDB>,
  topic: Topic,
  payload: Readonly<Record<string, unknown>>,
): Promise<EventSnapshot | null> {
  const reader = new CommunicationsReader(tx);
  const id = (field: string) => (typeof payload[field] === 'string' ? (payload[field] as string) : null);
  switch (topic) {
    case 'BATCH_PROGRESS': {
      const batchId = id('batchId');
      const [batch] = batchId ? await reader.batchesByIds([batchId]) : [];
      if (!batchId || !batch) return null;
      return {
        loaded: {
          batch: { [batchId]: stripBatch(batch) },
          batchProgress: { [batchId]: await batchProgress(tx, batchId) },
          openExceptionsByBatch: { [batchId]: await reader.openExceptionsOfBatch(batchId) },
        },
      };
    }
    case 'DELIVERY_STATUS': {
      const documentId = id('documentId');
      return documentId ? documentSnapshot(reader, documentId) : null;
    }
    case 'EXCEPTION_RAISED': {
      const exceptionId = id('exceptionId');
      const [exception] = exceptionId ? await reader.exceptions([exceptionId]) : [];
      if (!exceptionId || !exception) return null;
      const withDocument = exception.document_id
        ? await documentSnapshot(reader, exception.document_id)
        : null;
      return {
        loaded: { ...withDocument?.loaded, exception: { [exceptionId]: exception } },
      };
    }
    case 'TEMPLATE_UPDATED': {
      const templateId = id('templateId');
      const [template] = templateId ? await reader.templates([templateId]) : [];
      if (!templateId || !template) return null;
      const [versions] = await reader.versionsByTemplate([templateId]);
      const ids = versions!.map((v) => v.id);
      const approvals = await reader.currentApprovalsByVersion(ids);
      const trail = await tx
        .selectFrom('communications.template_audit')
        .select((eb) => eb.fn.max('id').as('newest'))
        .where('template_id', '=', templateId)
        .executeTakeFirst();
      return {
        loaded: {
          template: { [templateId]: template },
          versionsByTemplate: { [templateId]: versions },
          version: Object.fromEntries(versions!.map((v) => [v.id, v])),
          approvalsByVersion: Object.fromEntries(ids.map((v, i) => [v, approvals[i]])),
        },
        upTo: { historyByTemplate: { [templateId]: String(trail?.newest ?? '0') } },
      };
    }
    case 'HELD_JOB_UPDATED':
      // The payload carries the held job as it was (src/datasources/communications/runtime-jobs.ts).
      return null;
    case 'DOCUMENT_STATUS':
    case 'CASE_UPDATED':
    case 'CUSTOMER_UPDATED':
    case 'DEADLINE_ALERT':
      // No subscription field resolves these from communications.
      return null;
  }
}

async function documentSnapshot(
  reader: CommunicationsReader,
  documentId: string,
): Promise<EventSnapshot | null> {
  return (await documentSnapshots(reader, [documentId])).get(documentId) ?? null;
}

/** Each document's snapshot (absent: no such document), its deliveries and exceptions read for all at once. */
async function documentSnapshots(
  reader: CommunicationsReader,
  documentIds: readonly string[],
): Promise<Map<string, EventSnapshot>> {
  const snapshots = new Map<string, EventSnapshot>();
  if (!documentIds.length) return snapshots;
  const documents = (await reader.documentsForEvents(documentIds)).filter((d) => d !== null);
  if (!documents.length) return snapshots;
  const found = documents.map((d) => d.id);
  const deliveriesOf = await reader.deliveriesByDocument(found);
  const exceptionsOf = await reader.exceptionsByDocument(found);
  documents.forEach((document, i) => {
    const documentId = document.id;
    const deliveries = deliveriesOf[i]!;
    const exceptions = exceptionsOf[i]!;
    snapshots.set(documentId, {
      loaded: {
        // Read without its render snapshot (`documentsForEvents`): not copied into events.
        document: { [documentId]: document },
        deliveriesByDocument: { [documentId]: deliveries },
        delivery: Object.fromEntries(deliveries.map((d) => [d.id, d])),
        exceptionsByDocument: { [documentId]: exceptions },
        exception: Object.fromEntries(exceptions.map((e) => [e.id, e])),
      },
    });
  });
  return snapshots;
}

// Columns no GraphQL field reads, which can be large and hold the customer's data
// (the notice's data; a document's render snapshot is not even read): not copied into events.
const stripBatch = (b: NoticeBatchRow): NoticeBatchRow => ({ ...b, data: {} });
