import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { CommandRelay } from '../../events/commands.js';
import type { Emit, Outbox } from '../../events/index.js';
import { badInput, notFound } from '../../errors/index.js';
import type { JobQueue, NoticeRecordJob } from '../../jobs/index.js';
import type { CommunicationsDB, NoticeBatchRow } from '../../store/tables.js';
import type { CommunicationsPorts } from './ports.js';
import type { CommunicationsService } from './service.js';
import { metrics } from '../../telemetry/metrics.js';
import { inSpan } from '../../telemetry/tracing.js';

/**
 * Mandatory notices to customer segments: one batch per signed-off case,
 * one job per customer and channel. Each record is generated with an
 * idempotency key of its own, so a retried or duplicated job finds the
 * document it already made, and a failing record (missing data, no address)
 * becomes a FAILED document or delivery with its exception without
 * stopping the others.
 */
export interface LaunchNotice {
  caseId: string;
  templateVersionId: string;
  segments: string[];
  channels: string[];
  data: Record<string, unknown>;
  requestedBy: string;
}

export interface BatchProgress {
  total: number;
  generated: number;
  failed: number;
  delivered: number;
  deliveryFailed: number;
  byChannel: { channel: string; documentStatus: string; deliveryStatus: string | null; count: number }[];
}

const PROGRESS_EVERY_MS = 500;
const RECORD_INPUTS_KEPT = 16;

type RecordInputs = Pick<NoticeBatchRow, 'id' | 'case_id' | 'template_version_id' | 'data' | 'requested_by'>;

export class NoticeBatches {
  private readonly lastProgress = new Map<string, number>();
  private readonly recordInputs = new Map<string, RecordInputs>();

  constructor(
    private readonly db: Kysely<CommunicationsDB>,
    private readonly outbox: Outbox<CommunicationsDB>,
    private readonly commands: CommandRelay,
    private readonly service: CommunicationsService,
    private readonly ports: CommunicationsPorts,
    private readonly queue: () => JobQueue | null,
  ) {}

