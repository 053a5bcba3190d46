import { sql, type Kysely, type Transaction } from 'kysely';
import type { Emit, Outbox } from '../../events/index.js';
import { log } from '../../logger.js';
import type { CommunicationsDB, DeliveryRow, DocumentRow } from '../../store/tables.js';
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
  status: string,
) => Promise<void>;

/**
 * Moves deliveries along PENDING → SENT → DELIVERED (or FAILED). Each step
 * is its own transaction with its event; the state lives in the table, so a
 * restart picks up where the last process stopped. Sending the same delivery
 * twice writes the same file, so a crash between send and commit is harmless.
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

  /** One pass: send pending deliveries, confirm sent ones that are due. */
  async tick(): Promise<number> {
    this.active++;
    try {
      let n = 0;
      const pending = await this.db
        .selectFrom('communications.deliveries')
        .selectAll()
        .where('status', '=', 'PENDING')
        .orderBy('created_at')
        .limit(20)
        .execute();
      for (const d of pending) {
        // A delivery step starts no request, so no instrumentation gives it a span: this does.
        await inSpan(
          'delivery step',
          { 'commsgraph.delivery_id': d.id, 'commsgraph.channel': d.channel },
          () => this.send(d),
        );
        n++;
      }
      const due = await this.db
        .selectFrom('communications.deliveries')
        .selectAll()
        .where('status', '=', 'SENT')
        .where('updated_at', '<=', sql<Date>`now() - ${`${this.stepMs} milliseconds`}::interval`)
        .orderBy('updated_at')
        .limit(50)
        .execute();
      for (const d of due) {
        await this.transition(d.id, 'SENT', { status: 'DELIVERED' });
        n++;
      }
      return n;
    } finally {
      this.active--;
    }
  }

  private async send(d: DeliveryRow): Promise<void> {
    const doc = await this.db
      .selectFrom('communications.documents')
      .selectAll()
      .where('id', '=', d.document_id)
      .executeTakeFirstOrThrow();
    const snapshot = doc.snapshot as unknown as RenderSnapshot;
    try {
      if (!d.address) throw new DeliveryError(noAddressMessage(d.channel as Channel));
      const parts = await this.db
        .selectFrom('communications.document_parts')
        .selectAll()
        .where('document_id', '=', doc.id)
        .orderBy('name')
        .execute();
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
      await this.transition(d.id, 'PENDING', {
        status: 'SENT',
        location: receipt.location,
        attempts: d.attempts + 1,
      });
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      await this.fail(d, doc, err.message);
    }
  }

  private async transition(
    id: string,
    from: string,
    set: { status: string; location?: string; attempts?: number },
  ): Promise<void> {
    await this.outbox.transaction(async (tx, emit) => {
      const row = await tx
        .updateTable('communications.deliveries')
        .set({ ...set, updated_at: new Date() })
        .where('id', '=', id)
        .where('status', '=', from)
        .returningAll()
        .executeTakeFirst();
      if (!row) return; // another worker moved it first
      const doc = await tx
        .selectFrom('communications.documents')
        .select(['id', 'customer_id', 'case_id', 'batch_id'])
        .where('id', '=', row.document_id)
        .executeTakeFirstOrThrow();
      await emitDelivery(emit, row, doc);
      if (doc.batch_id) await this.batchStep?.(tx, emit, doc.batch_id, row.status);
    });
  }

  private async fail(d: DeliveryRow, doc: DocumentRow, message: string): Promise<void> {
    await this.outbox.transaction(async (tx, emit) => {
      const row = await tx
        .updateTable('communications.deliveries')
        .set({ status: 'FAILED', attempts: d.attempts + 1, last_error: message, updated_at: new Date() })
        .where('id', '=', d.id)
        .where('status', '=', 'PENDING')
        .returningAll()
        .executeTakeFirst();
      if (!row) return;
      await emitDelivery(emit, row, doc);
      await this.service.raiseException(
        tx,
        'DELIVERY_FAILURE',
        `${d.channel} delivery failed: ${message}`,
        doc,
        d.id,
      );
      if (doc.batch_id) await this.batchStep?.(tx, emit, doc.batch_id, row.status);
    });
  }
}

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
