import DataLoader from 'dataloader';
import { sql, type Kysely } from 'kysely';
import type { CustomerRow, CustomersDB } from '../../store/tables.js';
import { decodeCursor, pageSize, toPage, type Page } from '../pagination.js';

/** The customer book (stand-in for the CRM): reads and lookups by id. */
export interface CustomerDataSource {
  byIds(ids: readonly string[]): Promise<(CustomerRow | null)[]>;
  list(args: {
    segment?: string | null;
    first?: number | null;
    after?: string | null;
  }): Promise<Page<CustomerRow>>;
}

export class EmbeddedCustomers implements CustomerDataSource {
  constructor(private readonly db: Kysely<CustomersDB>) {}

  async byIds(ids: readonly string[]): Promise<(CustomerRow | null)[]> {
    if (!ids.length) return [];
    const rows = await this.db
      .selectFrom('customers.customers')
      .selectAll()
      .where('id', 'in', [...ids])
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async list(args: {
    segment?: string | null;
    first?: number | null;
    after?: string | null;
  }): Promise<Page<CustomerRow>> {
    const size = pageSize(args.first);
    const cursor = decodeCursor(args.after);
    let q = this.db.selectFrom('customers.customers');
    if (args.segment) q = q.where(sql<boolean>`${args.segment} = any(segments)`);
    const [{ count }] = [
      await q.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
    ];
    let pq = q.selectAll();
    if (cursor) {
      pq = pq.where((eb) =>
        eb.or([
          eb('created_at', '>', new Date(cursor.at)),
          eb.and([eb('created_at', '=', new Date(cursor.at)), eb('id', '>', cursor.id)]),
        ]),
      );
    }
    const rows = await pq
      .orderBy('created_at')
      .orderBy('id')
      .limit(size + 1)
      .execute();
    return toPage(rows, size, Number(count));
  }
}

/** Per-request loaders: one batched query per tick, results in key order. */
export function customerLoaders(ds: CustomerDataSource) {
  return {
    customer: new DataLoader<string, CustomerRow | null>((ids) => ds.byIds(ids)),
  };
}
export type CustomerLoaders = ReturnType<typeof customerLoaders>;
