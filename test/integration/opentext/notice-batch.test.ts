import { sql } from 'kysely';
import type { TestGateway } from '../../support/harness.js';
import { GENERATE_PATH, startConnected, type Connected } from './connected.js';
import { noticeResolved, signOffNotice } from './notices.js';

/**
 * A mandatory notice batch in connected mode: one Exstream on-demand call per customer and
 * channel, the same outcomes and report as the embedded mode (mandatory-notice.test.ts).
 */
let c: Connected;
let t: TestGateway;

beforeAll(async () => {
  c = await startConnected();
  t = c.t;
});
afterAll(() => c.stop());

test('a notice batch makes one on-demand call per record, and its report accounts for all of them', async () => {
  const before = c.fake.served(GENERATE_PATH, 'POST');
  const caseId = await signOffNotice(
    t,
    'Savings rate change, June',
    ['savings', 'premium'],
    ['EMAIL', 'MOBILE'],
  );
  await t.settle();
  const report = await noticeResolved(t, caseId);
  // savings (12) ∪ premium (10) share 3 customers: 19 customers × 2 channels.
  expect(report.noticeBatch).toMatchObject({
    status: 'COMPLETED',
    total: 38,
    generated: 38,
    failed: 0,
    delivered: 30,
    deliveryFailed: 8,
  });
  expect(report.noticeBatch!.counts).toEqual([
    { channel: 'EMAIL', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 19 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'DELIVERED', count: 11 },
    { channel: 'MOBILE', documentStatus: 'GENERATED', deliveryStatus: 'FAILED', count: 8 },
  ]);
  expect(report.history.find((h) => h.action === 'NOTICE_SENT')!.detail).toMatchObject({
    total: 38,
    generated: 38,
    failed: 0,
  });
  // Exactly one call per record reached Exstream.
  expect(c.fake.served(GENERATE_PATH, 'POST') - before).toBe(38);
  const { rows } = await sql<{ n: string; pairs: string; media: string }>`
    select count(*)::text as n, count(distinct (customer_id, channel))::text as pairs,
      string_agg(distinct media_type, ',' order by media_type) as media
    from communications.documents where batch_id = ${report.noticeBatch!.id}`.execute(t.gateway.store!.db);
  // EMAIL takes Exstream's HTML output, MOBILE its SMS text.
  expect(rows[0]).toEqual({ n: '38', pairs: '38', media: 'text/html,text/plain' });

  // The report as CSV, for the regulator's file.
  const csv = await fetch(t.url.replace('/graphql', `/reports/notices/${caseId}.csv`), {
    headers: { authorization: `Bearer ${await t.token('audrey.auditor', 'auditor')}` },
  });
  expect(csv.status).toBe(200);
  const text = await csv.text();
  expect(text).toContain('totals,customers,19');
  expect(text).toContain('count,EMAIL/GENERATED/DELIVERED,19');
  expect(text).toContain('count,MOBILE/GENERATED/FAILED,8');
  expect(text).toMatch(/open_exceptions,DELIVERY_FAILURE,8/);
}, 240_000);
