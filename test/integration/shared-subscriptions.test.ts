/**
 * Broadcast fan-out (src/gateway/shared-subscriptions.ts): live subscriptions
 * with the same document, variables and read access share one execution per
 * event. What each subscriber sees must not change: every event once, in
 * order; what its own role or scope allows, and no more; a neighbour leaving
 * changes nothing for the rest; resuming `after` a cursor replays as before.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { Role } from '../../src/identity/index.js';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe, type Subscription } from '../support/ws.js';

let t: TestGateway;
let svc: string;

const SCOPES = {
  'fan-email': { channels: ['EMAIL'] },
  'fan-print': { channels: ['PRINT'] },
};

beforeAll(async () => {
  t = await startTestGateway({ SERVICE_SCOPES: JSON.stringify(SCOPES) });
  svc = await t.token('fanout.publisher', 'service');
}, 60_000);
afterAll(() => t?.stop());

type Step = {
  deliveryStatusChanged: {
    eventId: string;
    delivery: { id: string; status: string; channel: string };
    document?: { customer: { email: string | null } | null } | null;
  };
};

const idsOf = (s: Subscription<Step>) => s.received.map((r) => r.deliveryStatusChanged.eventId);

/** Generates documents for a customer; each delivery then steps through its statuses as events. */
async function generate(customerId: string, channels: readonly string[]) {
  for (const channel of channels) {
    const r = await t.gql(
      `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id status } }`,
      {
        input: {
          customerId,
          templateId: 'tpl_billing_notice',
          channel,
          data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
        },
      },
      svc,
    );
    expect(r.errors).toBeUndefined();
  }
}

/**
 * A live subscription receives what is committed once it is under way; the
 * test cannot see that moment, so it publishes until every subscriber has
 * received something. Returns the newest event id by then: every event after
 * it is one each subscriber must get.
 */
async function untilLive(
  subs: Subscription<Step>[],
  customerId: string,
  channels: readonly string[] = ['PRINT'],
): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (!subs.every((s) => s.received.length > 0)) {
    if (Date.now() > deadline) throw new Error('subscriptions never went live');
    await generate(customerId, channels);
    await t.settle();
    await Promise.all(subs.map((s) => s.waitFor((r) => r.length > 0, 1_000).catch(() => undefined)));
  }
  await t.settle();
  return t.cursor('deliveryStatusChanged');
}

/** Every id once, ascending; and, past `from`, exactly the table's events for the filter. */
function expectExactly(ids: string[], table: string[], from: string) {
  const numbers = ids.map(Number);
  expect(numbers).toEqual([...new Set(numbers)].sort((a, b) => a - b));
  expect(ids.filter((id) => BigInt(id) > BigInt(from))).toEqual(table);
}