  /** Idempotent per case: a retried launch finds its batch and re-enqueues only if enqueueing never finished. */
  async launch(cmd: LaunchNotice): Promise<{ batchId: string; total: number }> {
    if (!cmd.segments.length) throw badInput('segments: at least one', 'segments');
    const queue = this.queue();
    if (!queue) throw new Error('no job queue: batch generation needs the pg-boss queue');
    let batch = await this.db
      .selectFrom('communications.notice_batches')
      .selectAll()
      .where('case_id', '=', cmd.caseId)
      .executeTakeFirst();
    const customerIds = await this.ports.customersInSegments(cmd.segments);
    if (!batch) {
      const id = `batch_${randomUUID()}`;
      batch = await this.outbox.transaction(async (tx, emit) => {
        const row = await tx
          .insertInto('communications.notice_batches')
          .values({
            id,
            case_id: cmd.caseId,
            template_version_id: cmd.templateVersionId,
            segments: cmd.segments,
            channels: cmd.channels,
            data: JSON.stringify(cmd.data),
            requested_by: cmd.requestedBy,
            status: customerIds.length ? 'RUNNING' : 'COMPLETED',
            total: customerIds.length * cmd.channels.length,
            enqueued_at: null,
            finished_at: customerIds.length ? null : new Date(),
          })
          .onConflict((oc) => oc.column('case_id').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (row) await emit('BATCH_PROGRESS', { batchId: row.id, caseId: row.case_id });
        return (
          row ??
          (await tx
            .selectFrom('communications.notice_batches')
            .selectAll()
            .where('case_id', '=', cmd.caseId)
            .executeTakeFirstOrThrow())
        );
      });
    }
    if (!batch.enqueued_at) {
      const records: NoticeRecordJob[] = customerIds.flatMap((customerId) =>
        batch!.channels.map((channel) => ({ batchId: batch!.id, customerId, channel })),
      );
      await queue.enqueueNoticeRecords(records);
      await this.db
        .updateTable('communications.notice_batches')
        .set({ enqueued_at: new Date() })
        .where('id', '=', batch.id)
        .execute();
      if (!records.length) await this.complete(batch);
    }
    return { batchId: batch.id, total: batch.total };
  }

  /** One customer on one channel: a set of one (see `processRecords`). */
  async processRecord(job: NoticeRecordJob): Promise<void> {
    return this.processRecords([job]);
  }

  /**
   * A worker's set of records (each one customer on one channel), generated as a set: per
   * batch, the records' lookups made once, their renders side by side on the render pool,
   * and their documents written in one transaction (`CommunicationsService.generateBatchRecords`),
   * then the batch's progress looked at once. A record that cannot be attempted (the
   * customer was removed, a channel the template lost) is recorded as a FAILED document
   * with its exception, as before, and the set goes on; one that failed unexpectedly is
   * thrown after the others are written, so the queue retries the set and finds those done
   * (idempotency keys). Starts on a turn of the event loop of its own (issue 9, point 8).
   */
  async processRecords(jobs: NoticeRecordJob[]): Promise<void> {
    // A job from the queue starts no HTTP request, so no instrumentation gives it a span: this does.
    return inSpan(
      'batch records',
      { 'commsgraph.batch_id': jobs[0]?.batchId ?? '', 'commsgraph.records': String(jobs.length) },
      () => this.processRecordsTraced(jobs),
    );
  }

  private async processRecordsTraced(jobs: NoticeRecordJob[]): Promise<void> {
    await nextTurn();
    const byBatch = new Map<string, NoticeRecordJob[]>();
    for (const job of jobs) byBatch.set(job.batchId, [...(byBatch.get(job.batchId) ?? []), job]);
    const failures: unknown[] = [];
    for (const [batchId, records] of byBatch) {
      const batch = await this.batchOfRecord(batchId);
      if (!batch) continue; // nothing to do for a batch that is gone
      const outcomes = await this.service.generateBatchRecords(
        records.map((job) => ({
          actor: batch.requested_by,
          scope: 'system',
          customerId: job.customerId,
          templateVersionId: batch.template_version_id,
          channel: job.channel,
          // Each record its own copy of the data.
          data: structuredClone(batch.data),
          caseId: batch.case_id,
          caseApproved: true,
          batchId: batch.id,
          idempotencyKey: `batch:${batch.id}:${job.customerId}:${job.channel}`,
        })),
      );
      for (const [i, err] of outcomes.entries()) {
        if (!err) {
          metrics.batchRecord('generated');
          continue;
        }
        // A record that cannot even be attempted (the customer was removed, a channel the
        // template lost) is recorded as failed, not retried forever, and the batch goes on.
        const code = (err as { extensions?: { code?: string } }).extensions?.code;
        if (code !== 'NOT_FOUND' && code !== 'BAD_USER_INPUT' && code !== 'APPROVAL_REQUIRED') {
          metrics.batchRecord('error');
          failures.push(err);
          continue;
        }
        try {
          await this.service.recordUnattempted(batch, records[i]!, err.message);
          metrics.batchRecord('unattempted');
        } catch (failed) {
          metrics.batchRecord('error');
          failures.push(failed);
        }
      }
      await this.afterRecord(batch.id);
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length)
      throw new AggregateError(failures, `${failures.length} of ${jobs.length} records failed`);
  }

  /**
   * What a record is generated from: the batch's case, version, data and requester, which
   * never change once it is launched, so they are read once per batch (a few batches kept),
   * not once per record.
   */
  private async batchOfRecord(batchId: string): Promise<RecordInputs | undefined> {
    let batch = this.recordInputs.get(batchId);
    if (!batch) {
      batch = await this.db
        .selectFrom('communications.notice_batches')
        .select(['id', 'case_id', 'template_version_id', 'data', 'requested_by'])
        .where('id', '=', batchId)
        .executeTakeFirst();
      if (!batch) return undefined;
      if (this.recordInputs.size >= RECORD_INPUTS_KEPT) {
        this.recordInputs.delete(this.recordInputs.keys().next().value!);
      }
      this.recordInputs.set(batchId, batch);
    }
    return batch;
  }

  /** A record's document that waited for its backend (REQUESTED) was generated or failed at last. */
  async documentSettled(batchId: string): Promise<void> {
    await this.afterRecord(batchId);
  }

  /**
   * After a record: progress; once every record has its document, maybe the end.
   * The batch row's document count (kept by the transactions that insert them) is
   * read after this record's committed, as the count of documents was: of two last
   * records, the later to read sees both.
   */
  private async afterRecord(batchId: string): Promise<void> {
    // Most records of a running batch neither end it nor are due an event: for those one read
    // is all (a transaction writing nothing cost its begin and commit on every record).
    const batch = await this.db
      .selectFrom('communications.notice_batches')
      .select(['status', 'total', 'documents'])
      .where('id', '=', batchId)
      .executeTakeFirst();
    if (!batch) return;
    const quiet =
      batch.status === 'RUNNING' &&
      batch.documents < batch.total &&
      Date.now() - (this.lastProgress.get(batchId) ?? 0) < PROGRESS_EVERY_MS;
    if (quiet) return;
    await this.outbox.transaction((tx, emit) => this.advance(tx, emit, batchId, 'everyRecordDone'));
  }

  /**
   * Deliveries of the batch's documents moved (to `statuses`, one each), in the
   * transaction that moved them (the delivery worker's pass): the batch's
   * delivered and failed counts moved with them (migration 017's trigger). Only
   * a delivery that ended (DELIVERED, FAILED) can end the batch. Looked at once
   * for the pass; a batch that already ended gets an event for each step, as it
   * would for each step in a transaction of its own.
   */
  async deliveriesMoved(
    tx: Transaction<CommunicationsDB>,
    emit: Emit,
    batchId: string,
    statuses: readonly string[],
  ): Promise<void> {
    if (!statuses.length) return;
    const ended = statuses.some((s) => s === 'DELIVERED' || s === 'FAILED');
    await this.advance(tx, emit, batchId, ended, statuses.length);
  }

  /**
   * Progress of a batch after one of its records or deliveries changed:
   * while RUNNING, an event at most every PROGRESS_EVERY_MS; once every
   * record was generated or failed and every delivery ended, COMPLETED with
   * the final counts (the report's, see `isSettled`);
   * after that, an event for every change (a resend moving a delivery), so
   * a subscriber's last event stays what the report shows.
   *
   * Whether the batch is done is decided on its locked row: of two changes
   * committing side by side, the one that locks second sees the first's
   * change too, so the last one to end always finds the batch done.
   */
  private async advance(
    tx: Transaction<CommunicationsDB>,
    emit: Emit,
    batchId: string,
    mayEnd: boolean | 'everyRecordDone',
    /** How many changes this is (a delivery pass's steps): an ended batch gets an event each. */
    changes = 1,
  ): Promise<void> {
    const read = (lock: boolean) => {
      const q = tx
        .selectFrom('communications.notice_batches')
        .select(['id', 'case_id', 'status', 'total', 'documents'])
        .where('id', '=', batchId);
      // NO KEY UPDATE: it serialises the decisions on the row with each other and with the
      // document count's update, yet not with the key-share locks every insert of the batch's
      // documents and counters takes on it (their foreign keys). FOR UPDATE waited for every
      // generating transaction in flight, and deadlocked with them (40P01 on PostgreSQL).
      return (lock ? q.forNoKeyUpdate() : q).executeTakeFirst();
    };
    let batch = await read(mayEnd === true);
    if (!batch) return;
    if (mayEnd === 'everyRecordDone') {
      // Locked only when it may end: while a batch runs, its records do not queue on its row.
      mayEnd = batch.status === 'RUNNING' && batch.documents >= batch.total;
      if (mayEnd) batch = await read(true);
      if (!batch) return;
    }
    const event = { batchId: batch.id, caseId: batch.case_id };
    if (batch.status !== 'RUNNING') {
      for (let i = 0; i < changes; i++) await emit('BATCH_PROGRESS', event);
      return;
    }
    if (mayEnd && (await isSettled(tx, batch))) {
      await this.finish(tx, emit, batch);
      return;
    }
    const now = Date.now();
    if (now - (this.lastProgress.get(batch.id) ?? 0) >= PROGRESS_EVERY_MS) {
      this.lastProgress.set(batch.id, now);
      await emit('BATCH_PROGRESS', event);
    }
  }

  private async complete(batch: NoticeBatchRow): Promise<void> {
    await this.outbox.transaction(async (tx, emit) => {
      const locked = await tx
        .selectFrom('communications.notice_batches')
        .select(['id', 'case_id', 'status', 'total'])
        .where('id', '=', batch.id)
        .forNoKeyUpdate()
        .executeTakeFirst();
      if (locked?.status === 'RUNNING') await this.finish(tx, emit, locked);
    });
  }

  /** COMPLETED, with the final counts as its event's snapshot, and the outcome on its way to the case. */
  private async finish(
    tx: Transaction<CommunicationsDB>,
    emit: Emit,
    batch: Pick<NoticeBatchRow, 'id' | 'case_id'>,
  ): Promise<void> {
    const done = await tx
      .updateTable('communications.notice_batches')
      .set({ status: 'COMPLETED', finished_at: new Date() })
      .where('id', '=', batch.id)
      .where('status', '=', 'RUNNING')
      .returningAll()
      .executeTakeFirst();
    if (!done) return;
    this.lastProgress.delete(batch.id);
    await emit('BATCH_PROGRESS', { batchId: batch.id, caseId: batch.case_id });
    await this.commands.enqueue(tx, 'recordNoticeOutcome', { caseId: batch.case_id, batchId: batch.id });
  }

  async progress(batchId: string): Promise<BatchProgress> {
    return batchProgress(this.db, batchId);
  }
}

/**
 * Whether a batch is done: every record has its document, none is still
 * being generated, and none has a delivery under way. The report counts a
 * document's latest delivery; a delivery under way is always its
 * document's latest (a resend follows only a FAILED one) and a generated
 * document always has one (made in its transaction), so "none under way"
 * is "every latest delivery ended". Asked on every delivery that ends, so
 * it reads only the deliveries under way (a partial index holds just those).
 * Every record has its document when the batch row's count (read under its
 * lock, see `countBatchDocument`) reached its total.
 */
async function isSettled(
  db: Kysely<CommunicationsDB>,
  batch: Pick<NoticeBatchRow, 'id' | 'total' | 'documents'>,
): Promise<boolean> {
  if (batch.documents < batch.total) return false;
  const batchId = batch.id;
  const { rows } = await sql<{ open: boolean }>`
    select exists (
        select 1 from communications.deliveries x join communications.documents d on d.id = x.document_id
        where x.status in ('PENDING', 'SENT') and d.batch_id = ${batchId}
      ) or exists (
        select 1 from communications.documents d
        where d.batch_id = ${batchId} and d.status not in ('GENERATED', 'FAILED')
      ) as open`.execute(db);
  return !rows[0]!.open;
}

/** A batch's counts as `db` (the store, or a transaction taking an event's snapshot) sees them. */
export async function batchProgress(db: Kysely<CommunicationsDB>, batchId: string): Promise<BatchProgress> {
  const batch = await db
    .selectFrom('communications.notice_batches')
    .select(['id', 'total'])
    .where('id', '=', batchId)
    .executeTakeFirst();
  if (!batch) throw notFound('NoticeBatch', batchId);
  // The counters the batch's writes keep (migration 017), not a count of its documents: a
  // progress event's snapshot reads them, and they do not grow with the batch. Each count is
  // the sum of its slots, one per connection that wrote it (migration 018).
  const rows = await db
    .selectFrom('communications.batch_counts')
    .select(['channel', 'document_status', 'delivery_status'])
    .select(sql<number>`sum(count)::integer`.as('count'))
    .where('batch_id', '=', batchId)
    .groupBy(['channel', 'document_status', 'delivery_status'])
    .having(sql<number>`sum(count)`, '>', 0)
    .orderBy('channel')
    .orderBy('document_status')
    // As the count ordered them: documents without a delivery ('' here, null there) last.
    .orderBy(sql`nullif(delivery_status, '')`)
    .execute();
  const byChannel = rows.map((r) => ({
    channel: r.channel,
    documentStatus: r.document_status,
    deliveryStatus: r.delivery_status === '' ? null : r.delivery_status,
    count: r.count,
  }));
  const sum = (f: (r: (typeof byChannel)[number]) => boolean) =>
    byChannel.filter(f).reduce((n, r) => n + r.count, 0);
  return {
    total: batch.total,
    generated: sum((r) => r.documentStatus === 'GENERATED'),
    failed: sum((r) => r.documentStatus === 'FAILED'),
    delivered: sum((r) => r.deliveryStatus === 'DELIVERED'),
    deliveryFailed: sum((r) => r.deliveryStatus === 'FAILED'),
    byChannel,
  };
}
