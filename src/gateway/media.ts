/**
 * GraphQL over HTTP: which media type a response uses, and what status an
 * error answer gets under it (the GraphQL-over-HTTP specification, "Body" and
 * "Status Codes").
 *
 * - `application/graphql-response+json`: the status says what happened. A
 *   request error (a document that does not parse or validate, variables that
 *   do not coerce, an operation over a limit, a refused token, a rate limit)
 *   gets its 4xx, and a client may trust the body whatever the status: Apollo
 *   Client 4 reads `errors` from a non-2xx answer only under this type.
 * - `application/json` (the legacy type): a client cannot tell a 4xx body of
 *   ours from an intermediary's, so every answer to a well-formed request is
 *   200 with `errors`; only a request that is not well-formed GraphQL over
 *   HTTP (a body that is not JSON or is too large, no `query`, a parameter of
 *   the wrong type, a method or content type refused) keeps its 4xx.
 *
 * 5xx answers (an identity provider or subgraph that does not answer, an
 * unexpected fault) keep their status under both types: they are the
 * server's failures, not request errors, and load balancers, proxies and
 * retry policies act on them (`Retry-After` with 503).
 */

export const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';
export const APPLICATION_JSON = 'application/json';
export type GraphQLMediaType = typeof GRAPHQL_RESPONSE_JSON | typeof APPLICATION_JSON;

/** In order of preference when the client likes several equally (`*\/*`, `application/*`). */
const GRAPHQL_TYPES: readonly GraphQLMediaType[] = [GRAPHQL_RESPONSE_JSON, APPLICATION_JSON];

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
  /** Position in the header: among equals, the one listed first wins. */
  index: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  header.split(',').forEach((part, index) => {
    const [range = '', ...params] = part.split(';');
    const [type = '', subtype = ''] = range.trim().toLowerCase().split('/');
    if (!type || !subtype) return;
    let q = 1;
    for (const param of params) {
      const [name = '', value = ''] = param.split('=');
      if (name.trim().toLowerCase() !== 'q') continue;
      const n = Number(value.trim());
      q = Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
    }
    ranges.push({ type, subtype, q, index });
  });
  return ranges;
}

/** The range that decides a media type: the most specific one that matches it (RFC 9110, 12.5.1). */
function rangeFor(
  ranges: readonly MediaRange[],
  mediaType: string,
): { q: number; specificity: number; index: number } | null {
  const [type, subtype] = mediaType.split('/');
  let best: { q: number; specificity: number; index: number } | null = null;
  for (const r of ranges) {
    const specificity =
      r.type === type && r.subtype === subtype
        ? 2
        : r.type === type && r.subtype === '*'
          ? 1
          : r.type === '*' && r.subtype === '*'
            ? 0
            : -1;
    if (specificity < 0) continue;
    if (!best || specificity > best.specificity) best = { q: r.q, specificity, index: r.index };
  }
  return best;
}

/**
 * The type, of `offered`, that an Accept header prefers: the highest q, then
 * the more specific match, then the one listed first, then `offered` order.
 * Null when it accepts none of them.
 */
export function preferredType<T extends string>(accept: string, offered: readonly T[]): T | null {
  const ranges = parseAccept(accept);
  let best: { type: T; q: number; specificity: number; index: number; order: number } | null = null;
  offered.forEach((type, order) => {
    const r = rangeFor(ranges, type);
    if (!r || r.q <= 0) return;
    const better =
      !best ||
      r.q > best.q ||
      (r.q === best.q &&
        (r.specificity > best.specificity || (r.specificity === best.specificity && r.index < best.index)));
    if (better) best = { type, order, ...r };
  });
  return (best as { type: T } | null)?.type ?? null;
}

/**
 * The media type of a GraphQL response to a request with this Accept header.
 * Without one, `application/graphql-response+json` (the specification's
 * default since 2025-01-01); null when the client accepts neither type.
 */
export function negotiateGraphQLMediaType(accept: string | undefined): GraphQLMediaType | null {
  if (accept === undefined || accept.trim() === '') return GRAPHQL_RESPONSE_JSON;
  return preferredType(accept, GRAPHQL_TYPES);
}

/** A browser asking for a page (Sandbox) rather than for a GraphQL response. */
export function prefersHtml(accept: string | undefined): boolean {
  return !!accept && preferredType(accept, ['text/html', ...GRAPHQL_TYPES]) === 'text/html';
}

/**
 * The status an error answer goes out with. `status` is what the error says
 * (400, 401, 429, ...); `wellFormed` is false for a request that is not
 * GraphQL over HTTP at all, which keeps its 4xx under either type.
 */
export function errorStatus(media: GraphQLMediaType | null, status: number, wellFormed: boolean): number {
  if (media === APPLICATION_JSON && wellFormed && status >= 400 && status < 500) return 200;
  return status;
}

/** The Content-Type header of a GraphQL response of this type (the legacy type when none was acceptable). */
export function contentType(media: GraphQLMediaType | null): string {
  return `${media ?? APPLICATION_JSON}; charset=utf-8`;
}