/** Open subscriptions of a stream in this process, from /metrics. */
async function openStreams(): Promise<number> {
  const ops = await t.token('fanout.metrics', 'operations');
  const res = await fetch(t.url.replace(/\/graphql$/, '/metrics'), {
    headers: { authorization: `Bearer ${ops}` },
  });
  const line = (await res.text())
    .split('\n')
    .find((l) => l.startsWith('commsgraph_subscriptions_active{') && l.includes('stream="DELIVERY_STATUS"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

test('many subscribers of one document each get every event once, in order, from one shared stream', async () => {
  const customerId = 'cus_007';
  const query = `subscription { deliveryStatusChanged(customerId: "${customerId}") { eventId delivery { id status channel } } }`;
  const before = await openStreams();
  // Each its own socket and token (same role), as front ends connect.
  const subs = await Promise.all(
    Array.from({ length: 12 }, async (_, i) =>
      subscribe<Step>(t.url, await t.token(`fanout.ops.${i}`, 'operations'), query),
    ),
  );
  // And two subscriptions of the same document on one socket: each message carries its own id.
  const token = await t.token('fanout.ops.shared-socket', 'operations');
  const client = createClient({
    url: t.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const onOneSocket: string[][] = [[], []];
  const disposers = onOneSocket.map((into) =>
    client.subscribe<Step>(
      { query },
      {
        next: (r) => into.push(r.data!.deliveryStatusChanged.eventId),
        error: () => undefined,
        complete: () => undefined,
      },
    ),
  );
  try {
    const from = await untilLive(subs, customerId);
    // The equivalent subscriptions were opened once between them.
    expect((await openStreams()) - before).toBe(1);

    await generate(customerId, ['PRINT', 'EMAIL', 'PRINT']);
    await t.settle();
    const table = await t.eventIds('deliveryStatusChanged', from, { customerId });
    expect(table.length).toBeGreaterThanOrEqual(6);
    await Promise.all(subs.map((s) => s.waitFor(() => idsOf(s).includes(table.at(-1)!))));
    for (const s of subs) expectExactly(idsOf(s), table, from);
    const deadline = Date.now() + 10_000;
    while (!onOneSocket.every((ids) => ids.includes(table.at(-1)!)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const ids of onOneSocket) expectExactly(ids, table, from);
  } finally {
    disposers.forEach((d) => d());
    await client.dispose();
    await Promise.all(subs.map((s) => s.close()));
  }
});

test('subscribers of one document with different roles or scopes each get what they may see', async () => {
  const customerId = 'cus_008';
  const query = `subscription { deliveryStatusChanged(customerId: "${customerId}") { eventId delivery { id status channel } document { customer { email } } } }`;
  const open = async (sub: string, role: Role) => subscribe<Step>(t.url, await t.token(sub, role), query);
  // operations may read contact details; compliance may follow deliveries but not read them.
  const ops = await Promise.all([open('fanout.r.ops1', 'operations'), open('fanout.r.ops2', 'operations')]);
  const compliance = await Promise.all([
    open('fanout.r.comp1', 'compliance'),
    open('fanout.r.comp2', 'compliance'),
  ]);
  // Two service clients, each scoped to one channel: the same roles, another subject, another scope.
  const email = await open('fan-email', 'service');
  const print = await open('fan-print', 'service');
  const all = [...ops, ...compliance, email, print];
  try {
    const from = await untilLive(all, customerId, ['EMAIL', 'PRINT']);
    await generate(customerId, ['EMAIL', 'PRINT', 'EMAIL']);
    await t.settle();
    const table = await t.eventIds('deliveryStatusChanged', from, { customerId });
    const last = table.at(-1)!;
    await Promise.all([...ops, ...compliance].map((s) => s.waitFor(() => idsOf(s).includes(last))));

    for (const s of ops) {
      expectExactly(idsOf(s), table, from);
      for (const r of s.received)
        expect(r.deliveryStatusChanged.document?.customer?.email).toBe('siobhan.oceallaigh@example.org');
    }
    for (const s of compliance) {
      expectExactly(idsOf(s), table, from);
      // The field is refused (null, FORBIDDEN in errors), the rest of the event arrives.
      for (const r of s.received) expect(r.deliveryStatusChanged.document?.customer?.email).toBeNull();
    }
    const byChannel = (channel: string) =>
      ops[0]!.received
        .filter((r) => BigInt(r.deliveryStatusChanged.eventId) > BigInt(from))
        .filter((r) => r.deliveryStatusChanged.delivery.channel === channel)
        .map((r) => r.deliveryStatusChanged.eventId);
    const emailIds = byChannel('EMAIL');
    const printIds = byChannel('PRINT');
    expect(emailIds.length).toBeGreaterThan(0);
    expect(printIds.length).toBeGreaterThan(0);
    await email.waitFor(() => idsOf(email).includes(emailIds.at(-1)!));
    await print.waitFor(() => idsOf(print).includes(printIds.at(-1)!));
    // Each scoped client: only its channel's events, every one of them past the point it was live.
    expect(email.received.every((r) => r.deliveryStatusChanged.delivery.channel === 'EMAIL')).toBe(true);
    expect(idsOf(email).filter((id) => BigInt(id) > BigInt(from))).toEqual(emailIds);
    expect(print.received.every((r) => r.deliveryStatusChanged.delivery.channel === 'PRINT')).toBe(true);
    expect(idsOf(print).filter((id) => BigInt(id) > BigInt(from))).toEqual(printIds);
  } finally {
    await Promise.all(all.map((s) => s.close()));
  }
});

test('a subscriber leaving, or its socket dropping, does not disturb the others sharing its stream', async () => {
  const customerId = 'cus_010';
  const query = `subscription { deliveryStatusChanged(customerId: "${customerId}") { eventId delivery { id status } } }`;
  const subs = await Promise.all(
    Array.from({ length: 6 }, async (_, i) =>
      subscribe<Step>(t.url, await t.token(`fanout.leave.${i}`, 'operations'), query),
    ),
  );
  // One connection the test can cut without a goodbye.
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      sockets.push(this);
    }
  }
  const dropped = createClient({
    url: t.url.replace(/^http/, 'ws'),
    webSocketImpl: Tracked,
    connectionParams: { authorization: `Bearer ${await t.token('fanout.leave.dropped', 'operations')}` },
    retryAttempts: 0,
  });
  const droppedIds: string[] = [];
  dropped.subscribe<Step>(
    { query },
    {
      next: (r) => droppedIds.push(r.data!.deliveryStatusChanged.eventId),
      error: () => undefined,
      complete: () => undefined,
    },
  );
  try {
    const from = await untilLive(subs, customerId);
    const deadline = Date.now() + 10_000;
    while (!droppedIds.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Two leave properly (complete), one socket is cut.
    await subs[0]!.close();
    await subs[1]!.close();
    sockets[0]!.terminate();
    const staying = subs.slice(2);
    await generate(customerId, ['PRINT', 'PRINT']);
    await t.settle();
    const table = await t.eventIds('deliveryStatusChanged', from, { customerId });
    await Promise.all(staying.map((s) => s.waitFor(() => idsOf(s).includes(table.at(-1)!))));
    for (const s of staying) expectExactly(idsOf(s), table, from);

    // When all have left, a newcomer opens a stream of its own and gets what follows.
    await Promise.all(staying.map((s) => s.close()));
    const late = await subscribe<Step>(t.url, await t.token('fanout.leave.late', 'operations'), query);
    const lateFrom = await untilLive([late], customerId);
    await generate(customerId, ['PRINT']);
    await t.settle();
    const more = await t.eventIds('deliveryStatusChanged', lateFrom, { customerId });
    await late.waitFor(() => idsOf(late).includes(more.at(-1)!));
    expectExactly(idsOf(late), more, lateFrom);
    await late.close();
  } finally {
    await dropped.dispose();
    await Promise.all(subs.map((s) => s.close()));
  }
});

test('a subscriber resuming after a cursor replays, then follows live, beside a shared stream', async () => {
  const customerId = 'cus_011';
  const live = `subscription { deliveryStatusChanged(customerId: "${customerId}") { eventId delivery { id status } } }`;
  const resumable = `subscription ($after: ID) { deliveryStatusChanged(customerId: "${customerId}", after: $after) { eventId delivery { id status } } }`;
  const subs = await Promise.all(
    Array.from({ length: 4 }, async (_, i) =>
      subscribe<Step>(t.url, await t.token(`fanout.resume.${i}`, 'operations'), live),
    ),
  );
  try {
    const from = await untilLive(subs, customerId);
    await generate(customerId, ['PRINT']);
    await t.settle();
    const missed = await t.eventIds('deliveryStatusChanged', from, { customerId });
    expect(missed.length).toBeGreaterThan(0);
    // A subscriber that saw up to `from` comes back with the same token as a shared one: it replays.
    const resumed = await subscribe<Step>(t.url, await t.token('fanout.resume.0', 'operations'), resumable, {
      after: from,
    });
    await resumed.waitFor(() => idsOf(resumed).includes(missed.at(-1)!));
    await generate(customerId, ['PRINT']);
    await t.settle();
    const table = await t.eventIds('deliveryStatusChanged', from, { customerId });
    await Promise.all([...subs, resumed].map((s) => s.waitFor(() => idsOf(s).includes(table.at(-1)!))));
    // The resumed stream holds exactly the table's events since its cursor, each once, in order.
    expect(idsOf(resumed)).toEqual(table);
    for (const s of subs) expectExactly(idsOf(s), table, from);
    await resumed.close();
  } finally {
    await Promise.all(subs.map((s) => s.close()));
  }
});
