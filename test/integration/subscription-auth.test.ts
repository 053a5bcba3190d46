/**
 * Subscriptions are authorised per event: the role must allow the stream, a
 * service client hears only what its configured scope names, and personal
 * data inside each event is held to the field rules, event by event.
 */
import { sql } from 'kysely';
import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import { ROLES, type Role } from '../../src/identity/index.js';
import { SUBSCRIPTION_ROLES, type Stream } from '../../src/policy/index.js';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { wsClient } from '../support/ws.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

let t: TestGateway;
let admin: string;
const tokens = new Map<Role, string>();

const SCOPES = {
  'svc-email': { channels: ['EMAIL'], subscriptions: ['deliveryStatusChanged', 'generationExceptionRaised'] },
  'svc-print': { channels: ['PRINT'] },
  'svc-service-cases': { caseKinds: ['SERVICE'] },
  // The matrix's service client: listed, with no restriction.
  'subs.service': {},
};

beforeAll(async () => {
  t = await startTestGateway({ SERVICE_SCOPES: JSON.stringify(SCOPES) });
  admin = await t.token('subs.admin', 'admin');
  for (const role of ROLES) tokens.set(role, await t.token(`subs.${role}`, role));
  // Events for the streams the demo data has none of: a template edit and a dispute deadline.
  const edit = await t.gql(
    `mutation { editTemplate(input: { templateId: "tpl_claim_letter", comment: "subscription test" }) { id } }`,
    {},
    admin,
  );
  expect(edit.errors).toBeUndefined();
  const agent = await t.token('subs.agent', 'service-agent');
  const dispute = await t.gql<{ startCase: { id: string } }>(
    `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
    {
      input: {
        kind: 'DISPUTE',
        title: 'Late fee complaint',
        customerId: 'cus_004',
        data: SEED_TEMPLATES.find((x) => x.id === 'tpl_dispute_acknowledgement')!.sampleData,
      },
    },
    agent,
  );
  expect(dispute.errors).toBeUndefined();
  // Time passes for the dispute: its acknowledgement was due an hour ago.
  await sql`update workflow.case_deadlines set due_at = now() - interval '1 hour'
            where case_id = ${dispute.data!.startCase.id} and kind = 'ACKNOWLEDGEMENT'`.execute(
    t.gateway.store!.db,
  );
  await t.settle();
}, 60_000);

afterAll(() => t?.stop());

/** Opens a subscription and collects what arrives until `until` holds or the server ends it. */
async function collect(
  token: string,
  query: string,
  until: (results: ExecutionResult[]) => boolean,
): Promise<{ results: ExecutionResult[]; error: unknown }> {
  const client = wsClient(t.url, token);
  const results: ExecutionResult[] = [];
  try {
    return await new Promise((resolve) => {
      const stop = client.subscribe(
        { query },
        {
          next: (r) => {
            // A refused subscription answers with one result carrying only errors, then completes.
            if (r.errors && !r.data) {
              stop();
              resolve({ results, error: r.errors });
              return;
            }
            results.push(r as ExecutionResult);
            if (until(results)) {
              stop();
              resolve({ results, error: null });
            }
          },
          error: (error) => resolve({ results, error }),
          complete: () => resolve({ results, error: null }),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

const codeOf = (error: unknown): string | undefined =>
  Array.isArray(error) ? (error[0] as { extensions?: { code?: string } })?.extensions?.code : undefined;

/** Each stream with a selection that replays at least one event from the store for those who may see it. */
const STREAMS: Record<Stream, string | null> = {
  caseUpdated: `subscription { caseUpdated(after: "0") { id } }`,
  deadlineAlerted: `subscription { deadlineAlerted(after: "0") { eventId level } }`,
  deliveryStatusChanged: `subscription { deliveryStatusChanged(after: "0") { eventId delivery { status } } }`,
  generationExceptionRaised: `subscription { generationExceptionRaised(after: "0") { id kind } }`,
  // No batch runs in this test: those who may open it are checked by the mandatory-notice test.
  noticeBatchProgress: null,
  templateUpdated: `subscription { templateUpdated(after: "0") { id } }`,
  // Connected mode only (nothing is held here): its refusals are checked; the runtime-monitor test delivers it.
  heldJobUpdated: null,
};
/** What a stream without events to replay here is opened with, to check its refusals. */
const OPEN_ONLY: Partial<Record<Stream, string>> = {
  noticeBatchProgress: `subscription { noticeBatchProgress(after: "0") { id } }`,
  heldJobUpdated: `subscription { heldJobUpdated(after: "0") { id } }`,
};

const streamCells = (Object.keys(SUBSCRIPTION_ROLES) as Stream[]).flatMap((s) =>
  ROLES.map((role) => [s, role] as const),
);

test.each(streamCells)('%s as %s', async (stream, role) => {
  const allowed = (SUBSCRIPTION_ROLES[stream] as readonly Role[]).includes(role);
  const query = STREAMS[stream] ?? OPEN_ONLY[stream]!;
  if (!allowed) {
    const r = await collect(tokens.get(role)!, query, () => true);
    expect(codeOf(r.error)).toBe('FORBIDDEN');
    expect(r.results).toEqual([]);
    return;
  }
  if (!STREAMS[stream]) return;
  const r = await collect(tokens.get(role)!, query, (rs) => rs.length >= 1);
  expect(r.error).toBeNull();
  expect(r.results[0]!.data).toBeTruthy();
});

/** Deliveries as an unscoped reader sees them, up to a known count. */
async function allDeliveries(): Promise<Array<{ eventId: string; channel: string }>> {
  const count = await sql<{
    n: string;
  }>`select count(*) as n from communications.events where topic = 'DELIVERY_STATUS'`.execute(
    t.gateway.store!.db,
  );
  const n = Number(count.rows[0]!.n);
  const r = await collect(
    tokens.get('operations')!,
    `subscription { deliveryStatusChanged(after: "0") { eventId delivery { channel } } }`,
    (rs) => rs.length >= n,
  );
  return r.results.map((x) => {
    const d = (x.data as { deliveryStatusChanged: { eventId: string; delivery: { channel: string } } })
      .deliveryStatusChanged;
    return { eventId: d.eventId, channel: d.delivery.channel };
  });
}

test('a scoped service client receives only the channels its scope names, checked event by event', async () => {
  const all = await allDeliveries();
  const channels = new Set(all.map((d) => d.channel));
  // The demo data has deliveries on more than one channel, so the filter has something to hold back.
  expect(channels.size).toBeGreaterThan(1);
  for (const [sub, channel] of [
    ['svc-email', 'EMAIL'],
    ['svc-print', 'PRINT'],
  ] as const) {
    const expected = all.filter((d) => d.channel === channel).map((d) => d.eventId);
    expect(expected.length).toBeGreaterThan(0);
    const last = all.at(-1)!.eventId;
    const token = await t.token(sub, 'service');
    // Read up to the newest delivery event of this channel; the ones after it of other channels are held back.
    const r = await collect(
      token,
      `subscription { deliveryStatusChanged(after: "0") { eventId delivery { channel } } }`,
      (rs) => rs.length >= expected.length,
    );
    const got = r.results.map(
      (x) => (x.data as { deliveryStatusChanged: { eventId: string } }).deliveryStatusChanged.eventId,
    );
    expect(got).toEqual(expected);
    expect(Number(last)).toBeGreaterThanOrEqual(Number(got.at(-1)));
  }
});

test('a scope limits which streams a service may open, and an unlisted service gets nothing', async () => {
  const email = await t.token('svc-email', 'service');
  expect(codeOf((await collect(email, STREAMS.caseUpdated!, () => true)).error)).toBe('FORBIDDEN');
  const stranger = await t.token('svc-unlisted', 'service');
  expect(codeOf((await collect(stranger, STREAMS.deliveryStatusChanged!, () => true)).error)).toBe(
    'FORBIDDEN',
  );
  // A human role that does not open the stream does not lift the service's scope either.
  const dressedUp = await t.token('svc-unlisted', 'service', 'requester');
  expect(codeOf((await collect(dressedUp, STREAMS.deliveryStatusChanged!, () => true)).error)).toBe(
    'FORBIDDEN',
  );
});

test('case events reach a service scoped to some case kinds only for those kinds', async () => {
  const scoped = await t.token('svc-service-cases', 'service');
  const before = await t.gql<{ cases: { edges: { node: { id: string } }[] } }>(
    `{ cases(kind: SERVICE, first: 100) { edges { node { id } } } }`,
    {},
    admin,
  );
  const serviceCases = new Set(before.data!.cases.edges.map((e) => e.node.id));
  expect(serviceCases.size).toBeGreaterThan(0);
  const wanted = await sql<{ n: string }>`
    select count(*) as n from workflow.events e join workflow.cases c on c.id = e.payload->>'caseId'
    where e.topic = 'CASE_UPDATED' and c.kind = 'SERVICE'`.execute(t.gateway.store!.db);
  const n = Number(wanted.rows[0]!.n);
  expect(n).toBeGreaterThan(0);
  const r = await collect(
    scoped,
    `subscription { caseUpdated(after: "0") { id kind } }`,
    (rs) => rs.length >= n,
  );
  const kinds = r.results.map((x) => (x.data as { caseUpdated: { kind: string } }).caseUpdated.kind);
  expect(kinds).toHaveLength(n);
  expect(new Set(kinds)).toEqual(new Set(['SERVICE']));
});

test('personal data inside each event follows the field rules of the subscriber', async () => {
  const n = (await allDeliveries()).length;
  const query = `subscription { deliveryStatusChanged(after: "0") { eventId delivery { channel } document { id customer { name email } } } }`;
  type Event = {
    deliveryStatusChanged: {
      delivery: { channel: string };
      document: { customer: { name: string; email: unknown } };
    };
  };
  const asService = await collect(tokens.get('service')!, query, (rs) => rs.length >= n);
  expect(asService.results).toHaveLength(n);
  for (const r of asService.results) {
    const d = (r.data as Event).deliveryStatusChanged;
    expect(d.document.customer.name).toEqual(expect.any(String));
    expect(d.document.customer.email).toBeNull();
    expect(r.errors?.map((e) => [e.path?.slice(-1)[0], e.extensions?.code])).toEqual([
      ['email', 'FORBIDDEN'],
    ]);
  }
  const asAgent = await collect(tokens.get('service-agent')!, query, (rs) => rs.length >= n);
  const seen = asAgent.results.map((r) => {
    expect(r.errors).toBeUndefined();
    return (r.data as Event).deliveryStatusChanged;
  });
  // The demo's failed email delivery is to a customer without an address; the others show theirs to the agent.
  expect(seen.filter((d) => typeof d.document.customer.email === 'string').length).toBeGreaterThan(0);
});

test('a router forwarding the token as `token` in connection_init (Apollo Router, Hive Gateway) is accepted', async () => {
  const client = createClient({
    url: t.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { token: tokens.get('auditor') },
    retryAttempts: 0,
  });
  try {
    const first = await new Promise<FormattedExecutionResult>((resolve, reject) => {
      client.subscribe(
        { query: STREAMS.caseUpdated! },
        { next: resolve, error: reject, complete: () => undefined },
      );
    });
    expect(first.errors).toBeUndefined();
    expect(first.data).toBeTruthy();
  } finally {
    await client.dispose();
  }
});
