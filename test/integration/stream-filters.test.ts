/**
 * A subscription for one case (or document) is handed only that case's events
 * by the relay's index, and misses none of them; one without a filter still
 * gets every event. Checked on live events, which take the indexed path.
 */
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t?.stop());

const sample = SEED_TEMPLATES.find((x) => x.id === 'tpl_account_statement')!.sampleData;
type Step = { deliveryStatusChanged: { delivery: { status: string }; document: { case: { id: string } } } };
type Update = { caseUpdated: { id: string; status: string } };

async function startCase(customerId: string): Promise<{ id: string; approvals: { id: string }[] }> {
  const r = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: `Statement for ${customerId}`,
        customerId,
        templateId: 'tpl_account_statement',
        channel: 'PRINT',
        data: sample,
      },
    },
    await t.token('filters.requester', 'requester'),
  );
  expect(r.errors).toBeUndefined();
  return r.data!.startCase;
}

async function approve(c: { approvals: { id: string }[] }): Promise<void> {
  const who = [
    await t.token('filters.reviewer', 'reviewer'),
    await t.token('filters.approver', 'approver'),
    await t.token('filters.compliance', 'compliance'),
  ];
  for (const [i, a] of c.approvals.entries()) {
    const r = await t.gql(
      `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { decision } }`,
      { input: { approvalId: a.id, decision: 'APPROVED' } },
      who[i],
    );
    expect(r.errors).toBeUndefined();
  }
}

test('filtered subscribers get exactly their own case, all of it; an unfiltered one gets both', async () => {
  const ops = await t.token('filters.ops', 'operations');
  const a = await startCase('cus_001');
  const b = await startCase('cus_002');
  const DELIVERIES = `subscription ($caseId: ID, $after: ID) { deliveryStatusChanged(caseId: $caseId, after: $after) { delivery { status } document { case { id } } } }`;
  const UPDATES = `subscription ($caseId: ID, $after: ID) { caseUpdated(caseId: $caseId, after: $after) { id status } }`;
  // After the newest events as they are now: nothing is in the table for these cases yet,
  // so every event below reaches the subscribers live, through the relay's index.
  const after = await t.cursor('deliveryStatusChanged');
  const all = await subscribe<Step>(t.url, ops, DELIVERIES, { after });
  const onlyA = await subscribe<Step>(t.url, ops, DELIVERIES, { caseId: a.id, after });
  const onlyB = await subscribe<Step>(t.url, ops, DELIVERIES, { caseId: b.id, after });
  const updatesA = await subscribe<Update>(t.url, ops, UPDATES, {
    caseId: a.id,
    after: await t.cursor('caseUpdated'),
  });
  await approve(a);
  await approve(b);

  const delivered = (r: Step[], id: string) =>
    r.some(
      (e) =>
        e.deliveryStatusChanged.document.case.id === id &&
        e.deliveryStatusChanged.delivery.status === 'DELIVERED',
    );
  await onlyA.waitFor((r) => delivered(r, a.id));
  await onlyB.waitFor((r) => delivered(r, b.id));
  await all.waitFor((r) => delivered(r, a.id) && delivered(r, b.id));
  await updatesA.waitFor((r) => r.some((e) => e.caseUpdated.status === 'RESOLVED'));
  await t.settle();

  const steps = (r: Step[], id: string) =>
    r
      .filter((e) => e.deliveryStatusChanged.document.case.id === id)
      .map((e) => e.deliveryStatusChanged.delivery.status);
  expect(steps(onlyA.received, a.id)).toEqual(['PENDING', 'SENT', 'DELIVERED']);
  expect(onlyA.received).toHaveLength(3);
  expect(steps(onlyB.received, b.id)).toEqual(['PENDING', 'SENT', 'DELIVERED']);
  expect(onlyB.received).toHaveLength(3);
  expect(steps(all.received, a.id)).toEqual(['PENDING', 'SENT', 'DELIVERED']);
  expect(steps(all.received, b.id)).toEqual(['PENDING', 'SENT', 'DELIVERED']);
  expect(updatesA.received.every((e) => e.caseUpdated.id === a.id)).toBe(true);
  await Promise.all([all.close(), onlyA.close(), onlyB.close(), updatesA.close()]);
});
