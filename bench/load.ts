/**
 * The load generator, run by bench/run.ts as a child process so autocannon
 * does not share an event loop with the servers it measures. Takes its
 * options as JSON in argv[2], sends a LoadSummary back over IPC, and exits.
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  /** Seconds measured. */
  durationSec: number;
  /** Seconds of load before measuring (JIT, pools, caches), not reported. */
  warmupSec: number;
}

export interface LoadSummary {
  requestsPerSecMean: number;
  latencyMeanMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  totalRequests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSec: number;
  /** Requests answered in the warm-up before the measured part. */
  warmupRequests: number;
}

async function fire(o: LoadOptions, durationSec: number): Promise<autocannon.Result> {
  return autocannon({
    url: o.url,
    method: 'POST',
    headers: o.headers,
    body: o.body,
    connections: o.connections,
    duration: durationSec,
  });
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: load.js <options as JSON>');
  const o = JSON.parse(raw) as LoadOptions;
  const warmup = o.warmupSec > 0 ? await fire(o, o.warmupSec) : null;
  // The parent starts counting its CPU time here (bench/run.ts): the measured part only.
  process.send?.({ measuring: true });
  const r = await fire(o, o.durationSec);
  const summary: LoadSummary = {
    requestsPerSecMean: r.requests.mean,
    latencyMeanMs: r.latency.mean,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    totalRequests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    durationSec: r.duration,
    warmupRequests: warmup?.requests.total ?? 0,
  };
  if (!process.send) throw new Error('load.js must be started with an IPC channel (child_process.fork)');
  process.send(summary, () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
