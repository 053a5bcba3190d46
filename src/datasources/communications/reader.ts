import DataLoader from 'dataloader';
import { sql, type Kysely } from 'kysely';
import type {
  CommunicationsDB,
  DeliveryRow,
  DocumentRow,
  ExceptionRow,
  NoticeBatchRow,
  TemplateApprovalRow,
  TemplateAuditRow,
  TemplateRow,
  TemplateVersionRow,
} from '../../store/tables.js';
import { primeLoaders, upToMark, type EventSnapshot } from '../../events/snapshot.js';
import { groupBy, loadFirstPages } from '../batching.js';
import type { BatchProgress } from './batches.js';
import { decodeCursor, firstPagesByOwner, pageSize, toPage, type Page } from '../pagination.js';

/** Reads of the communications store, each batched by key for DataLoader. */
export class CommunicationsReader {
  constructor(private readonly db: Kysely<CommunicationsDB>) {}

  private async byIds<T extends { id: string }>(
    table:
      | 'communications.templates'
      | 'communications.template_versions'
      | 'communications.documents'
      | 'communications.deliveries'
      | 'communications.exceptions',
    ids: readonly string[],
  ): Promise<(T | null)[]> {
    if (!ids.length) return [];
    const rows = (await this.db
      .selectFrom(table)
      .selectAll()
      .where('id', 'in', [...ids])
      .execute()) as unknown as T[];
    const map = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => map.get(id) ?? null);
  }

  templates = (ids: readonly string[]) => this.byIds<TemplateRow>('communications.templates', ids);
  versions = (ids: readonly string[]) =>
    this.byIds<TemplateVersionRow>('communications.template_versions', ids);
  documents = (ids: readonly string[]) => this.byIds<DocumentRow>('communications.documents', ids);

  /**
   * Documents as an event's snapshot keeps them: every column but the archived render snapshot
   * (no GraphQL field reads it, and it is a document's largest column after its parts), read
   * as `{}`. A delivery pass's events read a few dozen documents: parsing their render data
   * only to drop it cost about a millisecond a document on the embedded store.
   */
  async documentsForEvents(ids: readonly string[]): Promise<(DocumentRow | null)[]> {
    if (!ids.length) return [];
    const rows = await this.db
      .selectFrom('communications.documents')
      .select([
        'id',
        'status',
        'channel',
        'customer_id',
        'case_id',
        'template_version_id',
        sql<DocumentRow['snapshot']>`'{}'::jsonb`.as('snapshot'),
        'content_hash',
        'media_type',
        'reissue_of',
        'batch_id',
        'idempotency_key',
        'idempotency_scope',
        'request_hash',
        'output_note',
        'requested_by',
        'created_at',
        'updated_at',
      ])
      .where('id', 'in', [...ids])
      .execute();
    const map = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => map.get(id) ?? null);
  }
  deliveries = (ids: readonly string[]) => this.byIds<DeliveryRow>('communications.deliveries', ids);
  exceptions = (ids: readonly string[]) => this.byIds<ExceptionRow>('communications.exceptions', ids);

  async allTemplates(): Promise<TemplateRow[]> {
    return this.db.selectFrom('communications.templates').selectAll().orderBy('name').execute();
  }

  async versionsByTemplate(templateIds: readonly string[]): Promise<TemplateVersionRow[][]> {
    const rows = templateIds.length
      ? await this.db
          .selectFrom('communications.template_versions')
          .selectAll()
          .where('template_id', 'in', [...templateIds])
          .orderBy('version')
          .execute()
      : [];
    return groupBy(templateIds, rows, (r) => r.template_id);
  }

  /** The approvals of each version's current review round. */
  async currentApprovalsByVersion(versionIds: readonly string[]): Promise<TemplateApprovalRow[][]> {
    const rows = versionIds.length
      ? await this.db
          .selectFrom('communications.template_approvals as a')
          .innerJoin('communications.template_versions as v', 'v.id', 'a.version_id')
          .selectAll('a')
          .where('a.version_id', 'in', [...versionIds])
          .whereRef('a.round', '=', 'v.review_round')
          .orderBy('a.seq')
          .execute()
      : [];
    return groupBy(versionIds, rows, (r) => r.version_id);
  }

  async templateHistory(templateIds: readonly string[]): Promise<TemplateAuditRow[][]> {
    const rows = templateIds.length
      ? await this.db
          .selectFrom('communications.template_audit')
          .selectAll()
          .where('template_id', 'in', [...templateIds])
          .orderBy('id')
          .execute()
      : [];
    return groupBy(templateIds, rows, (r) => r.template_id);
  }

  async batchesByIds(ids: readonly string[]): Promise<(NoticeBatchRow | null)[]> {
    const rows = ids.length
      ? await this.db
          .selectFrom('communications.notice_batches')
          .selectAll()
          .where('id', 'in', [...ids])
          .execute()
      : [];
    const map = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => map.get(id) ?? null);
  }

  async batchesByCase(caseIds: readonly string[]): Promise<(NoticeBatchRow | null)[]> {
    const rows = caseIds.length
      ? await this.db
          .selectFrom('communications.notice_batches')
          .selectAll()
          .where('case_id', 'in', [...caseIds])
          .execute()
      : [];
    const map = new Map(rows.map((r) => [r.case_id, r]));
    return caseIds.map((id) => map.get(id) ?? null);
  }

  async openExceptionsOfBatch(batchId: string): Promise<ExceptionRow[]> {
    return this.db
      .selectFrom('communications.exceptions as e')
      .innerJoin('communications.documents as d', 'd.id', 'e.document_id')
      .selectAll('e')
      .where('d.batch_id', '=', batchId)
      .where('e.status', '=', 'OPEN')
      .orderBy('e.created_at')
      .orderBy('e.id')
      .execute();
  }

  async documentsByCase(caseIds: readonly string[]): Promise<DocumentRow[][]> {
    const rows = caseIds.length
      ? await this.db
          .selectFrom('communications.documents')
          .selectAll()
          .where('case_id', 'in', [...caseIds])
          .orderBy('created_at')
          .orderBy('id')
          .execute()
      : [];
    return groupBy(caseIds, rows, (r) => r.case_id ?? '');
  }

  async deliveriesByDocument(documentIds: readonly string[]): Promise<DeliveryRow[][]> {
    const rows = documentIds.length
      ? await this.db
          .selectFrom('communications.deliveries')
          .selectAll()
          .where('document_id', 'in', [...documentIds])
          .orderBy('created_at')
          .orderBy('id')
          .execute()
      : [];
    return groupBy(documentIds, rows, (r) => r.document_id);
  }

  async exceptionsByDocument(documentIds: readonly string[]): Promise<ExceptionRow[][]> {
    const rows = documentIds.length
      ? await this.db
          .selectFrom('communications.exceptions')
          .selectAll()
          .where('document_id', 'in', [...documentIds])
          .orderBy('created_at')
          .orderBy('id')
          .execute()
      : [];
    return groupBy(documentIds, rows, (r) => r.document_id ?? '');
  }

  /** A case's exceptions: those of its documents, and the one an exception case works. */
  async exceptionsByCase(caseIds: readonly string[]): Promise<ExceptionRow[][]> {
    if (!caseIds.length) return [];
    const ids = [...caseIds];
    const rows = await this.db
      .selectFrom('communications.exceptions as e')
      .leftJoin('communications.documents as d', 'd.id', 'e.document_id')
      .selectAll('e')
      .select('d.case_id as document_case_id')
      .where((eb) => eb.or([eb('e.case_id', 'in', ids), eb('d.case_id', 'in', ids)]))
      .orderBy('e.created_at')
      .orderBy('e.id')
      .execute();
    const map = new Map<string, ExceptionRow[]>(ids.map((id) => [id, []]));
    for (const { document_case_id, ...row } of rows) {
      // An exception belongs both to its exception case and to its document's case.
      for (const owner of new Set([row.case_id, document_case_id])) {
        if (owner) map.get(owner)?.push(row);
      }
    }
    return ids.map((id) => map.get(id) ?? []);
  }

  async documentsOfCustomer(args: {
    customerId: string;
    first?: number | null;
    after?: string | null;
  }): Promise<Page<DocumentRow>> {
    const size = pageSize(args.first);
    const cursor = decodeCursor(args.after);
    const q = this.db.selectFrom('communications.documents').where('customer_id', '=', args.customerId);
    const { count } = await q.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    let pq = q.selectAll();
    if (cursor) {
      pq = pq.where((eb) =>
        eb.or([
          eb('created_at', '<', new Date(cursor.at)),
          eb.and([eb('created_at', '=', new Date(cursor.at)), eb('id', '<', cursor.id)]),
        ]),
      );
    }
    const rows = await pq
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(size + 1)
      .execute();
    return toPage(rows, size, Number(count));
  }

  firstDocumentPageByCustomer(customerIds: readonly string[], size: number): Promise<Page<DocumentRow>[]> {
    return firstPagesByOwner<DocumentRow>(
      this.db as Kysely<unknown>,
      'communications.documents',
      'customer_id',
      customerIds,
      size,
    );
  }

  async parts(documentId: string) {
    return this.db
      .selectFrom('communications.document_parts')
      .selectAll()
      .where('document_id', '=', documentId)
      .orderBy('name')
      .execute();
  }
}

