import { MemoryRateLimiter, RateLimits } from '../../../src/gateway/rate-limit.js';
import { configureLogger } from '../../../src/logger.js';

configureLogger({ level: 'error' });

/** The in-memory limiter on a clock the test moves: the budget, its refill, and the bound on memory. */
function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

test('a key gets its budget, is refused with a retry hint, and may go again once the hint has passed', async () => {
  const c = clock();
  const limiter = new MemoryRateLimiter({ limit: 3, windowMs: 60_000, now: c.now });
  const taken = [];
  for (let i = 0; i < 3; i++) taken.push(await limiter.take('alice', 1));
  expect(taken.map((d) => [d.allowed, d.remaining])).toEqual([
    [true, 2],
    [true, 1],
    [true, 0],
  ]);
  const refused = await limiter.take('alice', 1);
  expect(refused).toEqual({ allowed: false, retryAfterSec: 20, remaining: 0 });
  // Another key has its own budget.
  expect((await limiter.take('bob', 1)).allowed).toBe(true);
  c.advance(19_999);
  expect((await limiter.take('alice', 1)).allowed).toBe(false);
  c.advance(1);
  expect((await limiter.take('alice', 1)).allowed).toBe(true);
});

test('a cost counts as that many operations; a cost above the whole budget is refused for a window', async () => {
  const c = clock();
  const limiter = new MemoryRateLimiter({ limit: 10, windowMs: 60_000, now: c.now });
  expect(await limiter.take('k', 7)).toEqual({ allowed: true, retryAfterSec: 0, remaining: 3 });
  const refused = await limiter.take('k', 4);
  expect(refused.allowed).toBe(false);
  // One more operation refills in 6 s.
  expect(refused.retryAfterSec).toBe(6);
  expect((await limiter.take('k', 3)).allowed).toBe(true);
  expect(await limiter.take('fresh', 11)).toEqual({ allowed: false, retryAfterSec: 60, remaining: 10 });
});

test('a budget that does not divide the window evenly still allows exactly the limit', async () => {
  const c = clock();
  const limiter = new MemoryRateLimiter({ limit: 7, windowMs: 60_000, now: c.now });
  let allowed = 0;
  for (let i = 0; i < 20; i++) if ((await limiter.take('k', 1)).allowed) allowed++;
  expect(allowed).toBe(7);
});

test('a flood of new keys never holds more than maxKeys', async () => {
  const c = clock();
  const limiter = new MemoryRateLimiter({ limit: 5, windowMs: 60_000, maxKeys: 100, now: c.now });
  let peak = 0;
  for (let i = 0; i < 10_000; i++) {
    await limiter.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1);
    peak = Math.max(peak, limiter.size);
    if (i % 1000 === 0) c.advance(10);
  }
  expect(peak).toBe(100);
  // The most recent client is among those kept: its budget was charged.
  expect((await limiter.take('10.0.39.15', 1)).remaining).toBe(3);
});

test('keys whose bucket is full again are dropped as traffic goes on', async () => {
  const c = clock();
  const limiter = new MemoryRateLimiter({ limit: 5, windowMs: 60_000, maxKeys: 1_000, now: c.now });
  for (let i = 0; i < 500; i++) await limiter.take(`idle-${i}`, 1);
  expect(limiter.size).toBe(500);
  // One operation refills in 12 s; after that every one of them is full again, so idle.
  c.advance(12_000);
  await limiter.take('active', 1);
  expect(limiter.size).toBe(1);
});

test('a refused operation does not use up budget', async () => {
  const c = clock();
  const limiter = new MemoryRateLimiter({ limit: 2, windowMs: 60_000, now: c.now });
  await limiter.take('k', 2);
  for (let i = 0; i < 50; i++) expect((await limiter.take('k', 1)).allowed).toBe(false);
  c.advance(30_000);
  expect((await limiter.take('k', 1)).allowed).toBe(true);
});

test('with Redis unreachable, operations go through and the failure is logged once', async () => {
  // Nothing listens on port 1: every attempt to reach Redis fails.
  const limits = RateLimits.create(
    { perMinute: 1, anonymousPerMinute: 0 },
    { trustProxy: false, redisUrl: 'redis://127.0.0.1:1' },
  )!;
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  const principal = { sub: 'alice', roles: [] };
  try {
    // A budget of one: with Redis up the second would be refused.
    expect(await limits.charge(principal, undefined)).toBeNull();
    expect(await limits.charge(principal, undefined)).toBeNull();
  } finally {
    process.stderr.write = write;
    await limits.close();
  }
  const logged = lines.filter((l) => l.includes('rate limiter unavailable'));
  expect(logged).toHaveLength(1);
  expect(JSON.parse(logged[0]!)).toMatchObject({ level: 'error' });
});
