/**
 * Envelopes, paging and the runtime filter DSL as Exstream serves them (api-reference §4.1, §6).
 * Written from the reference, independently of the connector's own encoder, so that a
 * mistake in one shows up against the other.
 */
import { FakeHttpError, springError } from '../types.js';

export const page = <T>(items: T[], query: URLSearchParams, defaultCount = 1000) => {
  const offset = intParam(query, 'offset', 0);
  const count = intParam(query, 'count', defaultCount);
  const data = items.slice(offset, offset + count);
  return {
    status: 'success',
    data,
    page: {
      pageSize: count,
      // An item offset (api-reference §4.1 [I]).
      pageOffset: offset,
      totalElements: items.length,
      totalPages: count > 0 ? Math.ceil(items.length / count) : 0,
      currentPageNumber: count > 0 ? Math.floor(offset / count) : 0,
    },
  };
};

export function intParam(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new FakeHttpError(400, springError(400, `${name} must be a non-negative integer`, '').body);
  }
  return n;
}

/** `filter=key:v1,v2;key2:v` → key → values, unescaping `/colon/ /semi/ /bsol/` inside values. */
export function parseFilterDsl(raw: string | null, allowed: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!raw) return out;
  for (const clause of raw.split(';')) {
    if (!clause) continue;
    const colon = clause.indexOf(':');
    if (colon <= 0) throw badFilter(`"${clause}" is not key:value`);
    const key = clause.slice(0, colon);
    if (!allowed.includes(key)) throw badFilter(`unknown filter key ${key}`);
    const values = clause
      .slice(colon + 1)
      .split(',')
      .map((v) =>
        v
          .replace(/\/colon\//g, ':')
          .replace(/\/semi\//g, ';')
          .replace(/\/bsol\//g, '\\'),
      );
    out.set(key, values);
  }
  return out;
}

function badFilter(message: string): FakeHttpError {
  return new FakeHttpError(400, springError(400, `Invalid filter: ${message}`, '').body);
}

/** Dates in filters: `yyyy-MM-dd` or a full date-time (the reference shows both). */
export function parseFilterDate(value: string): number {
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(t)) throw badFilter(`${value} is not a date`);
  return t;
}

export const dataResponse = (data: unknown) => ({ status: 'success', data });
