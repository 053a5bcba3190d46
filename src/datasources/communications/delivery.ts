import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Emit, Outbox } from '../../events/index.js';
import { log } from '../../logger.js';
import type { CommunicationsDB, DeliveryRow, DocumentPartsTable, DocumentRow } from '../../store/tables.js';
import {
  BRANDS,
  DeliveryError,
  type Channel,
  type DeliveryChannels,
  type RenderSnapshot,
} from './engine/index.js';
import { emitDelivery, type CommunicationsService } from './service.js';
import { OutageLog } from '../../store/connection-errors.js';
import { inSpan } from '../../telemetry/tracing.js';

/** A step of a delivery of a batch's document (src/datasources/communications/batches.ts). */
export type BatchStep = (
  tx: Transaction<CommunicationsDB>,
  emit: Emit,
  batchId: string,
  /** The status each of its deliveries moved to in this transaction, in order. */
  statuses: readonly string[],
) => Promise<void>;

/**
 * Moves deliveries along PENDING → SENT → DELIVERED (or FAILED), a pass at a
 * time: the pass's sends happen outside any transaction (a transaction on the
 * embedded store holds its only connection), then every step it took commits
 * in one transaction with an event each. The state lives in the table, so a
 * restart picks up where the last process stopped. Sending the same delivery
 * twice writes the same file, so a crash between send and commit is harmless
 * (the delivery is still PENDING and is sent again).
 */
export class DeliveryWorker {
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private active = 0;
  /** The live loop's pass in hand: `drain` waits for it rather than racing it. */
  private inHand: Promise<number> | null = null;

