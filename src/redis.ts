import type { Redis } from 'ioredis';

/* eslint-disable @typescript-eslint/no-require-imports -- a deferred load, typed by its import */
/**
 * ioredis's client class, loaded only when REDIS_URL asks for Redis (the event bus, the shared
 * rate limiter): a start without Redis need not load it (issue 13, item 4).
 */
export const redisClient = (): typeof Redis => (require('ioredis') as typeof import('ioredis')).Redis;
/* eslint-enable @typescript-eslint/no-require-imports */
