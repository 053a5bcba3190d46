import { Directive, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTime } from './index.js';

/**
 * The integrity check of a hash-chained audit trail. Shareable: workflow
 * reports the case trail and communications the template trail in the same
 * shape, each through a query field of its own.
 */
export enum TrailBreak {
  UNCHAINED = 'UNCHAINED',
  LINK_BROKEN = 'LINK_BROKEN',
  OUT_OF_SEQUENCE = 'OUT_OF_SEQUENCE',
  ALTERED = 'ALTERED',
}
registerEnumType(TrailBreak, {
  name: 'TrailBreak',
  description: 'Why an audit trail entry fails verification.',
  valuesConfig: {
    UNCHAINED: {
      description: 'The entry has no chain values: it was added with the chain trigger disabled.',
    },
    LINK_BROKEN: {
      description:
        'The entry does not link to the one before it: an entry before it was removed, replaced or inserted.',
    },
    OUT_OF_SEQUENCE: {
      description: 'The entry is not at the position it was given: entries were removed or renumbered.',
    },
    ALTERED: { description: 'The entry no longer matches its hash: its content was changed.' },
  },
});

@InputType({
  description: 'A trail head recorded earlier, outside the database (entries and headHash of a past check).',
})
export class TrailAnchorInput {
  @Field(() => Int)
  entries!: number;

  @Field(() => String, { description: 'headHash as it was then (hex).' })
  hash!: string;
}

@ObjectType({
  description:
    'Whether an append-only audit trail is intact: every entry carries the hash of the one before.',
})
@Directive('@shareable')
export class AuditTrailCheck {
  @Field(() => String, { description: 'The trail checked (schema.table).' })
  table!: string;

  @Field(() => Int)
  entries!: number;

  @Field(() => Boolean)
  intact!: boolean;

  @Field(() => Int, {
    nullable: true,
    description:
      'Position (1 = first entry, in chain order) of the first entry that fails; null when intact.',
  })
  firstBrokenAt!: number | null;

  @Field(() => ID, { nullable: true, description: 'The id of that entry, as in a history (AuditEvent.id).' })
  firstBrokenEntryId!: string | null;

  @Field(() => TrailBreak, { nullable: true })
  reason!: TrailBreak | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Hash of the last entry (hex). Record it with entries outside the database: a later check with it as anchor detects a rewrite of the whole chain.',
  })
  headHash!: string | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'With an anchor: whether the entry at its position still has its hash. Null without one.',
  })
  anchorMatches!: boolean | null;

  @Field(() => DateTime)
  checkedAt!: Date;
}
