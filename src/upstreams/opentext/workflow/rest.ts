/**
 * What every Workflow Service API shares: the RestVariable, the HAL list envelope, dates, and
 * sending a request with its error mapping. The API modules beside this one build on it.
 */
import { z } from 'zod';
import { workflowError, WorkflowProtocolError } from './errors.js';
import type { WorkflowRequest, WorkflowTransport } from './transport.js';

// ---------------------------------------------------------------------------------------------
// Dates

/**
 * Reads a Workflow Service date. Both `2018-04-17T10:17:43.902+0000` (tasks) and
 * `2020-04-02T17:20:18.722+05:30` (history) appear, as does `...Z` (reference §7.13): parse
 * leniently. `+0000` (no colon) is normalised first because ECMAScript's date format needs it.
 */
export function parseWorkflowDate(value: string | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null;
  const normalised = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const date = new Date(normalised);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A date field: a string the server sent, kept as sent; read it with {@link parseWorkflowDate}. */
export const dateString = z.string().nullish();

// ---------------------------------------------------------------------------------------------
// RestVariable

/** The variable types seen in the material (reference §7): Flowable's plus `json` objects. */
export type RestVariableType = 'string' | 'integer' | 'long' | 'double' | 'boolean' | 'date' | 'json';

/**
 * Flowable's `RestVariable` plus OpenText's `encryption` flag:
 * `{"name":"x","type":"string","value":…,"scope":"local","encryption":false}` (reference §7).
 */
export const restVariableSchema = z.looseObject({
  name: z.string(),
  /** Omitted on input, the server deduces it from the value. */
  type: z.string().nullish(),
  value: z.unknown(),
  /** `local` or `global`; on a process instance they are the same thing. */
  scope: z.string().nullish(),
  encryption: z.boolean().nullish(),
});
export type RestVariable = z.infer<typeof restVariableSchema>;

/** A variable to send. `type` is always set, so nothing depends on the server's deduction. */
export interface RestVariableInput {
  readonly name: string;
  readonly type: RestVariableType;
  readonly value: unknown;
  readonly scope?: 'local' | 'global';
}

/**
 * A variable from a JavaScript value: strings, booleans, whole numbers as `long` (a case
 * variable is never near 2^31 but a `long` never overflows), other numbers as `double`, dates as
 * ISO strings of type `date`, objects and arrays as `json`. `undefined` is left out by the callers.
 */
export function restVariable(
  name: string,
  value: string | number | boolean | Date | object,
): RestVariableInput {
  if (typeof value === 'string') return { name, type: 'string', value };
  if (typeof value === 'boolean') return { name, type: 'boolean', value };
  if (typeof value === 'number') return { name, type: Number.isInteger(value) ? 'long' : 'double', value };
  if (value instanceof Date) return { name, type: 'date', value: value.toISOString() };
  return { name, type: 'json', value };
}

/** The variables of a list as a name → value record (`json` values are the parsed JSON). */
export function variablesOf(list: readonly RestVariable[] | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const variable of list ?? []) out[variable.name] = variable.value;
  return out;
}

// ---------------------------------------------------------------------------------------------
// HAL lists

/**
 * `{"_embedded":{"<collection>":[…]},"_links":{"self","next"?,"previous"?},"page":{…}}`
 * (reference §7.13). `_embedded.tasks`, `page.totalElements` and `_links.next` only when more
 * exist are verified; the other `page` fields are Spring HATEOAS's [I]. Spring HATEOAS leaves
 * `_embedded` out of an empty collection by default [I], so an absent one is an empty page.
 */
const halEnvelopeSchema = z.looseObject({
  _embedded: z.record(z.string(), z.unknown()).nullish(),
  _links: z.looseObject({ next: z.unknown().optional() }).nullish(),
  page: z
    .looseObject({
      size: z.number().nullish(),
      totalElements: z.number().nullish(),
      totalPages: z.number().nullish(),
      number: z.number().nullish(),
    })
    .nullish(),
});

export interface HalPage<T> {
  readonly items: T[];
  /** `page.totalElements`; the number of items when the page block is missing. */
  readonly total: number;
  /** Whether `_links.next` was present: there are more items after this page. */
  readonly hasNext: boolean;
}

/** Paging of a list call: `offset` is an item offset, `count` the page size (reference §7.13). */
export interface Paging {
  readonly offset?: number;
  readonly count?: number;
}

/** What the modules send when a caller gives no count: the default `count` is undocumented [gap]. */
export const DEFAULT_COUNT = 50;

/**
 * Reads a HAL list. `collection` is the `_embedded` key to read; when it is absent and `_embedded`
 * holds exactly one array, that array is read instead, so an unknown key name (the history lists'
 * keys are a gap, reference §13.9) does not break the caller.
 */
export function parseHalList<S extends z.ZodType>(
  body: unknown,
  collection: string,
  itemSchema: S,
  request: WorkflowRequest,
): HalPage<z.infer<S>> {
  const envelope = halEnvelopeSchema.safeParse(body);
  if (!envelope.success) throw new WorkflowProtocolError('the answer is not a HAL list', request);
  const embedded = envelope.data._embedded ?? {};
  let raw = embedded[collection];
  if (raw === undefined) {
    const arrays = Object.values(embedded).filter(Array.isArray);
    raw = arrays.length === 1 ? arrays[0] : [];
  }
  const items = z.array(itemSchema).safeParse(raw);
  if (!items.success) {
    throw new WorkflowProtocolError(`unexpected ${collection} items: ${items.error.message}`, request);
  }
  return {
    items: items.data,
    total: envelope.data.page?.totalElements ?? items.data.length,
    hasNext: envelope.data._links?.next !== undefined && envelope.data._links?.next !== null,
  };
}

/**
 * Reads every page of a list, in order, by item offset; stops when the server shows no `next`
 * link or gives an empty page. `maxItems` bounds a runaway (a server that always says `next`).
 */
export async function readAll<T>(
  fetchPage: (paging: Required<Paging>) => Promise<HalPage<T>>,
  { count = DEFAULT_COUNT, maxItems = 10_000 }: { count?: number; maxItems?: number } = {},
): Promise<T[]> {
  const all: T[] = [];
  for (let offset = 0; all.length < maxItems; offset += count) {
    const page = await fetchPage({ offset, count });
    all.push(...page.items);
    if (!page.hasNext || page.items.length === 0) break;
  }
  return all;
}

// ---------------------------------------------------------------------------------------------
// Sending

/** Sends a request; a non-2xx answer becomes the typed error of its status (errors.ts). */
export async function send(transport: WorkflowTransport, request: WorkflowRequest): Promise<unknown> {
  const response = await transport.send(request);
  if (response.status < 200 || response.status >= 300) {
    throw workflowError(response.status, response.body, request);
  }
  return response.body;
}

/** Sends a request and parses its 2xx body with a schema. */
export async function sendFor<S extends z.ZodType>(
  transport: WorkflowTransport,
  request: WorkflowRequest,
  schema: S,
): Promise<z.infer<S>> {
  const body = await send(transport, request);
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new WorkflowProtocolError(`unexpected answer: ${parsed.error.message}`, request);
  return parsed.data;
}

/** Sends a list request and parses its HAL page. */
export async function sendForList<S extends z.ZodType>(
  transport: WorkflowTransport,
  request: WorkflowRequest,
  collection: string,
  itemSchema: S,
): Promise<HalPage<z.infer<S>>> {
  return parseHalList(await send(transport, request), collection, itemSchema, request);
}
