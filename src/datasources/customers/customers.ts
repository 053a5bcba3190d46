import DataLoader from 'dataloader';
import { sql, type Kysely } from 'kysely';
import type { CustomerRow, CustomersDB } from '../../store/tables.js';
import { decodeCursor, pageSize, toPage, type Page } from '../pagination.js';
import { badInput, notFound } from '../../errors/index.js';
import type { Outbox } from '../../events/index.js';
import { EMAIL_ADDRESS, PHONE } from '../../validation/index.js';

/** The customer book (stand-in for the CRM): reads, lookups by id, and contact corrections. */
export interface CustomerDataSource {
  byIds(ids: readonly string[]): Promise<(CustomerRow | null)[]>;
  list(args: {
    segment?: string | null;
    first?: number | null;
    after?: string | null;
  }): Promise<Page<CustomerRow>>;
  /** Every customer in any of the segments, by id. */
  idsInSegments(segments: readonly string[]): Promise<string[]>;
  /** Corrects contact details; null clears one, undefined leaves it. */
  updateContact(
    actor: string,
    input: { customerId: string; email?: string | null; phone?: string | null },
  ): Promise<CustomerRow>;
}

// The same formats the GraphQL layer checks first, and the email one the outbox can deliver to.
const EMAIL = EMAIL_ADDRESS;

export class EmbeddedCustomers implements CustomerDataSource {
  constructor(
    private readonly db: Kysely<CustomersDB>,
    private readonly outbox: Outbox<CustomersDB>,
  ) {}

  async idsInSegments(segments: readonly string[]): Promise<string[]> {
    if (!segments.length) return [];
    const rows = await this.db
      .selectFrom('customers.customers')
      .select('id')
      .where(sql<boolean>`segments && ${sql.val([...segments])}::text[]`)
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  async updateContact(
    actor: string,
    input: { customerId: string; email?: string | null; phone?: string | null },
  ): Promise<CustomerRow> {
    const set: { email?: string | null; phone?: string | null } = {};
    if (input.email !== undefined) {
      const email = input.email?.trim() || null;
      if (email !== null && !EMAIL.test(email)) throw badInput('email: not an email address', 'email');
      set.email = email;
    }
    if (input.phone !== undefined) {
      const phone = input.phone?.trim() || null;
      if (phone !== null && !PHONE.test(phone))
        throw badInput('phone: international format, e.g. +44 7700 900123', 'phone');
      set.phone = phone;
    }
    if (!Object.keys(set).length) throw badInput('email or phone: give at least one', 'email');
    return this.outbox.transaction(async (tx, emit) => {
      const row = await tx
        .updateTable('customers.customers')
        .set(set)
        .where('id', '=', input.customerId)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw notFound('Customer', input.customerId);
      // The outbox row is the record of who changed which contact detail.
      await emit('CUSTOMER_UPDATED', { customerId: row.id, actor, fields: Object.keys(set) });
      return row;
    });
  }

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
