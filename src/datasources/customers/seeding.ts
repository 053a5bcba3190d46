import type { Kysely } from 'kysely';
import type { CustomersDB } from '../../store/tables.js';
import { SEED_CUSTOMERS } from './seed/customers.js';

/** Demo customers on first start; a store that has customers is left alone. */
export async function seedCustomers(db: Kysely<CustomersDB>): Promise<number> {
  const { count } = await db
    .selectFrom('customers.customers')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow();
  if (Number(count) > 0) return 0;
  const result = await db
    .insertInto('customers.customers')
    .values(
      SEED_CUSTOMERS.map((c, i) => ({
        id: c.id,
        name: c.name,
        email: c.email,
        phone: c.phone,
        address: c.address ? JSON.stringify(c.address) : null,
        preferred_channel: c.preferredChannel,
        segments: c.segments,
        locale: c.locale,
        brand: c.brand,
        // Distinct, ordered creation times make the demo list order stable.
        created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      })),
    )
    // Two replicas starting on an empty database at once: the second finds the rows there.
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n);
}
