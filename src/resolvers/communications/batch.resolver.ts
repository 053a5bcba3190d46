import { RESUME_AFTER } from '../../schema/shared/index.js';
import { subscriptionSource } from '../stream-policy.js';
import {
  Arg,
  Authorized,
  Ctx,
  Directive,
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
import { notFound } from '../../errors/index.js';
import type { BusEvent } from '../../events/index.js';
import { snapshotOf } from '../../events/snapshot.js';
import {
  CaseCommunications,
  GenerationException,
  LaunchNoticeBatchInput,
  NoticeBatch,
  NoticeCount,
} from '../../schema/communications/types.js';
import type { Channel, DeliveryStatus, DocumentStatus } from '../../schema/shared/index.js';
import type { NoticeBatchRow } from '../../store/tables.js';
import { MUTATION_ROLES } from '../policy.js';
import { toException } from './mappers.js';

const toBatch = (r: NoticeBatchRow): NoticeBatch => ({
  id: r.id,
  status: r.status,
  segments: r.segments,
  channels: r.channels as Channel[],
  total: r.total,
  startedAt: r.created_at,
  finishedAt: r.finished_at,
  caseId: r.case_id,
});

@Resolver(() => NoticeBatch)
export class NoticeBatchResolver {
  @Authorized()
  @Query(() => NoticeBatch, { nullable: true })
  async noticeBatch(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<NoticeBatch | null> {
    const row = await ctx.communications.loaders.batch.load(id);
    return row ? toBatch(row) : null;
  }

  @Authorized(...MUTATION_ROLES.internal)
  @Mutation(() => NoticeBatch)
  @Directive('@inaccessible')
  async launchNoticeBatch(
    @Arg('input', () => LaunchNoticeBatchInput) input: LaunchNoticeBatchInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<NoticeBatch> {
    const { batchId } = await ctx.communications.batches.launch(input);
    const row = await ctx.communications.loaders.batch.load(batchId);
    if (!row) throw notFound('NoticeBatch', batchId);
    return toBatch(row);
  }

  @Authorized()
  @Subscription(() => NoticeBatch, {
    description:
      'Progress of notice batches, or of one batch or case: at most every half second while records are generated and delivered, and once when every delivery ended (COMPLETED, with the counts the report shows); after that, whenever a resend moves one of its deliveries.',
    subscribe: ({ args, context }) => {
      const ctx = context as CommunicationsContext;
      return subscriptionSource(
        ctx,
        { bus: ctx.communications.bus, log: ctx.communications.log, source: 'communications' },
        'noticeBatchProgress',
        'BATCH_PROGRESS',
        args as Record<string, unknown>,
        ['batchId', 'caseId'],
      );
    },
  })
  async noticeBatchProgress(
    @Root() event: BusEvent,
    @Arg('after', () => ID, RESUME_AFTER)
    _after: string | null,
    @Ctx() ctx: CommunicationsContext,
    @Arg('batchId', () => ID, { nullable: true }) _batchId?: string | null,
    @Arg('caseId', () => ID, { nullable: true }) _caseId?: string | null,
  ): Promise<NoticeBatch> {
    // The batch and its counts as they were at this event (src/events/snapshot.ts).
    ctx.communications.loaders = ctx.communications.newLoaders(snapshotOf(event));
    const id = String(event.payload.batchId);
    const row = await ctx.communications.loaders.batch.load(id);
    if (!row) throw notFound('NoticeBatch', id);
    return { ...toBatch(row), eventId: event.id };
  }

  @FieldResolver(() => Int, { description: 'How many customers the segments held when the batch started.' })
  customers(@Root() b: NoticeBatch): number {
    return b.channels.length ? b.total / b.channels.length : 0;
  }

  @FieldResolver(() => Int)
  async generated(@Root() b: NoticeBatch, @Ctx() ctx: CommunicationsContext): Promise<number> {
    return (await ctx.communications.loaders.batchProgress.load(b.id)).generated;
  }

  @FieldResolver(() => Int, { description: 'Records whose generation failed (each with its exception).' })
  async failed(@Root() b: NoticeBatch, @Ctx() ctx: CommunicationsContext): Promise<number> {
    return (await ctx.communications.loaders.batchProgress.load(b.id)).failed;
  }

  @FieldResolver(() => Int)
  async delivered(@Root() b: NoticeBatch, @Ctx() ctx: CommunicationsContext): Promise<number> {
    return (await ctx.communications.loaders.batchProgress.load(b.id)).delivered;
  }

  @FieldResolver(() => Int)
  async deliveryFailed(@Root() b: NoticeBatch, @Ctx() ctx: CommunicationsContext): Promise<number> {
    return (await ctx.communications.loaders.batchProgress.load(b.id)).deliveryFailed;
  }

  @FieldResolver(() => [NoticeCount], {
    description: 'Counts by channel, document status and delivery status.',
  })
  async counts(@Root() b: NoticeBatch, @Ctx() ctx: CommunicationsContext): Promise<NoticeCount[]> {
    return (await ctx.communications.loaders.batchProgress.load(b.id)).byChannel.map((c) => ({
      channel: c.channel as Channel,
      documentStatus: c.documentStatus as DocumentStatus,
      deliveryStatus: c.deliveryStatus as DeliveryStatus | null,
      count: c.count,
    }));
  }

  @FieldResolver(() => [GenerationException], { description: 'Exceptions of this batch not yet resolved.' })
  async openExceptions(
    @Root() b: NoticeBatch,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<GenerationException[]> {
    return (await ctx.communications.loaders.openExceptionsByBatch.load(b.id)).map(toException);
  }

  @FieldResolver(() => CaseCommunications, { description: 'The MANDATORY_NOTICE case it was approved in.' })
  case(@Root() b: NoticeBatch) {
    return { id: b.caseId };
  }
}

@Resolver(() => CaseCommunications)
export class CaseNoticeResolver {
  @FieldResolver(() => NoticeBatch, {
    nullable: true,
    description: 'The batch of a MANDATORY_NOTICE case, once signed off.',
  })
  async noticeBatch(
    @Root() c: CaseCommunications,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<NoticeBatch | null> {
    const row = await ctx.communications.loaders.batchByCase.load(c.id);
    return row ? toBatch(row) : null;
  }
}
