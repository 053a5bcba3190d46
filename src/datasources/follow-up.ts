/**
 * Mutations that start background work (a reissue, a milestone's document, a
 * dispute letter, an exception case) answer with what that work did when it is
 * quick: they wait for it, bounded, and then answer with whatever is there. In
 * embedded mode the work is local and done in milliseconds; in connected mode
 * (a remote Exstream) it may take longer, and the answer then shows the state
 * before it, with the fields that fill in later named in the schema and
 * announced by a subscription event. Either way a client never waits longer
 * than the bound.
 */

/** FOLLOW_UP_WAIT_MS's default: far above the milliseconds local work takes, well below client timeouts. */
export const DEFAULT_FOLLOW_UP_WAIT_MS = 5_000;

/** How often the condition is read again when no commit of this process woke the wait (work done elsewhere). */
const POLL_MS = 100;

export interface FollowUpWait {
  /** At most this long, in milliseconds; 0 does not wait. */
  ms: number;
  /** Commits of the subgraph's outbox in this process: the usual moment the condition turns true. */
  onCommit(listener: () => void): () => void;
}

/**
 * Reads `check` now, after each commit of the outbox and every POLL_MS, until it
 * gives a value or `wait.ms` has passed. Resolves to the value, or null when time
 * ran out (the caller then answers with the state as it is).
 */
export async function followUp<T>(
  wait: FollowUpWait,
  check: () => Promise<T | null | undefined>,
): Promise<T | null> {
  const deadline = Date.now() + wait.ms;
  let commits = 0;
  let wake: (() => void) | null = null;
  const off = wait.onCommit(() => {
    commits++;
    wake?.();
  });
  try {
    for (;;) {
      const seen = commits;
      const found = await check();
      if (found != null) return found;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      // A commit during the check means the condition may hold now: read it again at once.
      if (commits !== seen) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, POLL_MS));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    off();
  }
}