  constructor(
    private readonly db: Kysely<CommunicationsDB>,
    private readonly outbox: Outbox<CommunicationsDB>,
    private readonly channels: DeliveryChannels,
    private readonly service: CommunicationsService,
    /** How long the embedded carrier takes to confirm a sent delivery. */
    private readonly stepMs: number,
    /** Told of each step of a delivery of a notice batch's document, inside the step's transaction. */
    private readonly batchStep?: BatchStep,
  ) {}

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  kick(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  /**
   * Runs every due step until none is left, waiting for the live loop's pass
   * in hand; returns how many steps were taken (tests, shutdown). A sent
   * delivery whose confirmation is not due yet is left: `nextDue` says when.
   */
  async drain(): Promise<number> {
    let steps = 0;
    for (;;) {
      const held = this.inHand;
      if (held) {
        steps += await held.catch(() => 1);
        continue;
      }
      const n = await this.tick();
      if (!n) return steps;
      steps += n;
    }
  }

  /** When the next step of a delivery is due, or null when every delivery is DELIVERED or FAILED. */
  async nextDue(): Promise<Date | null> {
    const { rows } = await sql<{ due: Date | null }>`
      select min(case when status = 'SENT' then updated_at + ${`${this.stepMs} milliseconds`}::interval
                      else now() end) as due
      from communications.deliveries where status in ('PENDING', 'SENT')`.execute(this.db);
    const due = rows[0]?.due;
    return due ? new Date(due) : null;
  }

  get busy(): boolean {
    return this.active > 0;
  }

  private async run(): Promise<void> {
    const outage = new OutageLog('delivery worker');
    // Passes that failed in a row because the database is away: each waits longer, up to 8 steps.
    let missed = 0;
    while (!this.stopped) {
      let worked = 0;
      try {
        this.inHand = this.tick();
        worked = await this.inHand;
        outage.ok();
        missed = 0;
      } catch (err) {
        if (outage.failed(err)) missed++;
        else log.error('delivery worker failed', { err });
      } finally {
        this.inHand = null;
      }
      if (worked || this.stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(20, this.stepMs) * 2 ** Math.min(missed, 3));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /**
   * One pass: send the pending deliveries (up to SENDS_PER_PASS), then move them and the sent
   * ones whose confirmation is due (up to CONFIRMS_PER_PASS) in one transaction, with their
   * events (`commit`). The reads before the sends are three for the whole pass (deliveries,
   * their documents, their parts); a delivery whose send fails for a reason of its own
   * (DeliveryError) becomes FAILED with its exception in that same transaction. An unexpected
   * send error (the channel's backend away) ends the pass's sends: what was sent before it is
   * still committed, and the error is thrown after (the delivery stays PENDING for the next pass).
   */
  async tick(): Promise<number> {
    this.active++;
    try {
      const found = await this.db
        .selectFrom('communications.deliveries')
        .selectAll()
        .where('status', '=', 'PENDING')
        .orderBy('created_at')
        .limit(SENDS_PER_PASS)
        .execute();
      // Read before the sends, as before: a delivery sent in this pass is confirmed in a later one.
      const due = await this.db
        .selectFrom('communications.deliveries as x')
        .innerJoin('communications.documents as d', 'd.id', 'x.document_id')
        .selectAll('x')
        .select(['d.customer_id', 'd.case_id', 'd.batch_id'])
        .where('x.status', '=', 'SENT')
        .where('x.updated_at', '<=', sql<Date>`now() - ${`${this.stepMs} milliseconds`}::interval`)
        .orderBy('x.updated_at')
        .limit(CONFIRMS_PER_PASS)
        .execute();
      // A delivery another worker sent between these two reads is in both: PENDING in the first,
      // SENT and due in the second. It takes one step in this pass, the one from where it is now;
      // with both, the update moved it once (to DELIVERED) and each step emitted the moved row's
      // event: DELIVERED twice, two events (the cluster e2e once received PENDING, SENT,
      // DELIVERED, DELIVERED; test/integration/delivery-workers.test.ts makes the interleaving).
      const confirming = new Set(due.map((d) => d.id));
      const pending = found.filter((d) => !confirming.has(d.id));
      if (!pending.length && !due.length) return 0;
      const steps: Step[] = due.map(({ customer_id, case_id, batch_id, ...d }) => ({
        delivery: d,
        doc: { id: d.document_id, customer_id, case_id, batch_id },
        from: 'SENT',
        status: 'DELIVERED',
        location: null,
        failed: null,
      }));
      let unexpected: { err: unknown } | null = null;
      if (pending.length) {
        const docIds = [...new Set(pending.map((d) => d.document_id))];
        const docs = new Map(
          (
            await this.db
              .selectFrom('communications.documents')
              .selectAll()
              .where('id', 'in', docIds)
              .execute()
          ).map((doc) => [doc.id, doc]),
        );
        const partsOf = new Map<string, DocumentPartRow[]>();
        for (const part of await this.db
          .selectFrom('communications.document_parts')
          .selectAll()
          .where('document_id', 'in', docIds)
          .orderBy('document_id')
          .orderBy('name')
          .execute())
          partsOf.set(part.document_id, [...(partsOf.get(part.document_id) ?? []), part]);
        for (const d of pending) {
          const doc = docs.get(d.document_id);
          if (!doc) continue; // a delivery always has its document (foreign key); nothing to send
          try {
            // A delivery step starts no request, so no instrumentation gives it a span: this does.
            const outcome = await inSpan(
              'delivery step',
              { 'commsgraph.delivery_id': d.id, 'commsgraph.channel': d.channel },
              () => this.send(d, doc, partsOf.get(doc.id) ?? []),
            );
            steps.push({ delivery: d, doc, from: 'PENDING', ...outcome });
          } catch (err) {
            unexpected = { err };
            break;
          }
        }
      }
      const moved = await this.commit(steps);
      if (unexpected) throw unexpected.err;
      // Counted as taken even when another worker moved them first: the pass did work, look again.
      return moved || steps.length;
    } finally {
      this.active--;
    }
  }

  /** Sends one delivery: SENT with where it went, or FAILED with why (a DeliveryError). */
  private async send(
    d: DeliveryRow,
    doc: DocumentRow,
    parts: DocumentPartRow[],
  ): Promise<Pick<Step, 'status' | 'location' | 'failed'>> {
    const snapshot = doc.snapshot as unknown as RenderSnapshot;
    try {
      if (!d.address) throw new DeliveryError(noAddressMessage(d.channel as Channel));
      const brand = BRANDS[snapshot.customer.brand];
      if (!brand) throw new DeliveryError(`unknown brand ${snapshot.customer.brand}`);
      const customer = { ...snapshot.customer, ...contactFor(d) };
      const receipt = await this.channels.send({
        deliveryId: d.id,
        documentId: doc.id,
        channel: d.channel as Channel,
        parts: parts.map((p) => ({ name: p.name, mediaType: p.media_type, body: p.body })),
        customer,
        brand,
      });
      return { status: 'SENT', location: receipt.location, failed: null };
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      return { status: 'FAILED', location: null, failed: { message: err.message, doc } };
    }
  }

  /**
   * A pass's steps in one transaction: one update moves every delivery still where the pass
   * found it (a row another worker holds is skipped, one it already moved does not match), then
   * each moved delivery's event, a failed one's exception, and each batch's progress once for
   * the pass. Returns how many moved.
   */
  private async commit(steps: Step[]): Promise<number> {
    if (!steps.length) return 0;
    return this.outbox.transaction(async (tx, emit) => {
      const now = new Date();
      const ids = steps.map((s) => s.delivery.id);
      const { rows } = await sql<DeliveryRow>`
        update communications.deliveries x
        set status = v.status,
            attempts = x.attempts + v.tried,
            location = coalesce(v.location, x.location),
            last_error = case when v.status = 'FAILED' then v.error else x.last_error end,
            updated_at = ${now}
        from (values ${sql.join(
          steps.map(
            (s) =>
              sql`(${s.delivery.id}::text, ${s.from}::text, ${s.status}::text, ${s.from === 'PENDING' ? 1 : 0}::int, ${s.location}::text, ${s.failed?.message ?? null}::text)`,
          ),
        )}) as v (id, from_status, status, tried, location, error)
        where x.id = v.id and x.status = v.from_status
          and x.id in (select id from communications.deliveries
                       where id in (${sql.join(ids)}) and status in ('PENDING', 'SENT')
                       for update skip locked)
        returning x.*`.execute(tx);
      const movedById = new Map(rows.map((r) => [r.id, r]));
      const statusesByBatch = new Map<string, string[]>();
      for (const s of steps) {
        const row = movedById.get(s.delivery.id);
        if (!row) continue; // another worker moved it first
        await emitDelivery(emit, row, s.doc);
        if (row.status === 'FAILED' && s.failed)
          await this.service.raiseException(
            tx,
            'DELIVERY_FAILURE',
            `${row.channel} delivery failed: ${s.failed.message}`,
            s.failed.doc,
            row.id,
          );
        if (s.doc.batch_id)
          statusesByBatch.set(s.doc.batch_id, [...(statusesByBatch.get(s.doc.batch_id) ?? []), row.status]);
      }
      for (const [batchId, statuses] of statusesByBatch) await this.batchStep?.(tx, emit, batchId, statuses);
      return rows.length;
    });
  }
}

/** Pending deliveries sent in one pass (their parts are read together, about 41 KiB a letter). */
const SENDS_PER_PASS = 32;
/** Sent deliveries confirmed in one pass. */
const CONFIRMS_PER_PASS = 64;

/** A delivery's step in a pass: where the pass found it, where it goes, and its document. */
interface Step {
  delivery: DeliveryRow;
  doc: Pick<DocumentRow, 'id' | 'customer_id' | 'case_id' | 'batch_id'>;
  from: 'PENDING' | 'SENT';
  status: 'SENT' | 'DELIVERED' | 'FAILED';
  location: string | null;
  /** Why a send failed, with its whole document (the exception is raised on it). */
  failed: { message: string; doc: DocumentRow } | null;
}

type DocumentPartRow = Selectable<DocumentPartsTable>;

function noAddressMessage(channel: Channel): string {
  switch (channel) {
    case 'EMAIL':
      return 'the customer has no email address';
    case 'MOBILE':
      return 'the customer has no mobile number';
    case 'PRINT':
      return 'the customer has no postal address';
    case 'WEB':
      return 'no web account';
  }
}

/** The delivery's own address wins over the snapshot's (a resend goes to the current one). */
function contactFor(d: DeliveryRow): Partial<RenderSnapshot['customer']> {
  switch (d.channel as Channel) {
    case 'EMAIL':
      return { email: d.address };
    case 'MOBILE':
      return { phone: d.address };
    case 'PRINT':
    case 'WEB':
      return {};
  }
}
