import type { CustomersContext } from '../../context/index.js';
import type { Customer } from '../../schema/customers/types.js';
import { toCustomer } from './mappers.js';

export const customersReferences = {
  Customer: {
    async __resolveReference(ref: { id: string }, ctx: CustomersContext): Promise<Customer | null> {
      const row = await ctx.customers.loaders.customer.load(ref.id);
      return row ? toCustomer(row) : null;
    },
  },
  // The gateway sends the @requires field along with the key.
  Case: {
    __resolveReference(ref: { id: string; customerId?: string | null }) {
      return { id: ref.id, customerId: ref.customerId ?? null };
    },
  },
  Document: {
    __resolveReference(ref: { id: string; customerId?: string | null }) {
      return { id: ref.id, customerId: ref.customerId ?? null };
    },
  },
};
