import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { RedisBus, type BusEvent } from '../../src/events/index.js';
import { redisClient } from '../../src/redis.js';
import { serviceUrl } from '../support/services.js';

/**
 * The Redis bus's listeners leave cleanly: a listener that leaves as the bus closes (a gateway
 * draining while its subscribers go) has its unsubscribe finished before the connections end.
 * Before, the unsubscribe ran on after `close` and failed with "Connection is closed.", a
 * rejection nobody handled, which ends a Node process (src/store/connection-errors.ts lets only
 * database connection errors pass). Needs Redis: CI provides it; a plain `npm test` skips.
 */
const redisUrl = serviceUrl('TEST_REDIS_URL', 'Redis');
const withRedis = redisUrl ? describe : describe.skip;

withRedis('RedisBus', () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', record));
  afterAll(() => process.off('unhandledRejection', record));

  test('a listener hears an event, leaves, and the bus closes with nothing left failing', async () => {
    const bus = new RedisBus(redisUrl!, `commsgraph-test:${randomUUID()}`);
    const heard: BusEvent[] = [];
    const leave = bus.listen('communications', 'DELIVERY_STATUS', (e) => heard.push(e));
    // Published until the subscription is up: a publish before it reaches nobody, and one before
    // the publishing connection is up fails at once (by design: the outbox logs it and goes on).
    const event: BusEvent = {
      id: '1',
      source: 'communications',
      topic: 'DELIVERY_STATUS',
      occurredAt: new Date(0).toISOString(),
      payload: {},
      prevId: '0',
      traceparent: null,
    };
    const deadline = Date.now() + 10_000;
    while (!heard.length && Date.now() < deadline) {
      await bus.publish(event).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(heard[0]?.id).toBe('1');

    leave();
    await bus.close();
    // Whatever the bus left running against its connections has failed by the time a client of
    // our own, opened and closed after it, has ended: Redis answered it after the bus's last command.
    const probe = new (redisClient())(redisUrl!);
    await probe.ping();
    probe.disconnect();
    await once(probe, 'end');
    expect(unhandled).toEqual([]);
  });
});
