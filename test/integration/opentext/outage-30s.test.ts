import type { TestGateway } from '../../support/harness.js';
import { GENERATE_PATH, startConnected, type Connected } from './connected.js';
import { batchDocumentCounts, noticeResolved, signOffNotice } from './notices.js';

/**
 * Issue 10's Done-when, as written: a 30 s Exstream outage during a notice batch, in real time,
 * with the product's default retry backoff (2 s doubling, 8 attempts) and circuit breaker
 * (30 s half-open). outage.test.ts runs the same scenario and its neighbours scaled down; this
 * one proves the defaults ride out an outage of that length: nothing lost, nothing duplicated.
 * It waits on conditions only (the batch's completion), never on the clock.
 */
const OUTAGE_MS = 30_000;
let c: Connected;
let t: TestGateway;

beforeAll(async () => {
  // Only the per-call retries are shortened (they are not what this test is about); the
  // durable generation retries and the breaker keep their defaults.
  c = await startConnected({ OPENTEXT_BACKOFF_MS: '1', OPENTEXT_BACKOFF_MAX_MS: '5' });
  t = c.t;
});
afterAll(() => c.stop());

test('a 30 s Exstream outage during a notice batch, with the default retry settings: every record ends with exactly one document', async () => {
  const servedBefore = c.fake.served(GENERATE_PATH, 'POST');
  const refusedBefore = c.fake.count(GENERATE_PATH, 'POST') - servedBefore;
  c.fake.faults.add({
    path: GENERATE_PATH,
    method: 'POST',
    kind: 'status',
    status: 503,
    body: { status: 503, error: 'Service Unavailable', message: 'upstream down' },
    durationMs: OUTAGE_MS,
  });
  const caseId = await signOffNotice(
    t,
    'Savings rate change, 30 s outage',
    ['savings', 'premium'],
    ['EMAIL'],
  );
  const report = await noticeResolved(t, caseId, 400_000);

  // The outage really stopped the batch: Exstream refused its calls.
  const refused = c.fake.count(GENERATE_PATH, 'POST') - c.fake.served(GENERATE_PATH, 'POST') - refusedBefore;
  expect(refused).toBeGreaterThan(0);

  // Nothing lost: all 19 customers of the two segments got their notice, none failed.
  expect(report.noticeBatch).toMatchObject({
    status: 'COMPLETED',
    total: 19,
    generated: 19,
    failed: 0,
    delivered: 19,
    deliveryFailed: 0,
  });
  expect(report.noticeBatch!.openExceptions).toEqual([]);
  // Nothing duplicated: one document and one delivery per record, one generation served each.
  expect(await batchDocumentCounts(t, report.noticeBatch!.id)).toEqual({
    docs: '19',
    pairs: '19',
    deliveries: '19',
  });
  expect(c.fake.served(GENERATE_PATH, 'POST') - servedBefore).toBe(19);
}, 480_000);
