import { createHash, randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { CommandRelay } from '../../events/commands.js';
import type { Emit, Outbox } from '../../events/index.js';
import {
  approvalRequired,
  badInput,
  conflict,
  ErrorCode,
  GraphQLErrorWithCode,
  notFound,
} from '../../errors/index.js';
import type { Insertable } from 'kysely';
import type {
  CommunicationsDB,
  DeliveryRow,
  DocumentRow,
  DocumentsTable,
  ExceptionRow,
  TemplateVersionRow,
} from '../../store/tables.js';
import {
  MissingDataError,
  RenderUnavailableError,
  TemplateError,
  type Channel,
  type RenderableVersion,
  type RenderResult,
  type RenderSnapshot,
  type Renderer,
  type TemplateContent,
} from './engine/index.js';
import type { CommunicationsPorts, CustomerProfile } from './ports.js';
import { canonicalJson, templateContentHash } from './seeding.js';
import { isExstreamContent } from './catalogue/mapping.js';
import { inSpan } from '../../telemetry/tracing.js';
import { DEFAULT_FOLLOW_UP_WAIT_MS, followUp } from '../follow-up.js';

export const CHANNELS: readonly Channel[] = ['PRINT', 'EMAIL', 'WEB', 'MOBILE'];
const DATA_MAX_BYTES = 64 * 1024;
const KEY_MAX = 200;
const newId = (prefix: string) => `${prefix}_${randomUUID()}`;
/** When the command behind a resolution claim runs, should its request not have finished it. */
const RESOLUTION_SAFETY_NET_MS = 60_000;

/**
 * How generation survives a rendering backend that cannot be reached (connected mode: an
 * Exstream outage): the document stays REQUESTED and a durable command tries again after
 * `backoffMs`, doubling up to `backoffMaxMs`; after `attempts` retries it is FAILED with an
 * UPSTREAM_UNAVAILABLE exception and its case, never dropped.
 */
export interface GenerationRetry {
  attempts: number;
  backoffMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_GENERATION_RETRY: GenerationRetry = {
  attempts: 8,
  backoffMs: 2000,
  backoffMaxMs: 60_000,
};

/** The delay before retry `attempt` (1-based). */
export function retryDelayMs(retry: GenerationRetry, attempt: number): number {
  return Math.min(retry.backoffMaxMs, retry.backoffMs * 2 ** Math.min(attempt - 1, 30));
}

export type ExceptionKindName =
  'MISSING_DATA' | 'TEMPLATE_ERROR' | 'DELIVERY_FAILURE' | 'UPSTREAM_UNAVAILABLE';

/** The resolution that won an exception, kept on its row until the exception is RESOLVED. */
interface ResolutionClaim {
  token: string;
  actor: string;
  resolution: string;
  regenerate: boolean;
  data: Record<string, unknown> | null;
}

/**
 * Whose idempotency keys these are. A client's keys are its own (`caller`, the
 * token subject, person or service client alike); the gateway's own commands
 * (case sign-off, milestones, dispute letters, reissues, notice batches, exception
 * retries) use keys like `case:<id>` in the `system` scope, which no client can
 * name, so a client's key never meets another caller's or the system's.
 */
export type IdempotencyScope = { caller: string } | 'system';

export function scopeName(scope: IdempotencyScope): string {
  return scope === 'system' ? 'system' : `caller:${scope.caller}`;
}

export interface GenerateRequest {
  actor: string;
  /** Where `idempotencyKey` is looked up; required so no entry point can forget it. */
  scope: IdempotencyScope;
  customerId: string;
  templateId?: string | null;
  /** A pinned version (case approvals, reissues); else the template's approved version. */
  templateVersionId?: string | null;
  channel?: string | null;
  data?: unknown;
  caseId?: string | null;
  /** Skip the case approval check: the caller (workflow's own command) is the approval. */
  caseApproved?: boolean;
  idempotencyKey?: string | null;
  reissueOf?: string | null;
  /** The mandatory-notice batch this record belongs to. */
  batchId?: string | null;
  /** Re-render from this archived snapshot instead of current data. */
  snapshot?: RenderSnapshot | null;
}

interface ResolvedVersion {
  version: TemplateVersionRow;
  channels: string[];
  templateName: string;
}

/** A generation decided and rendered, before its transaction (see `writeDocuments`). */
interface PlannedDocument {
  channel: Channel;
  rendered: RenderResult | null;
  failure: { kind: 'MISSING_DATA' | 'TEMPLATE_ERROR'; message: string } | null;
  /** Where its first delivery goes. */
  address: string | null;
  values: Insertable<DocumentsTable> & { id: string };
}

/**
 * Generation, delivery and exceptions: the embedded stand-in for Exstream.
 * A failure to generate is not an error of the request: the document comes
 * back FAILED with its exception, and an exception case is opened.
 */
export class CommunicationsService {
  constructor(
    private readonly db: Kysely<CommunicationsDB>,
    private readonly outbox: Outbox<CommunicationsDB>,
    private readonly commands: CommandRelay,
    private readonly renderer: Renderer,
    private readonly ports: CommunicationsPorts,
    /** How long a mutation waits for the work it started (src/datasources/follow-up.ts); 0 does not wait. */
    private readonly followUpWaitMs = DEFAULT_FOLLOW_UP_WAIT_MS,
    private readonly retry: GenerationRetry = DEFAULT_GENERATION_RETRY,
  ) {}

  /**
   * Waits, bounded, until every exception of a FAILED document has its case (opened by
   * a command right after the failure), so generateDocument can answer with
   * `exceptions { case }` filled in; see the mutation's description.
   */
  async awaitExceptionCases(documentId: string): Promise<void> {
    await followUp({ ms: this.followUpWaitMs, onCommit: (l) => this.outbox.onCommit(l) }, async () => {
      const pending = await this.db
        .selectFrom('communications.exceptions')
        .select('id')
        .where('document_id', '=', documentId)
        .where('case_id', 'is', null)
        .executeTakeFirst();
      return pending ? null : true;
    });
  }

  async approvedVersion(templateId: string): Promise<{
    template: { id: string; name: string; channels: string[]; document_type: string };
    version: TemplateVersionRow | null;
  } | null> {
    const template = await this.db
      .selectFrom('communications.templates')
      .selectAll()
      .where('id', '=', templateId)
      .executeTakeFirst();
    if (!template) return null;
    const version = await this.db
      .selectFrom('communications.template_versions')
      .selectAll()
      .where('template_id', '=', templateId)
      .where('status', '=', 'APPROVED')
      .orderBy('version', 'desc')
      .executeTakeFirst();
    return { template, version: version ?? null };
  }

  async generate(req: GenerateRequest): Promise<DocumentRow> {
    const key = req.idempotencyKey ?? null;
    if (key !== null && (key.length === 0 || key.length > KEY_MAX)) {
      throw badInput(`idempotencyKey: 1 to ${KEY_MAX} characters`, 'idempotencyKey');
    }
    const scope = scopeName(req.scope);
    const fingerprint = requestFingerprint(req);
    if (key) {
      const existing = await this.byIdempotencyKey(scope, key, fingerprint);
      if (existing) return existing;
    }
    const data = req.snapshot ? req.snapshot.data : checkData(req.data);

    const resolved = await this.resolveVersion(req);
    const caseInfo = await this.caseInfo(req);
    let customer: CustomerProfile | null = null;
    if (!req.snapshot) {
      [customer] = await this.ports.customers([req.customerId]);
      if (!customer) throw notFound('Customer', req.customerId);
    }
    const planned = await this.plan(req, resolved, caseInfo, customer, data, fingerprint);
    // A re-render from an archived snapshot still goes to where the customer is now.
    if (req.snapshot) {
      const [current] = await this.ports.customers([req.snapshot.customer.id]);
      if (current) planned.address = addressFor(planned.channel, current);
    }
    let failed: unknown = null;
    try {
      const [doc] = await this.outbox.transaction((tx, emit) => this.writeDocuments(tx, emit, [planned]));
      if (doc) return doc;
    } catch (err) {
      if (!key) throw err;
      failed = err;
    }
    // Two requests with one key raced: the unique index let one win (this one wrote nothing);
    // return its document (or CONFLICT, when the winner asked for something else).
    const existing = await this.byIdempotencyKey(scope, key!, fingerprint);
    if (existing) return existing;
    throw (
      failed ??
      new Error(`the document of idempotency key ${JSON.stringify(key)} was neither written nor found`)
    );
  }

  /**
   * The records of one notice batch as a set (`requests` share the batch's version, case,
   * data and requester; each has its own customer, channel and key). Each record goes
   * through the checks and render `generate` applies, the set's lookups made once (the
   * keys already used, the version, the case, the customers), its renders side by side;
   * then every document of the set is written in one transaction (multi-row inserts),
   * each with its parts, delivery or exception and its events, as `generate` writes one.
   * Answers, per request, null when the record has its document (made now or before) or
   * the error that stopped it, which `generate` would have thrown: a record that fails
   * does so alone. Should the set's transaction fail, each document is written in a
   * transaction of its own, so one bad row costs its own record only.
   */
  async generateBatchRecords(requests: GenerateRequest[]): Promise<(Error | null)[]> {
    const outcomes: (Error | null | undefined)[] = requests.map(() => undefined);
    const first = requests[0];
    if (!first) return [];
    const open = (): number[] => outcomes.flatMap((o, i) => (o === undefined ? [i] : []));
    const failAll = (err: unknown) => {
      for (const i of open()) outcomes[i] = err as Error;
    };
    const scope = scopeName(first.scope);
    const fingerprints = requests.map(requestFingerprint);
    const keys = requests.map((r) => r.idempotencyKey ?? '');
    if (keys.some((k) => k.length === 0 || k.length > KEY_MAX))
      throw new Error('batch records need idempotency keys of 1 to 200 characters');
    const done = await this.db
      .selectFrom('communications.documents')
      .select(['idempotency_key', 'request_hash'])
      .where('idempotency_scope', '=', scope)
      .where('idempotency_key', 'in', keys)
      .execute();
    const doneByKey = new Map(done.map((d) => [d.idempotency_key, d.request_hash]));
    requests.forEach((r, i) => {
      if (!doneByKey.has(keys[i]!)) return;
      const hash = doneByKey.get(keys[i]!);
      outcomes[i] = hash && hash !== fingerprints[i] ? keyReused(keys[i]!) : null;
    });
    if (!open().length) return outcomes as (Error | null)[];
    let shared: { resolved: ResolvedVersion; caseInfo: RenderSnapshot['case'] } | null = null;
    try {
      // The batch's data, version and case are the same for every record: checked once.
      checkData(first.data);
      shared = { resolved: await this.resolveVersion(first), caseInfo: await this.caseInfo(first) };
    } catch (err) {
      failAll(err);
    }
    if (shared) {
      const ids = [...new Set(open().map((i) => requests[i]!.customerId))];
      const found = await this.ports.customers(ids);
      const customers = new Map(ids.map((id, n) => [id, found[n] ?? null]));
      const planned = await Promise.all(
        open().map(async (i) => {
          const req = requests[i]!;
          try {
            const customer = customers.get(req.customerId);
            if (!customer) throw notFound('Customer', req.customerId);
            return {
              i,
              planned: await this.plan(
                req,
                shared.resolved,
                shared.caseInfo,
                customer,
                checkData(req.data),
                fingerprints[i]!,
              ),
            };
          } catch (err) {
            outcomes[i] = err as Error;
            return null;
          }
        }),
      );
      const ready = planned.filter((p) => p !== null);
      try {
        await this.outbox.transaction((tx, emit) =>
          this.writeDocuments(
            tx,
            emit,
            ready.map((p) => p.planned),
          ),
        );
        for (const p of ready) outcomes[p.i] = null;
      } catch {
        for (const p of ready) {
          try {
            await this.outbox.transaction((tx, emit) => this.writeDocuments(tx, emit, [p.planned]));
            outcomes[p.i] = null;
          } catch (err) {
            outcomes[p.i] = err as Error;
          }
        }
      }
    }
    return outcomes.map((o) => o ?? null);
  }

  /** The case a generation names, as its snapshot records it; refused unless signed off (or the caller is the approval). */
  private async caseInfo(req: GenerateRequest): Promise<RenderSnapshot['case']> {
    if (!req.caseId) return null;
    const approval = await this.ports.caseApproval(req.caseId);
    if (!approval) throw notFound('Case', req.caseId);
    if (!req.caseApproved && approval.state !== 'APPROVED') {
      throw approvalRequired(
        `Case ${req.caseId} is not signed off (approvals ${approval.state.toLowerCase()})`,
      );
    }
    return { id: approval.caseId, title: approval.title };
  }

  /**
   * One generation up to its write: the channel checked, the snapshot taken, the render
   * attempted (refused before the call: thrown, nothing is written), the row to insert.
   */
  private async plan(
    req: GenerateRequest,
    { version, channels, templateName }: ResolvedVersion,
    caseInfo: RenderSnapshot['case'],
    customer: CustomerProfile | null,
    data: Record<string, unknown>,
    /** `requestFingerprint(req)`, which the caller has already taken (a SHA-256 of the request's data). */
    fingerprint: string,
  ): Promise<PlannedDocument> {
    const channel = (req.channel ?? customer?.preferredChannel ?? null) as Channel | null;
    if (!channel || !CHANNELS.includes(channel))
      throw badInput('channel: one of PRINT, EMAIL, WEB, MOBILE', 'channel');
    if (!channels.includes(channel))
      throw badInput(`channel: the template does not support ${channel}`, 'channel');

    const snapshot: RenderSnapshot = req.snapshot ?? {
      customer: {
        id: customer!.id,
        name: customer!.name,
        email: customer!.email,
        phone: customer!.phone,
        address: customer!.address,
        locale: customer!.locale,
        brand: customer!.brand,
        segments: customer!.segments,
      },
      data,
      case: caseInfo,
      issuedAt: new Date().toISOString(),
    };

    // Rendering is CPU work on this thread (a PDF holds it for tens of ms): start it on a
    // turn of its own, so what held the loop before it (statements) and the render add up
    // to one stall, not two.
    await nextTurn();
    const attempt = await this.attemptRender(version, templateName, channel, snapshot, req.reissueOf ?? null);
    // Refused before the call: nothing was generated, nothing is written.
    if (attempt.refused) throw attempt.refused;
    const { rendered, failure } = attempt;
    const key = req.idempotencyKey ?? null;
    return {
      channel,
      rendered,
      failure,
      address: addressFor(channel, snapshot.customer),
      values: {
        id: newId('doc'),
        status: rendered ? 'GENERATED' : failure ? 'FAILED' : 'REQUESTED',
        channel,
        customer_id: snapshot.customer.id,
        case_id: req.caseId ?? null,
        template_version_id: version.id,
        snapshot: JSON.stringify(snapshot),
        content_hash: rendered?.contentHash ?? null,
        media_type: rendered?.mediaType ?? null,
        reissue_of: req.reissueOf ?? null,
        batch_id: req.batchId ?? null,
        idempotency_key: key,
        idempotency_scope: key ? scopeName(req.scope) : null,
        request_hash: key ? fingerprint : null,
        requested_by: req.actor,
        output_note: attempt.note ? JSON.stringify(attempt.note) : null,
      },
    };
  }

  /**
   * Writes planned documents in `tx`, each with what goes with it: a generated one its parts
   * and first delivery, a failed one its exception, one whose backend was away its retry;
   * and the events (per document, in order: its status, then its delivery's). A document whose
   * idempotency key another request used meanwhile is not written (nor anything of it); the
   * inserted ones are answered, in order. Multi-row inserts: a set costs a few statements, not
   * a few per document.
   */
  private async writeDocuments(
    tx: Transaction<CommunicationsDB>,
    emit: Emit,
    planned: PlannedDocument[],
  ): Promise<DocumentRow[]> {
    if (!planned.length) return [];
    const rows = await tx
      .insertInto('communications.documents')
      .values(planned.map((p) => p.values))
      .onConflict((oc) => oc.columns(['idempotency_scope', 'idempotency_key']).doNothing())
      .returningAll()
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const written = planned.flatMap((p) => {
      const doc = byId.get(p.values.id);
      return doc ? [{ p, doc }] : [];
    });
    const generated = written.filter((w) => w.p.rendered);
    const parts = generated.flatMap(({ p, doc }) =>
      p.rendered!.parts.map((part) => ({
        document_id: doc.id,
        name: part.name,
        media_type: part.mediaType,
        body: part.body,
      })),
    );
    if (parts.length) await tx.insertInto('communications.document_parts').values(parts).execute();
    const deliveries = generated.length
      ? await tx
          .insertInto('communications.deliveries')
          .values(
            generated.map(({ p, doc }) => ({
              id: newId('dlv'),
              document_id: doc.id,
              channel: doc.channel,
              status: 'PENDING',
              attempts: 0,
              address: p.address,
              location: null,
              last_error: null,
            })),
          )
          .returningAll()
          .execute()
      : [];
    const deliveryOf = new Map(deliveries.map((d) => [d.document_id, d]));
    for (const { p, doc } of written) {
      await emitDocumentStatus(emit, doc);
      if (p.rendered) {
        await emitDelivery(emit, deliveryOf.get(doc.id)!, doc);
      } else if (p.failure) {
        await this.raiseException(tx, p.failure.kind, p.failure.message, doc, null);
      } else {
        // The backend could not be reached: the record waits for its retry, durably.
        await this.commands.enqueue(
          tx,
          'retryGeneration',
          { documentId: doc.id, attempt: 1 },
          { delayMs: retryDelayMs(this.retry, 1) },
        );
      }
    }
    // Last, so that on PostgreSQL the batch row stays locked for as little as it can.
    const perBatch = new Map<string, number>();
    for (const { doc } of written)
      if (doc.batch_id) perBatch.set(doc.batch_id, (perBatch.get(doc.batch_id) ?? 0) + 1);
    for (const [batchId, n] of perBatch) await countBatchDocuments(tx, batchId, n);
    return written.map((w) => w.doc);
  }

  /**
   * One render, its outcome sorted: the output, a failure of the record or template, or
   * neither (the backend is unavailable: try again later). A reissue whose output differs from
   * the original's (connected mode: the Exstream communication moved on) keeps the original's
   * archived bytes, with a note saying so; the embedded engine re-renders a pinned version
   * byte for byte, so there it never differs. `refused`: the backend would not generate from
   * this version (approvedVersionCheck); nothing was rendered.
   */
  private async attemptRender(
    version: TemplateVersionRow,
    templateName: string,
    channel: Channel,
    snapshot: RenderSnapshot,
    reissueOf: string | null,
  ): Promise<{
    rendered: RenderResult | null;
    failure: { kind: 'MISSING_DATA' | 'TEMPLATE_ERROR'; message: string } | null;
    unavailable: string | null;
    note: Record<string, unknown> | null;
    refused?: GraphQLErrorWithCode;
  }> {
    const none = { rendered: null, unavailable: null, note: null };
    const renderable = {
      id: version.id,
      content: version.content as TemplateContent,
      dataSchema: version.data_schema,
      templateId: version.template_id,
      templateName,
    };
    // A reissue reproduces what was sent, whatever became of the version since (see below).
    if (!reissueOf) {
      try {
        const refused = await this.approvedVersionCheck(renderable);
        if (refused) return { ...none, failure: null, refused };
      } catch (err) {
        if (err instanceof RenderUnavailableError)
          return { ...none, failure: null, unavailable: err.message };
        throw err;
      }
    }
    let rendered: RenderResult;
    try {
      // Rendering (the embedded engine, or Exstream's on-demand call) gets a span of its own.
      rendered = await inSpan(
        'render',
        { 'commsgraph.template_version': version.id, 'commsgraph.channel': channel },
        () => this.renderer.render(renderable, channel, snapshot),
      );
    } catch (err) {
      if (err instanceof MissingDataError)
        return { ...none, failure: { kind: 'MISSING_DATA', message: err.message } };
      if (err instanceof TemplateError)
        return { ...none, failure: { kind: 'TEMPLATE_ERROR', message: err.message } };
      if (err instanceof RenderUnavailableError) return { ...none, failure: null, unavailable: err.message };
      throw err;
    }
    if (reissueOf) {
      const original = await this.db
        .selectFrom('communications.documents')
        .select(['id', 'content_hash', 'media_type', 'channel'])
        .where('id', '=', reissueOf)
        .executeTakeFirst();
      if (
        original?.content_hash &&
        original.channel === channel &&
        original.content_hash !== rendered.contentHash
      ) {
        const parts = await this.db
          .selectFrom('communications.document_parts')
          .select(['name', 'media_type', 'body'])
          .where('document_id', '=', original.id)
          .execute();
        return {
          rendered: {
            parts: parts.map((p) => ({ name: p.name, mediaType: p.media_type, body: p.body })),
            contentHash: original.content_hash,
            mediaType: original.media_type ?? rendered.mediaType,
          },
          failure: null,
          unavailable: null,
          note: {
            keptOriginalBytes: true,
            originalDocumentId: original.id,
            renderedContentHash: rendered.contentHash,
            reason: 'the regenerated output differs from the original (the communication moved on)',
          },
        };
      }
    }
    return { rendered, failure: null, unavailable: null, note: null };
  }

  /**
   * Generation uses the version it was approved with, or none (contract "Generation is
   * on-demand"): a backend that generates from the template's approved version of its own
   * (Exstream) is asked for it just before the call, and when that is no longer the pinned
   * version the generation is refused. The embedded engine renders the version it is given.
   */
  private async approvedVersionCheck(version: RenderableVersion): Promise<GraphQLErrorWithCode | null> {
    if (!this.renderer.currentVersionId) return null;
    const current = await this.renderer.currentVersionId(version);
    if (current === version.id) return null;
    return approvalRequired(
      current
        ? `Template version ${version.id} is no longer the approved version in Exstream (now ${current}); the approval does not cover it`
        : `Template ${version.templateId ?? version.id} has no approved version in Exstream any more`,
      'APPROVED_VERSION_CHANGED',
    );
  }

  private async storeParts(
    tx: Transaction<CommunicationsDB>,
    documentId: string,
    rendered: RenderResult,
  ): Promise<void> {
    for (const part of rendered.parts) {
      await tx
        .insertInto('communications.document_parts')
        .values({ document_id: documentId, name: part.name, media_type: part.mediaType, body: part.body })
        .execute();
    }
  }

  /**
   * Command handler: tries a REQUESTED document again (its backend was unavailable). On
   * success it becomes GENERATED with its delivery, as if generated at once; a data or
   * template failure makes it FAILED with its exception; still unavailable, it waits for the
   * next retry, or after the last one becomes FAILED with an UPSTREAM_UNAVAILABLE exception.
   * Idempotent: only a document still REQUESTED moves. Answers the document as it ends.
   */
  async runRetryGeneration(payload: Record<string, unknown>): Promise<DocumentRow | null> {
    const documentId = String(payload.documentId);
    const n = Number(payload.attempt);
    const doc = await this.db
      .selectFrom('communications.documents')
      .selectAll()
      .where('id', '=', documentId)
      .executeTakeFirst();
    if (!doc || doc.status !== 'REQUESTED') return null;
    const version = await this.db
      .selectFrom('communications.template_versions')
      .selectAll()
      .where('id', '=', doc.template_version_id)
      .executeTakeFirstOrThrow();
    const template = await this.db
      .selectFrom('communications.templates')
      .select('name')
      .where('id', '=', version.template_id)
      .executeTakeFirstOrThrow();
    const snapshot = doc.snapshot as unknown as RenderSnapshot;
    const tried = await this.attemptRender(
      version,
      template.name,
      doc.channel as Channel,
      snapshot,
      doc.reissue_of,
    );
    // Refused on a retry (the approved version moved while the backend was down): the document
    // exists already, so it fails with its exception and case rather than waiting for nothing.
    const attempt = tried.refused
      ? { ...tried, failure: { kind: 'TEMPLATE_ERROR' as const, message: tried.refused.message } }
      : tried;
    const [current] = await this.ports.customers([doc.customer_id]);
    const address = addressFor(doc.channel as Channel, current ?? snapshot.customer);
    return this.outbox.transaction(async (tx, emit) => {
      const exhausted = !attempt.rendered && !attempt.failure && n >= this.retry.attempts;
      if (!attempt.rendered && !attempt.failure && !exhausted) {
        // Still unavailable: the next retry, unless another run already moved the document.
        const locked = await tx
          .selectFrom('communications.documents')
          .select('status')
          .where('id', '=', doc.id)
          .forUpdate()
          .executeTakeFirstOrThrow();
        if (locked.status !== 'REQUESTED') return null;
        await this.commands.enqueue(
          tx,
          'retryGeneration',
          { documentId: doc.id, attempt: n + 1 },
          { delayMs: retryDelayMs(this.retry, n + 1) },
        );
        return null;
      }
      const moved = await tx
        .updateTable('communications.documents')
        .set({
          status: attempt.rendered ? 'GENERATED' : 'FAILED',
          content_hash: attempt.rendered?.contentHash ?? null,
          media_type: attempt.rendered?.mediaType ?? null,
          output_note: attempt.note ? JSON.stringify(attempt.note) : null,
          updated_at: new Date(),
        })
        .where('id', '=', doc.id)
        .where('status', '=', 'REQUESTED')
        .returningAll()
        .executeTakeFirst();
      if (!moved) return null;
      await emitDocumentStatus(emit, moved);
      if (attempt.rendered) {
        await this.storeParts(tx, moved.id, attempt.rendered);
        await this.createDelivery(tx, emit, moved, address);
        await this.recordLateRetry(tx, moved);
      } else if (attempt.failure) {
        await this.raiseException(tx, attempt.failure.kind, attempt.failure.message, moved, null);
      } else {
        await this.raiseException(
          tx,
          'UPSTREAM_UNAVAILABLE',
          `Generation could not reach its backend after ${n} retries: ${attempt.unavailable ?? 'unavailable'}`,
          moved,
          null,
        );
      }
      return moved;
    });
  }

  /**
   * A document generated on a retry may be the retry of an exception resolved with
   * `regenerate` while the backend was still down: the resolution was recorded with the retry
   * `REQUESTED`, so its source case waited. The outcome is recorded again, now `GENERATED`,
   * which lets the workflow resolve the source case (recordExceptionOutcome does only what is
   * still to do, so the two records may arrive in either order). Runs in the transaction that
   * moved the document; finishResolution reads the document under lock, so one of the two
   * always sees the other.
   */
  private async recordLateRetry(tx: Transaction<CommunicationsDB>, doc: DocumentRow): Promise<void> {
    const resolved = await tx
      .selectFrom('communications.exceptions')
      .selectAll()
      .where('retry_document_id', '=', doc.id)
      .where('status', '=', 'RESOLVED')
      .execute();
    for (const exc of resolved) {
      await this.commands.enqueue(tx, 'recordExceptionOutcome', {
        caseId: exc.case_id,
        sourceCaseId: doc.case_id,
        actor: exc.resolved_by ?? 'system',
        resolution: exc.resolution ?? '',
        retryDocumentId: doc.id,
        retryDeliveryId: null,
        retryStatus: doc.status,
      });
    }
  }

  /**
   * The exact prior document again: its template version (whatever became of
   * it since) and its archived data snapshot, not current data. Rendered for
   * the same channel it gives the same bytes, so the same content hash; it is
   * delivered to the customer's current address.
   */
  async reissue(req: {
    caseId: string;
    documentId: string;
    channel: string;
    actor: string;
    idempotencyKey: string;
  }): Promise<DocumentRow> {
    const original = await this.db
      .selectFrom('communications.documents')
      .selectAll()
      .where('id', '=', req.documentId)
      .executeTakeFirst();
    if (!original) throw notFound('Document', req.documentId);
    if (original.status !== 'GENERATED')
      throw conflict(`Document ${original.id} was never generated; there is nothing to reissue`);
    return this.generate({
      actor: req.actor,
      scope: 'system',
      customerId: original.customer_id,
      templateVersionId: original.template_version_id,
      channel: req.channel,
      snapshot: original.snapshot as unknown as RenderSnapshot,
      caseId: req.caseId,
      caseApproved: true,
      reissueOf: original.id,
      idempotencyKey: req.idempotencyKey,
    });
  }

  /**
   * A batch record that could not be attempted at all (its customer is gone):
   * a FAILED document with its exception, so the batch still completes and
   * the failure is worked like any other.
   */
  async recordUnattempted(
    batch: { id: string; case_id: string; template_version_id: string; requested_by: string },
    job: { customerId: string; channel: string },
    reason: string,
  ): Promise<void> {
    const key = `batch:${batch.id}:${job.customerId}:${job.channel}`;
    if (await this.byIdempotencyKey('system', key, null)) return;
    await this.outbox.transaction(async (tx, emit) => {
      const doc = await tx
        .insertInto('communications.documents')
        .values({
          id: newId('doc'),
          status: 'FAILED',
          channel: job.channel,
          customer_id: job.customerId,
          case_id: batch.case_id,
          template_version_id: batch.template_version_id,
          snapshot: JSON.stringify({ unattempted: reason }),
          content_hash: null,
          media_type: null,
          reissue_of: null,
          batch_id: batch.id,
          idempotency_key: key,
          idempotency_scope: 'system',
          requested_by: batch.requested_by,
        })
        .onConflict((oc) => oc.columns(['idempotency_scope', 'idempotency_key']).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!doc) return;
      await emitDocumentStatus(emit, doc);
      await this.raiseException(tx, 'MISSING_DATA', reason, doc, null);
      await countBatchDocuments(tx, batch.id, 1);
    });
  }

  /**
   * The document a key already made in its scope. Used with another request (another
   * fingerprint), the key is refused: answering with the first request's document would
   * tell the second caller its document exists when nothing was made for it. A null
   * fingerprint (an unattempted batch record) or a null stored hash (written before
   * hashes were kept) is not compared.
   */
  private async byIdempotencyKey(
    scope: string,
    key: string,
    fingerprint: string | null,
  ): Promise<DocumentRow | undefined> {
    const found = await this.db
      .selectFrom('communications.documents')
      .selectAll()
      .where('idempotency_scope', '=', scope)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    if (found && fingerprint && found.request_hash && found.request_hash !== fingerprint)
      throw keyReused(key);
    return found;
  }

  private async resolveVersion(
    req: GenerateRequest,
  ): Promise<{ version: TemplateVersionRow; channels: string[]; templateName: string }> {
    const found = await this.findVersion(req);
    // An approval is bound to the content it approved: content changed behind it no longer counts.
    // (A version mirrored from Exstream holds a reference, not the design: Exstream keeps approved
    // versions immutable, and approval in the graph checked their live content hash.)
    if (
      !isExstreamContent(found.version.content) &&
      templateContentHash(found.version.content, found.version.data_schema) !== found.version.content_hash
    ) {
      throw approvalRequired(
        `The content of template version ${found.version.id} changed after it was approved`,
      );
    }
    return found;
  }

  private async findVersion(
    req: GenerateRequest,
  ): Promise<{ version: TemplateVersionRow; channels: string[]; templateName: string }> {
    if (req.templateVersionId) {
      const version = await this.db
        .selectFrom('communications.template_versions')
        .selectAll()
        .where('id', '=', req.templateVersionId)
        .executeTakeFirst();
      if (!version) throw notFound('TemplateVersion', req.templateVersionId);
      // A reissue reproduces what was sent, whatever became of the version since.
      if (!req.reissueOf && version.status !== 'APPROVED') {
        throw approvalRequired(`Template version ${version.id} is ${version.status}, not APPROVED`);
      }
      const template = await this.db
        .selectFrom('communications.templates')
        .select(['channels', 'name'])
        .where('id', '=', version.template_id)
        .executeTakeFirstOrThrow();
      return { version, channels: template.channels, templateName: template.name };
    }
    if (!req.templateId) throw badInput('templateId: required', 'templateId');
    const found = await this.approvedVersion(req.templateId);
    if (!found) throw notFound('Template', req.templateId);
    if (!found.version) throw approvalRequired(`Template ${req.templateId} has no approved version`);
    return { version: found.version, channels: found.template.channels, templateName: found.template.name };
  }

  private async createDelivery(
    tx: Transaction<CommunicationsDB>,
    emit: Emit,
    doc: DocumentRow,
    address: string | null,
  ): Promise<DeliveryRow> {
    const delivery = await tx
      .insertInto('communications.deliveries')
      .values({
        id: newId('dlv'),
        document_id: doc.id,
        channel: doc.channel,
        status: 'PENDING',
        attempts: 0,
        address,
        location: null,
        last_error: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await emitDelivery(emit, delivery, doc);
    return delivery;
  }

  /** Records an exception and asks workflow for its case (after commit, durably). */
  async raiseException(
    tx: Transaction<CommunicationsDB>,
    kind: ExceptionKindName,
    message: string,
    doc: DocumentRow,
    deliveryId: string | null,
  ): Promise<ExceptionRow> {
    const exc = await tx
      .insertInto('communications.exceptions')
      .values({
        id: newId('exc'),
        kind,
        status: 'OPEN',
        message: message.slice(0, 1000),
        document_id: doc.id,
        delivery_id: deliveryId,
        case_id: null,
        resolution: null,
        resolved_by: null,
        resolved_at: null,
        retry_document_id: null,
        retry_delivery_id: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await this.commands.enqueue(tx, 'openExceptionCase', {
      exceptionId: exc.id,
      kind,
      message: exc.message,
      documentId: doc.id,
      customerId: doc.customer_id,
      channel: doc.channel,
      sourceCaseId: doc.case_id,
    });
    return exc;
  }

  /** Command handler: opens the exception's case, links it, and announces the exception. */
  async runOpenExceptionCase(payload: Record<string, unknown>): Promise<void> {
    const exceptionId = String(payload.exceptionId);
    const { caseId } = await this.ports.openExceptionCase({
      exceptionId,
      kind: String(payload.kind),
      message: String(payload.message),
      documentId: (payload.documentId as string | null) ?? null,
      customerId: (payload.customerId as string | null) ?? null,
      channel: (payload.channel as string | null) ?? null,
      sourceCaseId: (payload.sourceCaseId as string | null) ?? null,
    });
    await this.outbox.transaction(async (tx, emit) => {
      const linked = await tx
        .updateTable('communications.exceptions')
        .set({ case_id: caseId })
        .where('id', '=', exceptionId)
        .where('case_id', 'is', null)
        .returningAll()
        .executeTakeFirst();
      // Raised once its case exists, so subscribers can read `case { ... }` at once.
      if (linked) {
        await emit('EXCEPTION_RAISED', {
          exceptionId,
          kind: linked.kind,
          caseId,
          channel: (payload.channel as string | null) ?? null,
        });
      }
    });
  }

  /**
   * Resolves an exception, optionally generating (or resending) its document again.
   *
   * The winner is decided first, on the locked row: the request that finds the
   * exception OPEN and unclaimed writes its claim (who, the resolution, the corrected
   * data) and commits; a concurrent request then finds the claim and gets CONFLICT
   * without generating anything. Only then is the retry made, from the claim, outside
   * any lock (rendering can be slow), and the exception RESOLVED under the claim's
   * token. So the request that won the status change is the one whose data is
   * regenerated. A command enqueued with the claim finishes it should this process
   * die before it does (or an outage interrupts it); a refusal of the retry (see
   * isRefusal) releases the claim, leaving the exception OPEN as it was.
   */
  async resolveException(
    actor: string,
    input: { exceptionId: string; resolution: string; regenerate?: boolean | null; data?: unknown },
  ): Promise<ExceptionRow> {
    const resolution = input.resolution.trim();
    if (!resolution || resolution.length > 2000)
      throw badInput('resolution: 1 to 2000 characters', 'resolution');
    const corrected = input.data == null ? null : checkData(input.data);
    const { claim, commandId } = await this.outbox.transaction(async (tx) => {
      const exc = await tx
        .selectFrom('communications.exceptions')
        .selectAll()
        .where('id', '=', input.exceptionId)
        .forUpdate()
        .executeTakeFirst();
      if (!exc) throw notFound('GenerationException', input.exceptionId);
      if (exc.status !== 'OPEN') throw conflict(`Exception ${exc.id} is already ${exc.status}`);
      const held = exc.claim as ResolutionClaim | null;
      if (held) throw conflict(`Exception ${exc.id} is being resolved by ${held.actor}`);
      if (!exc.case_id) throw conflict(`Exception ${exc.id} has no case yet; try again in a moment`);
      if (corrected && exc.kind !== 'MISSING_DATA')
        throw badInput('data: corrected data applies to MISSING_DATA exceptions only', 'data');
      const claim: ResolutionClaim = {
        token: randomUUID(),
        actor,
        resolution,
        regenerate: input.regenerate === true,
        data: corrected,
      };
      await tx
        .updateTable('communications.exceptions')
        .set({ claim: JSON.stringify(claim) })
        .where('id', '=', exc.id)
        .execute();
      const commandId = await this.commands.enqueue(
        tx,
        'finishResolution',
        { exceptionId: exc.id, token: claim.token },
        { delayMs: RESOLUTION_SAFETY_NET_MS },
      );
      return { claim, commandId };
    });
    let row: ExceptionRow;
    try {
      row = await this.finishResolution(input.exceptionId, claim.token);
    } catch (err) {
      // Refused: the claim was released, so the command has nothing left to do. Anything
      // else (an outage) leaves the claim to the command, which finishes it in a while.
      if (isRefusal(err)) await this.commands.finished(commandId);
      throw err;
    }
    await this.commands.finished(commandId);
    return row;
  }

  /** Command handler: finishes a claimed resolution whose request did not (a crash). */
  async runFinishResolution(payload: Record<string, unknown>): Promise<void> {
    try {
      await this.finishResolution(String(payload.exceptionId), String(payload.token));
    } catch (err) {
      // The claim was released; retrying would change nothing.
      if (!isRefusal(err)) throw err;
    }
  }

  /** Makes the claimed retry and resolves the exception; idempotent per claim. */
  private async finishResolution(exceptionId: string, token: string): Promise<ExceptionRow> {
    const exc = await this.db
      .selectFrom('communications.exceptions')
      .selectAll()
      .where('id', '=', exceptionId)
      .executeTakeFirstOrThrow();
    const claim = exc.claim as ResolutionClaim | null;
    // Finished already (by the request or by the command), or released.
    if (exc.status !== 'OPEN' || claim?.token !== token) return exc;
    const doc = exc.document_id
      ? await this.db
          .selectFrom('communications.documents')
          .selectAll()
          .where('id', '=', exc.document_id)
          .executeTakeFirst()
      : undefined;
    let retryDocument: DocumentRow | null = null;
    let retryDelivery: DeliveryRow | null = null;
    try {
      if (claim.regenerate && doc) {
        if (exc.kind === 'DELIVERY_FAILURE') {
          retryDelivery = await this.resend(doc, exc);
        } else {
          const snapshot = doc.snapshot as unknown as RenderSnapshot;
          retryDocument = await this.generate({
            actor: claim.actor,
            scope: 'system',
            customerId: doc.customer_id,
            templateVersionId: doc.template_version_id,
            channel: doc.channel,
            data: { ...snapshot.data, ...(claim.data ?? {}) },
            caseId: doc.case_id,
            // Generation was signed off for the original; the retry inherits it.
            caseApproved: true,
            // One retry per claim, however often this runs.
            idempotencyKey: `retry:${exc.id}:${token}`,
          });
        }
      }
    } catch (err) {
      if (isRefusal(err)) {
        await this.db
          .updateTable('communications.exceptions')
          .set({ claim: null })
          .where('id', '=', exc.id)
          .where('status', '=', 'OPEN')
          .where(sql<string>`claim->>'token'`, '=', token)
          .execute();
      }
      throw err;
    }
    return this.outbox.transaction(async (tx) => {
      // The retry may have ended since it was answered (a retry after an outage): its status
      // now, read under lock, so that either this records GENERATED or recordLateRetry sees
      // this resolution.
      const retryStatus = retryDocument
        ? (
            await tx
              .selectFrom('communications.documents')
              .select('status')
              .where('id', '=', retryDocument.id)
              .forUpdate()
              .executeTakeFirstOrThrow()
          ).status
        : null;
      const row = await tx
        .updateTable('communications.exceptions')
        .set({
          status: 'RESOLVED',
          resolution: claim.resolution,
          resolved_by: claim.actor,
          resolved_at: new Date(),
          retry_document_id: retryDocument?.id ?? null,
          retry_delivery_id: retryDelivery?.id ?? null,
          claim: null,
        })
        .where('id', '=', exc.id)
        .where('status', '=', 'OPEN')
        .where(sql<string>`claim->>'token'`, '=', token)
        .returningAll()
        .executeTakeFirst();
      if (!row) {
        // The other path (request or command) finished this claim a moment ago.
        return tx
          .selectFrom('communications.exceptions')
          .selectAll()
          .where('id', '=', exc.id)
          .executeTakeFirstOrThrow();
      }
      await this.commands.enqueue(tx, 'recordExceptionOutcome', {
        caseId: exc.case_id,
        sourceCaseId: doc?.case_id ?? null,
        actor: claim.actor,
        resolution: claim.resolution,
        retryDocumentId: retryDocument?.id ?? null,
        retryDeliveryId: retryDelivery?.id ?? null,
        retryStatus: retryStatus ?? (retryDelivery ? 'RESENT' : null),
      });
      return row;
    });
  }

  async runRecordExceptionOutcome(payload: Record<string, unknown>): Promise<void> {
    await this.ports.recordExceptionOutcome({
      caseId: String(payload.caseId),
      sourceCaseId: (payload.sourceCaseId as string | null) ?? null,
      actor: String(payload.actor),
      resolution: String(payload.resolution),
      retryDocumentId: (payload.retryDocumentId as string | null) ?? null,
      retryDeliveryId: (payload.retryDeliveryId as string | null) ?? null,
      retryStatus: (payload.retryStatus as string | null) ?? null,
    });
  }

  /** A new delivery attempt of the same bytes, to the customer's current address. */
  private async resend(doc: DocumentRow, exc: ExceptionRow): Promise<DeliveryRow> {
    const [customer] = await this.ports.customers([doc.customer_id]);
    const address = customer ? addressFor(doc.channel as Channel, customer) : null;
    // One resend per exception, however often this runs.
    const id = `dlv_resend_${exc.id}`;
    return this.outbox.transaction(async (tx, emit) => {
      const delivery = await tx
        .insertInto('communications.deliveries')
        .values({
          id,
          document_id: doc.id,
          channel: doc.channel,
          status: 'PENDING',
          attempts: 0,
          address,
          location: null,
          last_error: null,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returningAll()
        .executeTakeFirst();
      const row =
        delivery ??
        (await tx
          .selectFrom('communications.deliveries')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirstOrThrow());
      if (delivery) await emitDelivery(emit, row, doc);
      return row;
    });
  }
}

/** A document's status event: what its subscribers and the snapshotter read. */
export async function emitDocumentStatus(
  emit: Emit,
  doc: Pick<DocumentRow, 'id' | 'status' | 'customer_id' | 'case_id'>,
) {
  await emit('DOCUMENT_STATUS', {
    documentId: doc.id,
    status: doc.status,
    customerId: doc.customer_id,
    caseId: doc.case_id,
  });
}

export async function emitDelivery(
  emit: Emit,
  delivery: DeliveryRow,
  doc: Pick<DocumentRow, 'id' | 'customer_id' | 'case_id'>,
) {
  await emit('DELIVERY_STATUS', {
    deliveryId: delivery.id,
    documentId: doc.id,
    customerId: doc.customer_id,
    caseId: doc.case_id,
    // The state at this step: subscribers see every step even if the next one already happened.
    delivery: {
      id: delivery.id,
      channel: delivery.channel,
      status: delivery.status,
      attempts: delivery.attempts,
      lastError: delivery.last_error,
      updatedAt: new Date(delivery.updated_at).toISOString(),
    },
  });
}

/** The address a channel delivers to, or null when the customer has none. */
export function addressFor(channel: Channel, c: RenderSnapshot['customer']): string | null {
  switch (channel) {
    case 'EMAIL':
      return c.email;
    case 'MOBILE':
      return c.phone;
    case 'PRINT':
      return c.address
        ? [c.address.line1, c.address.line2, c.address.city, c.address.postcode, c.address.country]
            .filter(Boolean)
            .join(', ')
        : null;
    case 'WEB':
      return `web:${c.id}`;
  }
}

/**
 * An error that says the request cannot be done as asked (the template lost its
 * approval, the customer is gone), which trying again will not change; unlike an
 * outage (UPSTREAM_UNAVAILABLE) or an unexpected failure, after which a claimed
 * retry is tried again rather than given up.
 */
function isRefusal(err: unknown): boolean {
  return (
    err instanceof GraphQLErrorWithCode &&
    err.code !== ErrorCode.UPSTREAM_UNAVAILABLE &&
    err.code !== ErrorCode.INTERNAL_SERVER_ERROR
  );
}

/**
 * SHA-256 of the request as asked (before defaults are applied): what a key is bound
 * to. Canonical JSON, so key order in `data` does not matter.
 */
export function requestFingerprint(req: GenerateRequest): string {
  const asked = {
    customerId: req.customerId,
    templateId: req.templateId ?? null,
    templateVersionId: req.templateVersionId ?? null,
    channel: req.channel ?? null,
    // A reissue renders the archived snapshot of `reissueOf`, which names it.
    data: req.snapshot ? null : (req.data ?? null),
    caseId: req.caseId ?? null,
    reissueOf: req.reissueOf ?? null,
    batchId: req.batchId ?? null,
  };
  return createHash('sha256').update(canonicalJson(asked)).digest('hex');
}

/**
 * `n` documents of a batch were inserted, in `tx`: its batch's count moves with them
 * (migration 016), so whether every record has its document is one row's read
 * instead of a count of the batch's documents.
 */
async function countBatchDocuments(
  tx: Transaction<CommunicationsDB>,
  batchId: string,
  n: number,
): Promise<void> {
  await tx
    .updateTable('communications.notice_batches')
    .set((eb) => ({ documents: eb('documents', '+', n) }))
    .where('id', '=', batchId)
    .execute();
}

/** The refusal of a key used before with another request (see `byIdempotencyKey`). */
function keyReused(key: string): GraphQLErrorWithCode {
  return conflict(
    `idempotencyKey ${JSON.stringify(key)} was used before with a different request; use a new key for a new request`,
    'IDEMPOTENCY_KEY_REUSED',
  );
}

function checkData(data: unknown): Record<string, unknown> {
  if (data == null) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw badInput('data: must be a JSON object', 'data');
  if (Buffer.byteLength(JSON.stringify(data)) > DATA_MAX_BYTES)
    throw badInput(`data: at most ${DATA_MAX_BYTES} bytes`, 'data');
  return data as Record<string, unknown>;
}
