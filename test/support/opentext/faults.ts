/**
 * Fake-only fault injection, per route. Nothing public says OpenText answers these (api-reference
 * §10, §11 "Cross-cutting"): they exist only to test CommsGraph's resilience policy.
 *
 * A rule matches a method (optional) and a path regular expression; the first matching rule that
 * has uses left applies, before authentication (as a gateway or network fault would):
 * - `status`: answer that status (429, 502, 503, ...) with an optional `Retry-After` and body;
 * - `reset`: destroy the connection without an answer;
 * - `slow`: wait `delayMs`, then serve the request normally; with `phase: 'after'`, serve it
 *   first and hold the answer back (the upstream acted, the caller may have given up).
 */
export type FaultKind = 'status' | 'reset' | 'slow';

export interface FaultRule {
  method?: string;
  /** Matched against the path without the query. */
  path: RegExp | string;
  kind: FaultKind;
  status?: number;
  retryAfter?: string;
  body?: unknown;
  delayMs?: number;
  phase?: 'before' | 'after';
  /** How many requests the rule applies to; unlimited by default. */
  times?: number;
  /**
   * An outage of this length (the fake's clock): the rule applies from the first request it
   * answers until `durationMs` later, then removes itself. Unlimited by default.
   */
  durationMs?: number;
}

interface ActiveRule extends FaultRule {
  id: number;
  pattern: RegExp;
  remaining: number;
  /** When a timed rule started (its first request), on the fake's clock. */
  startedAt?: number;
}

export class FakeFaults {
  #rules: ActiveRule[] = [];
  #next = 1;

  constructor(private readonly now: () => number = Date.now) {}

  /** Adds a rule; returns a function that removes it. */
  add(rule: FaultRule): () => void {
    const id = this.#next++;
    this.#rules.push({
      ...rule,
      id,
      pattern: typeof rule.path === 'string' ? new RegExp(rule.path) : rule.path,
      remaining: rule.times ?? Number.POSITIVE_INFINITY,
    });
    return () => {
      this.#rules = this.#rules.filter((r) => r.id !== id);
    };
  }

  clear(): void {
    this.#rules = [];
  }

  /** The rule for this request, used up by one. */
  take(method: string, path: string): FaultRule | undefined {
    const now = this.now();
    // A timed outage that has run its length is over.
    this.#rules = this.#rules.filter(
      (r) => r.durationMs === undefined || r.startedAt === undefined || now - r.startedAt < r.durationMs,
    );
    const rule = this.#rules.find(
      (r) => r.remaining > 0 && (!r.method || r.method === method) && r.pattern.test(path),
    );
    if (rule) {
      rule.remaining--;
      rule.startedAt ??= now;
    }
    return rule;
  }
}
