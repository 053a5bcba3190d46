/**
 * Identical subgraph queries of one caller, in flight at the same moment, share one call: one
 * HTTP request to a subgraph service in remote mode, one execution in-process.
 *
 * A page of a busy screen, polled by many tabs of one service account, or a burst of the same
 * query from one client, would otherwise send the same subgraph request many times over while
 * the first is still being answered. Hive Gateway and Apollo Router do the same by default
 * (executor-http's `deduplicateInflightRequests`; the router's `deduplicate_query`).
 *
 * What makes two calls "identical" is chosen so that sharing can never show one caller another's
 * data or skip a check:
 * - the same subgraph and the same request, byte for byte: the query, its variables (the entity
 *   representations of a plan step included) and the operation name;
 * - the same `Authorization` header: the subgraph verifies the token and authorises every field
 *   for it, so two calls with the same token are the same identity and get the same answer;
 *   calls of different callers, and calls without a token, never share;
 * - queries only: mutations and subscriptions are never shared (./executors.ts).
 * Per-call headers that do not change the answer (x-request-id) are not part of the key: a call
 * that joins another is logged by the subgraph service under the first call's request id.
 *
 * No caller sees objects another caller holds, because the stitching layer annotates result
 * objects in place: each caller that joined gets a deep copy of the data. (executor-http's own
 * deduplication deep-copies for the same reason, but keys on every header, so it never shared
 * anything here once each call carried its own request id.) A call that joins is not sent or
 * run at all: no serialising, no signal, no parse of its own.
 * Nothing is kept once the call settles: this is not a cache.
 */

/**
 * Calls in flight by key: a call made while an identical one is in flight waits for that one.
 * The first caller gets the answer itself; each caller that joined gets `copy(answer)`, made the
 * moment the answer arrives, before the first caller's code runs on, so what the first caller does
 * to its answer (the stitching layer annotates results in place) is never seen by another.
 * The entry goes once the call settles: this is not a cache.
 */
export class InflightCalls<T> {
  private readonly calls = new Map<string, Array<{ resolve(v: T): void; reject(e: unknown): void }>>();

  constructor(
    private readonly copy: (answer: T) => T,
    private readonly onShared: () => void,
  ) {}

  run(key: string, call: () => Promise<T>): Promise<T> {
    const joined = this.calls.get(key);
    if (joined) {
      this.onShared();
      return new Promise<T>((resolve, reject) => joined.push({ resolve, reject }));
    }
    const followers: Array<{ resolve(v: T): void; reject(e: unknown): void }> = [];
    this.calls.set(key, followers);
    let started: Promise<T>;
    try {
      started = call();
    } catch (err) {
      started = Promise.reject(err);
    }
    return started.then(
      (answer) => {
        this.calls.delete(key);
        for (const f of followers) f.resolve(this.copy(answer));
        return answer;
      },
      (err: unknown) => {
        // A failure is each caller's to handle; the next call tries again.
        this.calls.delete(key);
        for (const f of followers) f.reject(err);
        throw err;
      },
    );
  }
}
