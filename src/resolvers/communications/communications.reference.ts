import type { CommunicationsContext } from '../../context/index.js';
import { toDelivery, toDocument, toException, toTemplate, toVersion } from './mappers.js';

/** Entity resolution for the gateway, batched through the request's loaders. */
export const communicationsReferences = {
  Document: {
    async __resolveReference(ref: { id: string }, ctx: CommunicationsContext) {
      const row = await ctx.communications.loaders.document.load(ref.id);
      return row ? toDocument(row, ctx.communications.publicUrl) : null;
    },
  },
  Delivery: {
    async __resolveReference(ref: { id: string }, ctx: CommunicationsContext) {
      const row = await ctx.communications.loaders.delivery.load(ref.id);
      return row ? toDelivery(row) : null;
    },
  },
  GenerationException: {
    async __resolveReference(ref: { id: string }, ctx: CommunicationsContext) {
      const row = await ctx.communications.loaders.exception.load(ref.id);
      return row ? toException(row) : null;
    },
  },
  Template: {
    async __resolveReference(ref: { id: string }, ctx: CommunicationsContext) {
      const row = await ctx.communications.loaders.template.load(ref.id);
      return row ? toTemplate(row) : null;
    },
  },
  TemplateVersion: {
    async __resolveReference(ref: { id: string }, ctx: CommunicationsContext) {
      const row = await ctx.communications.loaders.version.load(ref.id);
      return row ? toVersion(row) : null;
    },
  },
  // Communications only adds fields to these; the key is all it needs.
  Case: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
  Customer: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
};
