import { upstreamOutage } from '../../../src/gateway/upstream-status.js';

const outage = (retryAfter?: number) => ({
  message: 'OpenText Exstream is unavailable; try again in 12 s',
  extensions: { code: 'UPSTREAM_UNAVAILABLE', upstream: 'exstream', ...(retryAfter ? { retryAfter } : {}) },
});

describe('an upstream outage at the gateway', () => {
  it('is a 503 with the longest Retry-After the errors ask for when nothing resolved', () => {
    expect(upstreamOutage(null, [outage(12), outage(30)])).toBe(30);
    expect(upstreamOutage({ generateDocument: null }, [outage(12)])).toBe(12);
  });

  it('asks for 5 s when the error does not say', () => {
    expect(upstreamOutage(null, [outage()])).toBe(5);
  });

  it('is not a 503 when some of the answer resolved: the client gets its partial data', () => {
    expect(upstreamOutage({ case: { id: '1' }, template: null }, [outage(12)])).toBeNull();
  });

  it('is not a 503 for other errors', () => {
    expect(upstreamOutage(null, [{ message: 'no', extensions: { code: 'CONFLICT' } }])).toBeNull();
    expect(upstreamOutage({ a: 1 }, undefined)).toBeNull();
  });
});
