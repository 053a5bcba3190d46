import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { WorkflowContext } from '../../context/index.js';
import { AuditTrailCheck, TrailAnchorInput } from '../../schema/shared/trail.js';
import { TRAIL_VERIFY_ROLES } from '../policy.js';
import { checkAnchor, toTrailCheck } from '../trail.js';

@Resolver()
export class CaseTrailResolver {
  @Authorized(...TRAIL_VERIFY_ROLES)
  @Query(() => AuditTrailCheck, {
    description:
      'Recomputes the hash chain of the case trails (every Case.history entry) and says whether it is intact.',
  })
  async caseTrailIntegrity(
    @Ctx() ctx: WorkflowContext,
    @Arg('anchor', () => TrailAnchorInput, {
      nullable: true,
      description: 'A head recorded earlier: also checks that the entry at its position still has its hash.',
    })
    anchor?: TrailAnchorInput | null,
  ): Promise<AuditTrailCheck> {
    return toTrailCheck(await ctx.workflow.trail.verify(checkAnchor(anchor)));
  }
}
