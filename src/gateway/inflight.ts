/**
 * Identical subgraph queries of one caller, in flight at the same moment, share one HTTP call.
 *
 * A page of a busy screen, polled by many tabs of one service account, or a burst of the same
 * query from one client, would otherwise send the same subgraph request many times over while
 * the first is still being answered. Hive Gateway and Apollo Router do the same by default
 * (executor-http's `deduplicateInflightRequests`; the router's `deduplicate_query`).
 *
 * What makes two calls "identical" is chosen so that sharing can never show one caller another's
 * data or skip a check:
 * - the same subgraph URL and the same request body, byte for byte: the query, its variables
 *   (the entity representations of a plan step included) and the operation name;
 * - the same `Authorization` header: the subgraph service verifies the token and authorises
 *   every field for it, so two calls with the same token are the same identity and get the same
 *   answer; calls of different callers never share;
 * - queries only: the caller (remoteExecutor) sends mutations and subscriptions elsewhere.
 * Per-call headers that do not change the answer (x-request-id) are not part of the key: a call
 * that joins another is logged by the subgraph service under the first call's request id.
 *
 * The answer's bytes are shared, not its parsed objects: each caller gets a Response of its own
 * and parses it, because the stitching layer annotates result objects in place (executor-http's
 * own deduplication deep-copies the parsed data for the same reason, and keys on every header,
 * so it never shared anything here once each call carried its own request id).
 * Nothing is kept once the call settles: this is not a cache.
 */

/** The fetch signature executor-http calls (its extra context arguments are not used here). */
export type FetchFn = (url: string, init?: RequestInit) => Promise<Response>;

interface SharedAnswer {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  body: string;
}

export function sharingInflight(fetchFn: FetchFn, onShared: () => void): FetchFn {
  const inflight = new Map<string, Promise<SharedAnswer>>();
  return async (url, init) => {
    if (init?.method !== 'POST' || typeof init.body !== 'string') return fetchFn(url, init);
    const key = `${url}\n${authorizationOf(init.headers)}\n${init.body}`;
    let answer = inflight.get(key);
    if (answer) onShared();
    else {
      answer = fetchFn(url, init).then(async (res) => ({
        status: res.status,
        statusText: res.statusText,
        headers: [...res.headers],
        body: await res.text(),
      }));
      inflight.set(key, answer);
      // Removed once settled, fulfilled or not: a failure is each waiting caller's to handle, and
      // the next call tries again.
      const forget = () => inflight.delete(key);
      answer.then(forget, forget);
    }
    const a = await answer;
    return new Response(a.body, { status: a.status, statusText: a.statusText, headers: a.headers });
  };
}

function authorizationOf(headers: RequestInit['headers']): string {
  if (!headers) return '';
  if (headers instanceof Headers) return headers.get('authorization') ?? '';
  if (Array.isArray(headers))
    return headers.find((pair) => pair[0]?.toLowerCase() === 'authorization')?.[1] ?? '';
  for (const [name, value] of Object.entries(headers))
    if (name.toLowerCase() === 'authorization') return String(value);
  return '';
}
