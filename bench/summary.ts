/**
 * The arithmetic of `npm run bench:gateways` (bench/gateways.ts), kept pure so
 * it is unit-tested (test/unit/bench/summary.test.ts): options from the
 * environment, the rounds' order, medians over rounds, and the targets the
 * figures are held to.
 */
import type { LoadSummary } from './load.js';

export interface GatewayBenchOptions {
  rounds: number;
  durationSec: number;
  warmupSec: number;
  connections: number;
  cases: number;
}

export const GATEWAY_BENCH_DEFAULTS: GatewayBenchOptions = {
  rounds: 3,
  durationSec: 8,
  warmupSec: 1,
  connections: 20,
  cases: 24,
};

const ENV_NAMES: Record<keyof GatewayBenchOptions, string> = {
  rounds: 'BENCH_ROUNDS',
  durationSec: 'BENCH_DURATION_SEC',
  warmupSec: 'BENCH_WARMUP_SEC',
  connections: 'BENCH_CONNECTIONS',
  cases: 'BENCH_CASES',
};

/** Reads BENCH_ROUNDS and the others; a value that is not a whole number in range is refused, not guessed. */
export function benchOptions(env: Record<string, string | undefined>): GatewayBenchOptions {
  const out = { ...GATEWAY_BENCH_DEFAULTS };
  const problems: string[] = [];
  for (const key of Object.keys(ENV_NAMES) as Array<keyof GatewayBenchOptions>) {
    const raw = env[ENV_NAMES[key]];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    // Warm-up may be 0; everything else needs at least 1. A page needs 20 cases.
    const min = key === 'warmupSec' ? 0 : key === 'cases' ? 20 : 1;
    if (!Number.isInteger(n) || n < min || n > 10_000)
      problems.push(`${ENV_NAMES[key]}=${raw}: expected a whole number from ${min} to 10000`);
    else out[key] = n;
  }
  if (problems.length) throw new Error(problems.join('\n'));
  return out;
}

/** Round r runs the targets starting at r (mod n), so no target is always first or always after the same one. */
export function roundOrder<T>(targets: readonly T[], round: number): T[] {
  if (!targets.length) return [];
  const start = round % targets.length;
  return [...targets.slice(start), ...targets.slice(0, start)];
}

export function median(values: readonly number[]): number {
  if (!values.length) throw new Error('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface TargetSummary {
  /** Median over rounds of each round's mean req/s. */
  rps: number;
  rpsMin: number;
  rpsMax: number;
  /** Median over rounds of each round's p99 latency. */
  p99Ms: number;
  p99MaxMs: number;
  requests: number;
  /** Non-2xx answers, socket errors and timeouts over all rounds: a target with any is not comparable. */
  failures: number;
}

export function summarize(rounds: readonly LoadSummary[]): TargetSummary {
  const rps = rounds.map((r) => r.requestsPerSecMean);
  const p99 = rounds.map((r) => r.latencyP99Ms);
  return {
    rps: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    p99Ms: median(p99),
    p99MaxMs: Math.max(...p99),
    requests: rounds.reduce((n, r) => n + r.totalRequests, 0),
    failures: rounds.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
  };
}

/** A target the figures are held to (from the issue): a throughput ratio, or one p99 below another's. */
export type Goal =
  | { kind: 'throughput'; label: string; of: string; over: string; atLeast: number }
  | { kind: 'p99-below'; label: string; of: string; below: string };

export interface GoalResult {
  label: string;
  /** The measured ratio (throughput: of/over; p99: of/below, which must be < 1). */
  ratio: number;
  wanted: string;
  pass: boolean;
  /** For a miss, what it is short by, in words. */
  short: string | null;
}

export function evaluate(
  goals: readonly Goal[],
  summaries: ReadonlyMap<string, TargetSummary>,
): GoalResult[] {
  const get = (key: string) => {
    const s = summaries.get(key);
    if (!s) throw new Error(`no figures for ${key}`);
    return s;
  };
  return goals.map((g) => {
    switch (g.kind) {
      case 'throughput': {
        const ratio = get(g.of).rps / get(g.over).rps;
        const pass = ratio >= g.atLeast;
        return {
          label: g.label,
          ratio,
          wanted: `>= ${g.atLeast.toFixed(2)}x`,
          pass,
          // How much faster `of` must get to meet the goal, the other staying where it is.
          short: pass ? null : `needs ${pct(g.atLeast / ratio - 1)} more req/s`,
        };
      }
      case 'p99-below': {
        const ratio = get(g.of).p99Ms / get(g.below).p99Ms;
        const pass = ratio < 1;
        return {
          label: g.label,
          ratio,
          wanted: '< 1.00x',
          pass,
          short: pass
            ? null
            : `p99 ${pct(ratio - 1)} above (${fmtMs(get(g.of).p99Ms - get(g.below).p99Ms)} ms)`,
        };
      }
    }
  });
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const fmtMs = (x: number) => x.toFixed(0);
