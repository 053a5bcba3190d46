/**
 * The fake's fault rules (fake-only, test/support/opentext/faults.ts): a timed outage lasts its
 * length on the fake's clock from the first request it answers, then is gone.
 */
import { FakeFaults } from '../../support/opentext/faults.js';

test('a timed outage starts with its first request and ends after durationMs of the fake clock', () => {
  let now = 1_000;
  const faults = new FakeFaults(() => now);
  faults.add({ path: /generate$/, kind: 'status', status: 503, durationMs: 30_000 });
  // Not started yet: a long pause before the first request does not use it up.
  now += 60_000;
  expect(faults.take('POST', '/x/generate')?.status).toBe(503);
  now += 29_999;
  expect(faults.take('POST', '/x/generate')?.status).toBe(503);
  expect(faults.take('GET', '/x/other')).toBeUndefined();
  now += 1;
  expect(faults.take('POST', '/x/generate')).toBeUndefined();
  now += 60_000;
  expect(faults.take('POST', '/x/generate')).toBeUndefined();
});

test('a rule without durationMs lasts until its uses run out', () => {
  let now = 0;
  const faults = new FakeFaults(() => now);
  faults.add({ path: 'generate', kind: 'reset', times: 2 });
  now += 1e9;
  expect(faults.take('POST', '/generate')?.kind).toBe('reset');
  expect(faults.take('POST', '/generate')?.kind).toBe('reset');
  expect(faults.take('POST', '/generate')).toBeUndefined();
});
