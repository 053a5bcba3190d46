/**
 * Issue 12 §6: subscriptions over Server-Sent Events on the GraphQL URL, for clients that cannot
 * hold a WebSocket. Same authentication (the Authorization header), same per-event policy, same
 * `after` resume as graphql-ws: each test here mirrors one the WebSocket transport has.
 */
import { createClient } from 'graphql-sse';
import { loadOrCreateDevKey, signDevToken } from '../../src/identity/index.js';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let svc: string;

beforeAll(async () => {
  t = await startTestGateway();
  svc = await t.token('sse-stream', 'service');
});
afterAll(() => t?.stop());

interface SseEvent {
  event: string;
  data: string;
}

/**
 * An event stream as a service without a GraphQL client reads one: fetch with
 * `Accept: text/event-stream`, then the `event:`/`data:` blocks of the body.
 */
async function openStream(token: string | null, query: string, variables: Record<string, unknown> = {}) {
  const controller = new AbortController();
  const res = await fetch(t.url, {
    method: 'POST',
    headers: {
      accept: 'text/event-stream',
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  let ended = false;
  // A holder, not a `let`: TypeScript cannot see the assignment made inside waitFor's promise.
  const waiter: { wake?: () => void } = {};
  const pump = (async () => {
    if (!res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1];
          const data = /^data: ?(.*)$/m.exec(block)?.[1];
          if (event) events.push({ event, data: data ?? '' });
          waiter.wake?.();
        }
      }
    } catch {
      // Aborted by close().
    } finally {
      ended = true;
      waiter.wake?.();
    }
  })();
  return {
    res,
    events,
    /** The `data` of the `next` events, parsed. */
    results: () => events.filter((e) => e.event === 'next').map((e) => JSON.parse(e.data) as NextPayload),
    get ended() {
      return ended;
    },
    async waitFor(predicate: () => boolean, ms = 30_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!predicate()) {
        if (ended) throw new Error(`stream ended first: ${JSON.stringify(events)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`condition not met; events: ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          waiter.wake = resolve;
          setTimeout(resolve, Math.min(left, 500));
        });
      }
    },
    async close() {
      controller.abort();
      await pump;
    },
    pump,
  };
}

interface NextPayload {
  data?: { deliveryStatusChanged?: { eventId: string; delivery: { status: string } } } | null;
  errors?: { message: string; extensions?: { code?: string; reason?: string } }[];
}

const DELIVERIES = `subscription ($after: ID) { deliveryStatusChanged(customerId: "cus_009", after: $after) { eventId delivery { status } } }`;

async function generate(): Promise<void> {
  const r = await t.gql(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }`,
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

test('a delivery stream over SSE carries live events, and resumes after an eventId with nothing lost or twice', async () => {
  const from = await t.cursor('deliveryStatusChanged');
  const live = await openStream(svc, DELIVERIES, { after: from });
  expect(live.res.status).toBe(200);
  expect(live.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  await generate();
  await t.settle();
  const table = await t.eventIds('deliveryStatusChanged', from, { customerId: 'cus_009' });
  // PRINT: pending, sent, delivered (the embedded delivery engine's steps).
  expect(table).toHaveLength(3);
  await live.waitFor(() => live.results().length >= table.length);
  const liveIds = live.results().map((r) => r.data!.deliveryStatusChanged!.eventId);
  expect(liveIds).toEqual(table);
  expect(live.results().at(-1)!.data!.deliveryStatusChanged!.delivery.status).toBe('DELIVERED');
  await live.close();

  // A client that lost its connection after the first event resumes from it.
  const resumed = await openStream(svc, DELIVERIES, { after: table[0] });
  await resumed.waitFor(() => resumed.results().length >= table.length - 1);
  expect(resumed.results().map((r) => r.data!.deliveryStatusChanged!.eventId)).toEqual(table.slice(1));
  await resumed.close();
});

test('graphql-sse’s own client (distinct connections) receives events with the token in its headers', async () => {
  const from = await t.cursor('deliveryStatusChanged');
  const client = createClient({ url: t.url, headers: { authorization: `Bearer ${svc}` }, retryAttempts: 0 });
  const seen: string[] = [];
  const settle: { done?: () => void; failed?: (err: unknown) => void } = {};
  const enough = new Promise<void>((resolve, reject) => {
    settle.done = resolve;
    settle.failed = reject;
  });
  const stop = client.subscribe<{ deliveryStatusChanged: { eventId: string; delivery: { status: string } } }>(
    { query: DELIVERIES, variables: { after: from } },
    {
      next: (r) => {
        if (r.data) seen.push(r.data.deliveryStatusChanged.delivery.status);
        if (seen.includes('DELIVERED')) settle.done?.();
      },
      error: (err) => settle.failed?.(err),
      complete: () => undefined,
    },
  );
  await generate();
  await enough;
  stop();
  client.dispose();
  expect(seen).toEqual(['PENDING', 'SENT', 'DELIVERED']);
});

test('without a token the stream is refused with 401; a token with no role with 403', async () => {
  const none = await openStream(null, DELIVERIES);
  expect(none.res.status).toBe(401);
  expect(((await none.res.json()) as NextPayload).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');

  const forged = await openStream(`${svc}x`, DELIVERIES);
  expect(forged.res.status).toBe(401);
  expect(((await forged.res.json()) as NextPayload).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');

  const roleless = await openStream(await t.token('nobody'), DELIVERIES);
  expect(roleless.res.status).toBe(403);
  expect(((await roleless.res.json()) as NextPayload).errors![0]!.extensions!.code).toBe('FORBIDDEN');
});

test('a role the stream is not for gets one FORBIDDEN result, then the stream completes', async () => {
  // The policy: requesters follow their cases, not deliveries (README role table).
  const requester = await t.token('sse.requester', 'requester');
  const s = await openStream(requester, DELIVERIES);
  expect(s.res.status).toBe(200);
  await s.pump;
  const [first] = s.results();
  expect(first!.data ?? null).toBeNull();
  expect(first!.errors![0]!.extensions!.code).toBe('FORBIDDEN');
  expect(s.events.at(-1)!.event).toBe('complete');
});

test('the operation limits apply as on every transport: an unknown field is a validation error', async () => {
  const s = await openStream(svc, `subscription { deliveryStatusChanged(customerId: "cus_009") { nope } }`);
  await s.pump;
  expect(s.results()[0]!.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  expect(s.events.at(-1)!.event).toBe('complete');
});

test('queries and mutations are not served as event streams', async () => {
  const s = await openStream(svc, `{ cases(first: 1) { edges { node { id } } } }`);
  await s.pump;
  const error = s.results()[0]!.errors![0]!;
  expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'SUBSCRIPTIONS_ONLY' });
});

test('a token that expires while the stream is open ends the stream', async () => {
  const key = await loadOrCreateDevKey(t.dataDir);
  const shortLived = await signDevToken(
    key,
    { sub: 'sse-short', roles: ['service'], ttlSec: 2 },
    t.config.auth,
  );
  const s = await openStream(shortLived, DELIVERIES);
  expect(s.res.status).toBe(200);
  await s.pump;
  expect(s.ended).toBe(true);
});
