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
