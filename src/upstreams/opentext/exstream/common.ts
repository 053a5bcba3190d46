/**
 * What the Exstream APIs share (api-reference §4.1, §6): the envelopes, the page block, the
 * Spring-style error, and the runtime filter DSL. Every shape is typed once here or in its API
 * module; `[I]` marks a shape inferred from the public material (change it here when a real
 * deployment shows otherwise).
 */
import { z } from 'zod';
import { UpstreamProtocolError } from '../errors.js';
import type { UpstreamResponse } from '../http.js';

export const PageBlock = z.object({
  pageSize: z.number(),
  pageOffset: z.number(),
  totalElements: z.number(),
  totalPages: z.number().optional(),
  currentPageNumber: z.number().optional(),
});

export const pageResponse = <T extends z.ZodType>(item: T) =>
  z.object({ status: z.string(), data: z.array(item), page: PageBlock });
export const dataResponse = <T extends z.ZodType>(item: T) => z.object({ status: z.string(), data: item });
export const listResponse = <T extends z.ZodType>(item: T) =>
  z.object({ status: z.string(), data: z.array(item) });

export interface Page<T> {
  items: T[];
  offset: number;
  total: number;
}

/** `{timestamp,status,error,message,details,errorCode,path}`; "there isn't one for every single error case" [V:sdk]. */
export const SpringError = z.object({
  timestamp: z.union([z.number(), z.string()]).optional(),
  status: z.number().optional(),
  error: z.string().optional(),
  message: z.string().optional(),
  details: z.string().nullish(),
  errorCode: z.number().optional(),
  path: z.string().optional(),
});
export type SpringError = z.infer<typeof SpringError>;

/** The message of an error answer, whatever its shape, for logs and typed errors. */
export function errorMessage(response: UpstreamResponse): string {
  const parsed = SpringError.safeParse(response.json());
  if (parsed.success && (parsed.data.message || parsed.data.error)) {
    return parsed.data.message ?? parsed.data.error ?? '';
  }
  return response.text().slice(0, 300) || `HTTP ${response.status}`;
}

/** Parses a 2xx body against its shape; a mismatch is a protocol error, reported with the path that failed. */
export function parseBody<T>(schema: z.ZodType<T>, response: UpstreamResponse, operation: string): T {
  const parsed = schema.safeParse(response.json());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UpstreamProtocolError(
      'exstream',
      operation,
      response.status,
      `unexpected answer shape at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`,
    );
  }
  return parsed.data;
}

export function toPage<T>(body: { data: T[]; page: z.infer<typeof PageBlock> }): Page<T> {
  return { items: body.data, offset: body.page.pageOffset, total: body.page.totalElements };
}

/** A value inside the runtime filter DSL: `:` → `/colon/`, `;` → `/semi/`, `\` → `/bsol/` [V:spec]. */
export function escapeFilterValue(value: string): string {
  return value.replace(/\\/g, '/bsol/').replace(/:/g, '/colon/').replace(/;/g, '/semi/');
}

/**
 * `filter=key:v1,v2;key2:v` [V:spec]. Keys are joined with `;`, list values with `,`. A `,` inside
 * a value has no documented escape, so it is refused rather than sent split in two.
 */
export function filterDsl(
  filter: Record<string, string | number | boolean | Date | readonly string[] | undefined>,
): string | undefined {
  const clauses: string[] = [];
  for (const [key, raw] of Object.entries(filter)) {
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw instanceof Date ? raw.toISOString() : String(raw)];
    if (values.length === 0) continue;
    for (const v of values) {
      if (v.includes(',')) throw new Error(`filter ${key}: a value cannot contain "," (${v})`);
    }
    clauses.push(`${key}:${values.map(escapeFilterValue).join(',')}`);
  }
  return clauses.length ? clauses.join(';') : undefined;
}

/** Reads every page of a paged list (item offsets [I], §4.1). */
export async function allPages<T>(
  fetchPage: (offset: number) => Promise<Page<T>>,
  max = 100_000,
): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ;) {
    const p = await fetchPage(offset);
    out.push(...p.items);
    offset += p.items.length;
    if (p.items.length === 0 || offset >= p.total || out.length >= max) return out;
  }
}
