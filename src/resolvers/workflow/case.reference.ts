import type { WorkflowContext } from '../../context/index.js';
import type { Case } from '../../schema/workflow/types.js';
import { toCase } from './mappers.js';

/** Entity resolution for the gateway: batched through the request's loader. */
export const workflowReferences = {
  Case: {
    async __resolveReference(ref: { id: string }, ctx: WorkflowContext): Promise<Case | null> {
      const row = await ctx.workflow.loaders.case.load(ref.id);
      return row ? toCase(row) : null;
    },
  },
  Customer: {
    // Workflow only adds fields to Customer; the key is all it needs.
    __resolveReference(ref: { id: string }): { id: string } {
      return { id: ref.id };
    },
  },
};
