import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { CommunicationsContext } from '../../context/index.js';
import type { HeldJobEventRow, HeldStep } from '../../datasources/communications/runtime-jobs.js';
import type { BusEvent } from '../../events/index.js';
import { HeldJob, HeldJobStatus, ReleaseHeldJobInput } from '../../schema/communications/held-jobs.js';
import { AuditEvent, RESUME_AFTER } from '../../schema/shared/index.js';
import type { HeldJobRow } from '../../store/tables.js';
import { toAuditEvent } from '../audit.js';
import { HELD_JOB_ROLES, MUTATION_ROLES } from '../policy.js';
import { subscriptionSource } from '../stream-policy.js';

export const toHeldJob = (
  r: Pick<
    HeldJobRow,
    | 'job_id'
    | 'external_id'
    | 'held_since'
    | 'status'
    | 'released_by'
    | 'released_at'
    | 'release_comment'
    | 'steps'
  >,
): HeldJob => ({
  id: r.job_id,
  externalId: r.external_id,
  since: r.held_since,
  status: r.status as HeldJobStatus,
  releasedBy: r.released_by,
  releasedAt: r.released_at,
  releaseComment: r.release_comment,
  steps: (r.steps as HeldStep[]).map((s) => ({
    id: s.id,
    flowInstanceId: s.flowInstanceId,
    name: s.name,
    displayName: s.displayName,
    type: s.type,
    status: s.status,
    since: s.since ? new Date(s.since) : null,
  })),
});

/** Connected mode: Exstream runtime jobs held at a hold step (contract, "Runtime monitor"). */
@Resolver(() => HeldJob)
export class HeldJobResolver {
  @Authorized(...HELD_JOB_ROLES)
  @Query(() => [HeldJob], {
    description:
      'Exstream runtime jobs holding at a hold step now, longest held first (connected mode; empty in the embedded mode). Refreshed every EXSTREAM_POLL_MS by the runtime monitor.',
  })
  async heldJobs(@Ctx() ctx: CommunicationsContext): Promise<HeldJob[]> {
    return (await ctx.communications.heldJobs.holding()).map(toHeldJob);
  }

  @Authorized(...HELD_JOB_ROLES)
  @Query(() => HeldJob, {
    nullable: true,
    description: 'A job the runtime monitor saw holding, whatever became of it since, with its trail.',
  })
  async heldJob(@Arg('id', () => ID) id: string, @Ctx() ctx: CommunicationsContext): Promise<HeldJob | null> {
    const row = await ctx.communications.heldJobs.byId(id);
    return row ? toHeldJob(row) : null;
  }

  @Authorized(...MUTATION_ROLES.releaseHeldJob)
  @Mutation(() => HeldJob, {
    description:
      'Releases the held steps of a held Exstream job, so its flow continues, and records who released it and why on its trail. One release wins: a concurrent one gets CONFLICT. A job no longer holding is CONFLICT; with Exstream down, UPSTREAM_UNAVAILABLE and the job stays HOLDING.',
  })
  async releaseHeldJob(
    @Arg('input', () => ReleaseHeldJobInput) input: ReleaseHeldJobInput,
    @Ctx() ctx: CommunicationsContext,
  ): Promise<HeldJob> {
    return toHeldJob(await ctx.communications.heldJobs.release(ctx.principal!.sub, input));
  }

  @Authorized()
  @Subscription(() => HeldJob, {
    description:
      'Connected mode: each change of a held Exstream job (it began holding, was released through the graph, or left its hold in Exstream), or of one job; each event shows the job as it was then (its history as it is now).',
    subscribe: ({ args, context }) => {
      const ctx = context as CommunicationsContext;
      return subscriptionSource(
        ctx,
        { bus: ctx.communications.bus, log: ctx.communications.log, source: 'communications' },
        'heldJobUpdated',
        'HELD_JOB_UPDATED',
        args as Record<string, unknown>,
        ['jobId'],
      );
    },
  })
  heldJobUpdated(
    @Root() event: BusEvent,
    @Arg('after', () => ID, RESUME_AFTER)
    _after: string | null,
    @Arg('jobId', () => ID, { nullable: true }) _jobId?: string | null,
  ): HeldJob {
    const r = event.payload.heldJob as HeldJobEventRow;
    return {
      ...toHeldJob({
        ...r,
        held_since: new Date(r.held_since),
        released_at: r.released_at ? new Date(r.released_at) : null,
      }),
      eventId: event.id,
    };
  }

  @FieldResolver(() => [AuditEvent], {
    description:
      "The job's trail, oldest first: held (by exstream), released (by whom, with the comment), left hold.",
  })
  async history(@Root() job: HeldJob, @Ctx() ctx: CommunicationsContext): Promise<AuditEvent[]> {
    return (await ctx.communications.heldJobs.history(job.id)).map(toAuditEvent);
  }
}
