import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe } from '../support/ws.js';

/**
 * Resumable status streams: a subscriber that missed events subscribes
 * again `after` the last eventId it saw; the events since are replayed from
 * the events table, then live ones follow, each exactly once and in order.
 */
let t: TestGateway;
let svc: string;

beforeAll(async () => {
  t = await startTestGateway();
  svc = await t.token('status-stream', 'service');
});
afterAll(() => t.stop());

const DELIVERIES = `subscription ($after: ID) { deliveryStatusChanged(customerId: "cus_009", after: $after) { eventId delivery { id status } } }`;
type Step = { deliveryStatusChanged: { eventId: string; delivery: { id: string; status: string } } };

async function generate(n: number) {
  for (let i = 0; i < n; i++) {
    const r = await t.gql(
      `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id status } }`,
      {
        input: {
          customerId: 'cus_009',
          templateId: 'tpl_billing_notice',
          channel: 'PRINT',
          data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
        },
      },
      svc,
    );
    expect(r.errors).toBeUndefined();
  }
}

test('a subscriber resuming after an eventId gets every missed event once, in order, then live ones', async () => {
  const from = await t.cursor('deliveryStatusChanged');
  const live = await subscribe<Step>(t.url, svc, DELIVERIES, { after: from });
  await generate(3);
  const seen = await live.waitFor((r) => r.length >= 9);
  const ids = seen.map((e) => e.deliveryStatusChanged.eventId);

  // Cut off after the third event; resume from it.
  const resumed = await subscribe<Step>(t.url, svc, DELIVERIES, { after: ids[2] });
  const replayed = await resumed.waitFor((r) => r.length >= 6);
  expect(replayed.map((e) => e.deliveryStatusChanged.eventId)).toEqual(ids.slice(3, 9));
  expect(replayed.map((e) => e.deliveryStatusChanged.delivery.status)).toEqual(
    seen.slice(3, 9).map((e) => e.deliveryStatusChanged.delivery.status),
  );

  // The stream goes on live past the seam, with nothing twice: both streams hold exactly
  // the events the table holds for the customer (each once, in order), the resumed one
  // from the cut on.
  await generate(1);
  await t.settle();
  const table = await t.eventIds('deliveryStatusChanged', from, { customerId: 'cus_009' });
  expect(table).toHaveLength(12);
  const all = await resumed.waitFor((r) => r.length >= 9);
  const liveAll = await live.waitFor((r) => r.length >= 12);
  expect(liveAll.map((e) => e.deliveryStatusChanged.eventId)).toEqual(table);
  expect(all.map((e) => e.deliveryStatusChanged.eventId)).toEqual(table.slice(3));
  await live.close();
  await resumed.close();
});

test('caseUpdated resumes too, and its payload carries the eventId to resume from', async () => {
  const requester = await t.token('rita', 'requester');
  const started = await t.gql<{ startCase: { id: string } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
    {
      input: {
        kind: 'REGULATED_DOCUMENT',
        title: 'Resume me',
        customerId: 'cus_009',
        templateId: 'tpl_billing_notice',
        channel: 'PRINT',
        data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
      },
    },
    requester,
  );
  const caseId = started.data!.startCase.id;
  // Subscribing from the beginning replays the case's whole history of updates.
  const replay = await subscribe<{ caseUpdated: { id: string; status: string; eventId: string } }>(
    t.url,
    svc,
    `subscription ($caseId: ID, $after: ID) { caseUpdated(caseId: $caseId, after: $after) { id status eventId } }`,
    { caseId, after: '0' },
  );
  const [first] = await replay.waitFor((r) => r.length >= 1);
  expect(first!.caseUpdated).toMatchObject({ id: caseId, status: 'AWAITING_APPROVAL' });
  expect(first!.caseUpdated.eventId).toMatch(/^\d+$/);
  await replay.close();

  const bad = await subscribe(t.url, svc, `subscription { caseUpdated(after: "yesterday") { id } }`).catch(
    (e: Error) => e,
  );
  const error = bad instanceof Error ? bad : await bad.waitFor(() => false, 2000).catch((e: Error) => e);
  expect(String(error)).toContain('BAD_USER_INPUT');
});
