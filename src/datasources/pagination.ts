import { sql, type Kysely } from 'kysely';
import { badInput } from '../errors/index.js';

/**
 * Opaque keyset cursors over (created_at, id): stable under inserts, unlike
 * offsets. The cursor is base64url JSON so clients treat it as a string.
 */
export interface Cursor {
  at: string;
  id: string;
}

export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.at, c.id])).toString('base64url');
}

export function decodeCursor(raw: string | null | undefined): Cursor | null {
  if (raw == null) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') {
      if (!Number.isNaN(Date.parse(v[0]))) return { at: v[0], id: v[1] };
    }
  } catch {
    /* fall through */
  }
  throw badInput('after: not a cursor returned by this API', 'after');
}

export function pageSize(first: number | null | undefined): number {
  if (first == null) return DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE) {
    throw badInput(`first: must be between 0 and ${MAX_PAGE}`, 'first');
  }
  return first;
}

export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
  totalCount: number;
}

export function toPage<T>(rows: T[], size: number, totalCount: number): Page<T> {
  return { nodes: rows.slice(0, size), hasNextPage: rows.length > size, totalCount };
}

/**
 * The first page (newest first) of each owner's rows, for a batch of owners,
 * in one query: a window function ranks each owner's rows so only `size + 1`
 * of them are read, and counts them all for `totalCount`. Reading every row
 * of every owner instead grows with the owner's history (a customer on a
 * notice list gathers documents by the hundred).
 */
export async function firstPagesByOwner<R extends object>(
  db: Kysely<unknown>,
  table: string,
  ownerColumn: string,
  ownerIds: readonly string[],
  size: number,
): Promise<Page<R>[]> {
  if (!ownerIds.length) return [];
  const owner = sql.ref(`t.${ownerColumn}`);
  const { rows } = await sql<R & { owner_key: string; owner_rank: string; owner_total: string }>`
    select * from (
      select t.*, ${owner} as owner_key,
        row_number() over (partition by ${owner} order by t.created_at desc, t.id desc) as owner_rank,
        count(*) over (partition by ${owner}) as owner_total
      from ${sql.table(table)} t
      where ${owner} = any(${sql.val([...ownerIds])}::text[])
    ) ranked
    where owner_rank <= ${size + 1}
    order by owner_key, owner_rank`.execute(db);
  const pages = new Map<string, { nodes: R[]; total: number }>();
  for (const { owner_key, owner_rank: _rank, owner_total, ...row } of rows) {
    const page = pages.get(owner_key) ?? { nodes: [], total: Number(owner_total) };
    page.nodes.push(row as unknown as R);
    pages.set(owner_key, page);
  }
  return ownerIds.map((id) => {
    const page = pages.get(id);
    return page ? toPage(page.nodes, size, page.total) : toPage([], size, 0);
  });
}
