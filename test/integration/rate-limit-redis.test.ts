import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { serviceUrl } from '../support/services.js';

/**
 * With REDIS_URL, replicas share one budget per identity and per address:
 * operations through either gateway draw on the same count. Needs Redis: CI
 * provides it; a plain `npm test` skips. Subjects and addresses are unique
 * per run, so runs (and their keys) never meet.
 */
const redisUrl = serviceUrl('TEST_REDIS_URL', 'Redis');
const withRedis = redisUrl ? describe : describe.skip;

const PER_IDENTITY = 4;
const PER_ADDRESS = 3;
const PREFIX = 'commsgraph:ratelimit:';

withRedis('rate limits shared through Redis', () => {
  const run = randomUUID().slice(0, 8);
  let a: TestGateway;
  let b: TestGateway;
  let redis: Redis;

  beforeAll(async () => {
    const env = {
      REDIS_URL: redisUrl!,
      RATE_LIMIT_PER_MINUTE: String(PER_IDENTITY),
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: String(PER_ADDRESS),
      TRUST_PROXY: 'true',
    };
    [a, b] = await Promise.all([startTestGateway(env), startTestGateway(env)]);
    redis = new Redis(redisUrl!);
  }, 120_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    if (redis) {
      const keys = await redis.keys(`${PREFIX}*${run}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });

  async function call(g: TestGateway, headers: Record<string, string>): Promise<Response> {
    const res = await fetch(g.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    return res;
  }

  test('an identity has one budget across both gateways', async () => {
    const sub = `shared-${run}`;
    const token = { authorization: `Bearer ${await a.token(sub, 'auditor')}` };
    // Alternating gateways: four operations in all, whichever took them.
    const statuses = [];
    for (let i = 0; i < PER_IDENTITY; i++) statuses.push((await call(i % 2 ? b : a, token)).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    for (const g of [a, b]) {
      const res = await call(g, token);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toEqual({
        errors: [
          {
            message: expect.stringMatching(/rate limit/i),
            extensions: { code: 'FORBIDDEN', reason: 'RATE_LIMITED', retryAfter: expect.any(Number) },
          },
        ],
      });
    }
    // Another identity is not affected.
    const other = { authorization: `Bearer ${await b.token(`other-${run}`, 'auditor')}` };
    expect((await call(b, other)).status).toBe(200);
    // The count is one key that expires on its own (no key outlives its window).
    const ttl = await redis.pttl(`${PREFIX}id:${sub}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  test('an address without a token has one budget across both gateways', async () => {
    const from = { 'x-forwarded-for': `fd00::${run}` };
    expect((await call(a, from)).status).toBe(200);
    expect((await call(b, from)).status).toBe(200);
    expect((await call(a, from)).status).toBe(200);
    expect((await call(b, from)).status).toBe(429);
    expect((await call(a, from)).status).toBe(429);
    expect((await call(a, { 'x-forwarded-for': `fd00::1:${run}` })).status).toBe(200);
  });

  test('concurrent operations through both gateways never exceed the budget', async () => {
    const token = { authorization: `Bearer ${await a.token(`burst-${run}`, 'auditor')}` };
    const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => call(i % 2 ? a : b, token)));
    expect(statuses.filter((r) => r.status === 200)).toHaveLength(PER_IDENTITY);
    expect(statuses.filter((r) => r.status === 429)).toHaveLength(12 - PER_IDENTITY);
    await Promise.all(statuses.map((r) => r.arrayBuffer()));
  });
});
