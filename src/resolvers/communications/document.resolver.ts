import { subscriptionSource } from '../stream-policy.js';
import {
  Arg,
  Authorized,
  Directive,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { CommunicationsContext } from '../../context/index.js';
import { pageSize } from '../../datasources/pagination.js';
import { notFound } from '../../errors/index.js';
import type { BusEvent } from '../../events/index.js';
import { snapshotOf } from '../../events/snapshot.js';
import {
  CaseCommunications,
  CustomerCommunications,
  Delivery,
  DeliveryStatusEvent,
  Document,
  DocumentConnection,
  GenerateDocumentInput,
  GenerateForCaseInput,
  GenerationException,
  ReissueForCaseInput,
  ResolveExceptionInput,
  TemplateVersion,
} from '../../schema/communications/types.js';
import { ExceptionKind, RESUME_AFTER } from '../../schema/shared/index.js';
import type { DeliveryRow } from '../../store/tables.js';
import { MUTATION_ROLES } from '../policy.js';
import { caseRef, toDelivery, toDocument, toDocumentConnection, toException, toVersion } from './mappers.js';

@Resolver(() => Document)
export class DocumentResolver {
  @Authorized()
  @Query(() => Document, { nullable: true })
  async document(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<Document | null> {
    const row = await ctx.communications.loaders.document.load(id);
    return row ? toDocument(row, ctx.communications.publicUrl) : null;
  }

  @Authorized(...MUTATION_ROLES.generateDocument)
  @Mutation(() => Document, {
    description:
      "Generates from the template's approved version. A generation failure is not an error: the document comes back FAILED with its exception, and the mutation waits for the exception's case to open (up to FOLLOW_UP_WAIT_MS, 5 s by default) so `exceptions { case }` is filled in; if that takes longer, `case` is null in the answer and `generationExceptionRaised` announces the exception once its case is open. Delivery happens after the answer: `deliveryStatusChanged` follows each step. `idempotencyKey` is the caller's own: the same key with the same request returns the same document; with another request it is CONFLICT (reason IDEMPOTENCY_KEY_REUSED).",
  })
  async generateDocument(
    @Arg('input', () => GenerateDocumentInput) input: GenerateDocumentInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<Document> {
    const row = await ctx.communications.service.generate({
      actor: ctx.principal!.sub,
      // The caller's keys are its own: another caller's same key is another request.
      scope: { caller: ctx.principal!.sub },
      ...input,
    });
    if (row.status === 'FAILED') await ctx.communications.service.awaitExceptionCases(row.id);
    return toDocument(row, ctx.communications.publicUrl);
  }

  @Authorized(...MUTATION_ROLES.internal)
  @Mutation(() => Document)
  @Directive('@inaccessible')
  async generateForCase(
    @Arg('input', () => GenerateForCaseInput) input: GenerateForCaseInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<Document> {
    const row = await ctx.communications.service.generate({
      actor: input.requestedBy,
      // Workflow's command keys (case:<id>, milestone:..., dispute:...).
      scope: 'system',
      customerId: input.customerId,
      templateVersionId: input.templateVersionId,
      channel: input.channel,
      data: input.data,
      caseId: input.caseId,
      // Workflow signed the case off; this call is how it says so.
      caseApproved: true,
      idempotencyKey: input.idempotencyKey,
    });
    return toDocument(row, ctx.communications.publicUrl);
  }

  @Authorized(...MUTATION_ROLES.internal)
  @Mutation(() => Document)
  @Directive('@inaccessible')
  async reissueForCase(
    @Arg('input', () => ReissueForCaseInput) input: ReissueForCaseInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<Document> {
    const row = await ctx.communications.service.reissue({ ...input, actor: input.requestedBy });
    return toDocument(row, ctx.communications.publicUrl);
  }

  @Authorized()
  @Subscription(() => DeliveryStatusEvent, {
    description:
      'Every step of every delivery (PENDING, SENT, DELIVERED, FAILED), optionally for one customer, case or document.',
    subscribe: ({ args, context }) => {
      const ctx = context as CommunicationsContext;
      return subscriptionSource(
        ctx,
        { bus: ctx.communications.bus, log: ctx.communications.log, source: 'communications' },
        'deliveryStatusChanged',
        'DELIVERY_STATUS',
        args as Record<string, unknown>,
        ['documentId', 'caseId', 'customerId'],
      );
    },
  })
  deliveryStatusChanged(
    @Root() event: BusEvent,
    @Arg('after', () => ID, RESUME_AFTER)
    _after: string | null,
    @Ctx() ctx: CommunicationsContext,
    @Arg('customerId', () => ID, { nullable: true }) _customerId?: string | null,
    @Arg('caseId', () => ID, { nullable: true }) _caseId?: string | null,
    @Arg('documentId', () => ID, { nullable: true }) _documentId?: string | null,
  ): DeliveryStatusEvent {
    // One subscription context serves every event: fresh loaders per event, primed with
    // the document as it was at this step (src/events/snapshot.ts).
    ctx.communications.loaders = ctx.communications.newLoaders(snapshotOf(event));
    const d = event.payload.delivery as {
      id: string;
      channel: string;
      status: string;
      attempts: number;
      lastError: string | null;
      updatedAt: string;
    };
    return {
      eventId: event.id,
      occurredAt: new Date(event.occurredAt),
      // The delivery as it was at this step, so every step reaches the subscriber.
      delivery: toDelivery({
        id: d.id,
        channel: d.channel,
        status: d.status,
        attempts: d.attempts,
        last_error: d.lastError,
        updated_at: new Date(d.updatedAt),
      } as DeliveryRow),
      documentId: String(event.payload.documentId),
    };
  }

  @FieldResolver(() => CaseCommunications, { nullable: true })
  case(@Root() d: Document) {
    return caseRef(d.caseId);
  }

  @FieldResolver(() => TemplateVersion)
  async templateVersion(@Root() d: Document, @Ctx() ctx: CommunicationsContext): Promise<TemplateVersion> {
    const v = await ctx.communications.loaders.version.load(d.templateVersionId);
    if (!v) throw notFound('TemplateVersion', d.templateVersionId);
    return toVersion(v);
  }

  @FieldResolver(() => Document, { nullable: true })
  async reissueOf(@Root() d: Document, @Ctx() ctx: CommunicationsContext): Promise<Document | null> {
    if (!d.reissueOfId) return null;
    const row = await ctx.communications.loaders.document.load(d.reissueOfId);
    return row ? toDocument(row, ctx.communications.publicUrl) : null;
  }

  @FieldResolver(() => [Delivery])
  async deliveries(@Root() d: Document, @Ctx() ctx: CommunicationsContext): Promise<Delivery[]> {
    return (await ctx.communications.loaders.deliveriesByDocument.load(d.id)).map(toDelivery);
  }

  @FieldResolver(() => [GenerationException])
  async exceptions(@Root() d: Document, @Ctx() ctx: CommunicationsContext): Promise<GenerationException[]> {
    return (await ctx.communications.loaders.exceptionsByDocument.load(d.id)).map(toException);
  }
}

@Resolver(() => DeliveryStatusEvent)
export class DeliveryStatusEventResolver {
  @FieldResolver(() => Document)
  async document(@Root() e: DeliveryStatusEvent, @Ctx() ctx: CommunicationsContext): Promise<Document> {
    const row = await ctx.communications.loaders.document.load(e.documentId);
    if (!row) throw notFound('Document', e.documentId);
    return toDocument(row, ctx.communications.publicUrl);
  }
}

@Resolver(() => GenerationException)
export class GenerationExceptionResolver {
  @Authorized(...MUTATION_ROLES.resolveException)
  @Mutation(() => GenerationException, {
    description:
      "Records the resolution on the exception and its case; with regenerate, generates again (or resends the same bytes for a delivery failure). The retry is made before the answer (`retryDocument`, `retryDelivery`). One resolution wins: a concurrent one gets CONFLICT and nothing is generated for it. The exception's case records the resolution a moment after the answer; `caseUpdated` announces it RESOLVED.",
  })
  async resolveException(
    @Arg('input', () => ResolveExceptionInput) input: ResolveExceptionInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<GenerationException> {
    const row = await ctx.communications.service.resolveException(ctx.principal!.sub, input);
    // A retry that failed again has an exception of its own: answered with its case, as generateDocument.
    if (row.retry_document_id) await ctx.communications.service.awaitExceptionCases(row.retry_document_id);
    return toException(row);
  }

  @Authorized()
  @Subscription(() => GenerationException, {
    description: 'Each generation or delivery failure, once its exception case is open.',
    subscribe: ({ args, context }) => {
      const ctx = context as CommunicationsContext;
      return subscriptionSource(
        ctx,
        { bus: ctx.communications.bus, log: ctx.communications.log, source: 'communications' },
        'generationExceptionRaised',
        'EXCEPTION_RAISED',
        args as Record<string, unknown>,
        ['kind'],
      );
    },
  })
  async generationExceptionRaised(
    @Root() event: BusEvent,
    @Arg('after', () => ID, RESUME_AFTER)
    _after: string | null,
    @Ctx() ctx: CommunicationsContext,
    @Arg('kind', () => ExceptionKind, { nullable: true }) _kind?: ExceptionKind | null,
  ): Promise<GenerationException> {
    const id = String(event.payload.exceptionId);
    // The exception as it was when raised (src/events/snapshot.ts).
    ctx.communications.loaders = ctx.communications.newLoaders(snapshotOf(event));
    const row = await ctx.communications.loaders.exception.load(id);
    if (!row) throw notFound('GenerationException', id);
    return { ...toException(row), eventId: event.id };
  }

  @FieldResolver(() => Document, { nullable: true })
  async document(
    @Root() e: GenerationException,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<Document | null> {
    if (!e.documentId) return null;
    const row = await ctx.communications.loaders.document.load(e.documentId);
    return row ? toDocument(row, ctx.communications.publicUrl) : null;
  }

  @FieldResolver(() => Delivery, {
    nullable: true,
    description: 'The failed delivery, for a DELIVERY_FAILURE.',
  })
  async delivery(
    @Root() e: GenerationException,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<Delivery | null> {
    if (!e.deliveryId) return null;
    const row = await ctx.communications.loaders.delivery.load(e.deliveryId);
    return row ? toDelivery(row) : null;
  }

  @FieldResolver(() => CaseCommunications, {
    nullable: true,
    description:
      'The workflow case opened for operations to work this exception. It is opened a moment after the failure and is null until then; generateDocument waits for it (see there), and `generationExceptionRaised` announces the exception once it is open.',
  })
  case(@Root() e: GenerationException) {
    return caseRef(e.caseId);
  }

  @FieldResolver(() => Document, {
    nullable: true,
    description: 'The document generated again when the exception was resolved.',
  })
  async retryDocument(
    @Root() e: GenerationException,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<Document | null> {
    if (!e.retryDocumentId) return null;
    const row = await ctx.communications.loaders.document.load(e.retryDocumentId);
    return row ? toDocument(row, ctx.communications.publicUrl) : null;
  }

  @FieldResolver(() => Delivery, {
    nullable: true,
    description: 'The new delivery attempt of the same document, for a resend.',
  })
  async retryDelivery(
    @Root() e: GenerationException,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<Delivery | null> {
    if (!e.retryDeliveryId) return null;
    const row = await ctx.communications.loaders.delivery.load(e.retryDeliveryId);
    return row ? toDelivery(row) : null;
  }
}

@Resolver(() => CaseCommunications)
export class CaseCommunicationsResolver {
  @FieldResolver(() => [Document])
  async documents(@Root() c: CaseCommunications, @Ctx() ctx: CommunicationsContext): Promise<Document[]> {
    return (await ctx.communications.loaders.documentsByCase.load(c.id)).map((r) =>
      toDocument(r, ctx.communications.publicUrl),
    );
  }

  @FieldResolver(() => [GenerationException])
  async exceptions(
    @Root() c: CaseCommunications,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<GenerationException[]> {
    return (await ctx.communications.loaders.exceptionsByCase.load(c.id)).map(toException);
  }
}

@Resolver(() => CustomerCommunications)
export class CustomerCommunicationsResolver {
  @FieldResolver(() => DocumentConnection)
  async documents(
    @Root() c: CustomerCommunications,
    @Ctx() ctx: CommunicationsContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<DocumentConnection> {
    const { loaders, reader, publicUrl } = ctx.communications;
    // First pages batch across customers; later pages are one query each.
    const page =
      after == null
        ? await loaders.documentsByCustomer.load(`${c.id}:${pageSize(first)}`)
        : await reader.documentsOfCustomer({ customerId: c.id, first, after });
    return toDocumentConnection(page, publicUrl);
  }
}