/**
 * The loaders of one request, or of one subscription event: given the
 * event's snapshot they answer from it first (src/events/snapshot.ts).
 */
export function communicationsLoaders(
  reader: CommunicationsReader,
  batches: { progress(id: string): Promise<BatchProgress> },
  snapshot: EventSnapshot | null = null,
) {
  const loaders = {
    template: new DataLoader<string, TemplateRow | null>((ids) => reader.templates(ids)),
    version: new DataLoader<string, TemplateVersionRow | null>((ids) => reader.versions(ids)),
    versionsByTemplate: new DataLoader<string, TemplateVersionRow[]>((ids) => reader.versionsByTemplate(ids)),
    approvalsByVersion: new DataLoader<string, TemplateApprovalRow[]>((ids) =>
      reader.currentApprovalsByVersion(ids),
    ),
    historyByTemplate: new DataLoader<string, TemplateAuditRow[]>(async (ids) =>
      (await reader.templateHistory(ids)).map((rows, i) =>
        upToMark(snapshot, 'historyByTemplate', ids[i]!, rows),
      ),
    ),
    document: new DataLoader<string, DocumentRow | null>((ids) => reader.documents(ids)),
    delivery: new DataLoader<string, DeliveryRow | null>((ids) => reader.deliveries(ids)),
    exception: new DataLoader<string, ExceptionRow | null>((ids) => reader.exceptions(ids)),
    documentsByCase: new DataLoader<string, DocumentRow[]>((ids) => reader.documentsByCase(ids)),
    deliveriesByDocument: new DataLoader<string, DeliveryRow[]>((ids) => reader.deliveriesByDocument(ids)),
    exceptionsByDocument: new DataLoader<string, ExceptionRow[]>((ids) => reader.exceptionsByDocument(ids)),
    exceptionsByCase: new DataLoader<string, ExceptionRow[]>((ids) => reader.exceptionsByCase(ids)),
    batch: new DataLoader<string, NoticeBatchRow | null>((ids) => reader.batchesByIds(ids)),
    batchByCase: new DataLoader<string, NoticeBatchRow | null>((ids) => reader.batchesByCase(ids)),
    /** Progress counts are one aggregate per batch; a page shows few batches. */
    batchProgress: new DataLoader<string, BatchProgress>((ids) =>
      Promise.all(ids.map((id) => batches.progress(id))),
    ),
    openExceptionsByBatch: new DataLoader<string, ExceptionRow[]>((ids) =>
      Promise.all(ids.map((id) => reader.openExceptionsOfBatch(id))),
    ),
    /** Keyed by `${customerId}:${first}`: first pages batch across customers. */
    documentsByCustomer: new DataLoader<string, Page<DocumentRow>>((keys) =>
      loadFirstPages(keys, (ids, size) => reader.firstDocumentPageByCustomer(ids, size)),
    ),
  };
  primeLoaders(loaders, snapshot);
  return loaders;
}
export type CommunicationsLoaders = ReturnType<typeof communicationsLoaders>;
