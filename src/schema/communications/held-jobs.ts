import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { AuditEvent, DateTime } from '../shared/index.js';
import { LIMITS, Text } from '../shared/validation.js';

/** Connected mode only (contract, "Runtime monitor"): Exstream runtime jobs parked at a hold step. */
export enum HeldJobStatus {
  HOLDING = 'HOLDING',
  RELEASED = 'RELEASED',
  LEFT_HOLD = 'LEFT_HOLD',
}
registerEnumType(HeldJobStatus, {
  name: 'HeldJobStatus',
  description:
    'HOLDING: Exstream holds it; RELEASED: released through the graph (releaseHeldJob); LEFT_HOLD: released or stopped in Exstream, outside the graph.',
});

@ObjectType({ description: 'A flow step of an Exstream runtime job, as the runtime monitor last read it.' })
export class HeldJobStep {
  @Field(() => ID, { description: 'The Exstream flow step id.' })
  id!: string;

  @Field(() => ID, { description: 'The flow instance the step belongs to.' })
  flowInstanceId!: string;

  @Field(() => String, { nullable: true, description: "Exstream's stepName." })
  name!: string | null;

  @Field(() => String, { nullable: true })
  displayName!: string | null;

  @Field(() => String, { nullable: true, description: "Exstream's stepType, e.g. hold." })
  type!: string | null;

  @Field(() => String, { description: "Exstream's step status when last read, e.g. holding." })
  status!: string;

  @Field(() => DateTime, { nullable: true, description: 'When the step started (or was queued).' })
  since!: Date | null;
}

@ObjectType({
  description:
    'An Exstream runtime job that was seen holding at a hold step (connected mode; the runtime monitor mirrors them, so this reads while Exstream is down).',
})
export class HeldJob {
  @Field(() => ID, { description: 'The Exstream job id.' })
  id!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'The eventId of the subscription event that delivered this (null in queries): resume with `after` from it.',
  })
  eventId?: string | null;

  @Field(() => String, { nullable: true, description: "The job's externalId in Exstream." })
  externalId!: string | null;

  @Field(() => [HeldJobStep], {
    description: 'The held flow steps (for a released job: the steps released).',
  })
  steps!: HeldJobStep[];

  @Field(() => DateTime, { description: 'Since when the job holds (its earliest held step).' })
  since!: Date;

  @Field(() => HeldJobStatus)
  status!: HeldJobStatus;

  @Field(() => String, { nullable: true, description: 'Who released it through the graph.' })
  releasedBy!: string | null;

  @Field(() => DateTime, { nullable: true })
  releasedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'Why, as the releaser wrote it.' })
  releaseComment!: string | null;

  /** Resolved by HeldJobResolver.history (auditor, operations, admin). */
  history?: AuditEvent[];
}

@InputType()
export class ReleaseHeldJobInput {
  @Field(() => ID, { description: 'The Exstream job id (HeldJob.id).' })
  jobId!: string;

  @Text(LIMITS.comment, { min: 1, multiline: true })
  @Field(() => String, { description: 'Why it is released; recorded on the job trail.' })
  comment!: string;
}
