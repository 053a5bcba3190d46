import type { CustomerRow } from '../../store/tables.js';
import type { Customer, CustomerConnection, PostalAddress } from '../../schema/customers/types.js';
import type { Channel } from '../../schema/shared/index.js';
import { encodeCursor, type Page } from '../../datasources/pagination.js';

export const toCustomer = (r: CustomerRow): Customer => ({
  id: r.id,
  name: r.name,
  email: r.email,
  phone: r.phone,
  postalAddress: r.address ? ({ line2: null, ...r.address } as unknown as PostalAddress) : null,
  preferredChannel: r.preferred_channel as Channel,
  segments: r.segments,
  locale: r.locale,
  brand: r.brand,
});

export function toCustomerConnection(page: Page<CustomerRow>): CustomerConnection {
  const edges = page.nodes.map((r) => ({
    cursor: encodeCursor({ at: r.created_at.toISOString(), id: r.id }),
    node: toCustomer(r),
  }));
  return {
    edges,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: page.totalCount,
  };
}
