import type { LoadSummary } from '../../../bench/load.js';
import {
  benchOptions,
  evaluate,
  GATEWAY_BENCH_DEFAULTS,
  median,
  roundOrder,
  summarize,
  type Goal,
  type TargetSummary,
} from '../../../bench/summary.js';

const round = (rps: number, p99: number, failures = 0): LoadSummary => ({
  requestsPerSecMean: rps,
  latencyMeanMs: 0,
  latencyP50Ms: 0,
  latencyP99Ms: p99,
  totalRequests: rps * 8,
  warmupRequests: rps,
  non2xx: failures,
  errors: 0,
  timeouts: 0,
  durationSec: 8,
});

test('options default to 3 rounds of 8 s at 20 connections, and the environment overrides them', () => {
  expect(benchOptions({})).toEqual(GATEWAY_BENCH_DEFAULTS);
  expect(GATEWAY_BENCH_DEFAULTS).toMatchObject({ rounds: 3, durationSec: 8, connections: 20 });
  expect(benchOptions({ BENCH_ROUNDS: '5', BENCH_WARMUP_SEC: '0', BENCH_CONNECTIONS: '' })).toEqual({
    ...GATEWAY_BENCH_DEFAULTS,
    rounds: 5,
    warmupSec: 0,
  });
});

test('an option that is not a whole number in range is refused with every problem named', () => {
  expect(() => benchOptions({ BENCH_ROUNDS: '0', BENCH_DURATION_SEC: '2.5', BENCH_CASES: '10' })).toThrow(
    /BENCH_ROUNDS=0[^]*BENCH_DURATION_SEC=2\.5[^]*BENCH_CASES=10/,
  );
  expect(() => benchOptions({ BENCH_CONNECTIONS: 'many' })).toThrow(/BENCH_CONNECTIONS=many/);
});

test('each round starts one target later, so every target is first once in as many rounds as targets', () => {
  const targets = ['a', 'b', 'c'];
  expect([0, 1, 2, 3].map((r) => roundOrder(targets, r).join(''))).toEqual(['abc', 'bca', 'cab', 'abc']);
  expect(roundOrder([], 2)).toEqual([]);
});

test('the median of an odd count is the middle value, of an even count the mean of the two middle ones', () => {
  expect(median([300, 100, 200])).toBe(200);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(() => median([])).toThrow();
});

test('a summary takes medians over rounds, keeps the spread, and counts every failure', () => {
  const s = summarize([round(100, 400), round(140, 300, 2), round(120, 900)]);
  expect(s).toEqual({
    rps: 120,
    rpsMin: 100,
    rpsMax: 140,
    p99Ms: 400,
    p99MaxMs: 900,
    requests: (100 + 140 + 120) * 8,
    failures: 2,
  });
});

test('goals pass or miss on the ratio, and a miss says by how much', () => {
  const figures = (rps: number, p99Ms: number): TargetSummary => ({
    rps,
    rpsMin: rps,
    rpsMax: rps,
    p99Ms,
    p99MaxMs: p99Ms,
    requests: 0,
    failures: 0,
  });
  const summaries = new Map([
    ['ours', figures(185, 421)],
    ['hive', figures(195, 307)],
    ['apollo', figures(71, 668)],
  ]);
  const goals: Goal[] = [
    { kind: 'throughput', label: 'vs hive', of: 'ours', over: 'hive', atLeast: 1.3 },
    { kind: 'throughput', label: 'vs apollo', of: 'ours', over: 'apollo', atLeast: 2 },
    { kind: 'p99-below', label: 'p99 vs hive', of: 'ours', below: 'hive' },
    { kind: 'p99-below', label: 'p99 vs apollo', of: 'ours', below: 'apollo' },
  ];
  const [hive, apollo, p99Hive, p99Apollo] = evaluate(goals, summaries);
  // 185/195 = 0.949; 1.3 / 0.949 = 1.37: 37% more req/s needed.
  expect(hive).toMatchObject({ pass: false, short: 'needs 37% more req/s' });
  expect(hive!.ratio).toBeCloseTo(0.949, 3);
  expect(apollo).toMatchObject({ pass: true, short: null });
  // 421/307 = 1.37: 37% (114 ms) above.
  expect(p99Hive).toMatchObject({ pass: false, short: 'p99 37% above (114 ms)' });
  expect(p99Apollo).toMatchObject({ pass: true, short: null });
  expect(() => evaluate([{ kind: 'p99-below', label: 'x', of: 'ours', below: 'nobody' }], summaries)).toThrow(
    /nobody/,
  );
});

test('a throughput goal met exactly passes', () => {
  const s: TargetSummary = {
    rps: 80,
    rpsMin: 80,
    rpsMax: 80,
    p99Ms: 1,
    p99MaxMs: 1,
    requests: 0,
    failures: 0,
  };
  const d: TargetSummary = { ...s, rps: 100 };
  const [r] = evaluate(
    [{ kind: 'throughput', label: 'in-process / direct', of: 'in', over: 'direct', atLeast: 0.8 }],
    new Map([
      ['in', s],
      ['direct', d],
    ]),
  );
  expect(r).toMatchObject({ pass: true });
});
