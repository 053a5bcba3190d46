import WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * Rate limits as a client meets them: a budget of operations per identity
 * (token subject) and per client address without a token; past it, 429 with
 * Retry-After and FORBIDDEN / RATE_LIMITED. Operations are counted, not HTTP
 * requests: each of a batch, each graphql-ws subscribe, each download or report.
 */
const PER_IDENTITY = 3;
const PER_ADDRESS = 2;

type Body = {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
};

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({
    RATE_LIMIT_PER_MINUTE: String(PER_IDENTITY),
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: String(PER_ADDRESS),
    // Behind "our" load balancer: the address it appended to X-Forwarded-For is the client's.
    TRUST_PROXY: 'true',
  });
});
afterAll(() => t.stop());

async function post(
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ res: Response; body: Body | Body[] }> {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { res, body: (await res.json()) as Body | Body[] };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const TYPENAME = { query: '{ __typename }' };

/** The 429 a client gets: Retry-After in whole seconds and the same number in the coded error. */
function expectLimited(res: Response, body: Body | Body[]): number {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  for (const b of Array.isArray(body) ? body : [body]) {
    expect(b.data ?? undefined).toBeUndefined();
    expect(b.errors).toEqual([
      {
        message: expect.stringMatching(/rate limit/i),
        extensions: { code: 'FORBIDDEN', reason: 'RATE_LIMITED', retryAfter },
      },
    ]);
  }
  return retryAfter;
}

test('an identity gets its budget, then 429 with Retry-After and the coded error; another identity is unaffected', async () => {
  const alice = await t.token('alice', 'auditor');
  for (let i = 0; i < PER_IDENTITY; i++) {
    const { res, body } = await post(TYPENAME, bearer(alice));
    expect(res.status).toBe(200);
    expect(body).toEqual({ data: { __typename: 'Query' } });
  }
  const over = await post(TYPENAME, bearer(alice));
  // GCRA: a budget of 3 a minute refills one operation every 20 s.
  expect(expectLimited(over.res, over.body)).toBeGreaterThan(10);

  // The budget belongs to the subject, not to the token: a new token does not reset it.
  const again = await post(TYPENAME, bearer(await t.token('alice', 'admin')));
  expectLimited(again.res, again.body);

  const bob = await post(TYPENAME, bearer(await t.token('bob', 'auditor')));
  expect(bob.res.status).toBe(200);
});

test('a refused mutation does not run (the same mutation within budget does)', async () => {
  const agent = await t.token('limited.agent', 'service-agent');
  const auditor = await t.token('counting.auditor', 'auditor');
  const START = {
    query: 'mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }',
    variables: { input: { kind: 'SERVICE', title: 'Rate limit probe', customerId: 'cus_001' } },
  };
  const count = async () => {
    const { res, body } = await post({ query: '{ cases(first: 1) { totalCount } }' }, bearer(auditor));
    expect(res.status).toBe(200);
    return ((body as Body).data!.cases as { totalCount: number }).totalCount;
  };
  const before = await count();
  for (let i = 0; i < PER_IDENTITY; i++) expect((await post(TYPENAME, bearer(agent))).res.status).toBe(200);
  const refused = await post(START, bearer(agent));
  expectLimited(refused.res, refused.body);
  expect(await count()).toBe(before);

  const other = await post(START, bearer(await t.token('other.agent', 'service-agent')));
  expect((other.body as Body).errors).toBeUndefined();
  expect(await count()).toBe(before + 1);
});

test('calls without a token are limited per client address; a made-up X-Forwarded-For entry does not help', async () => {
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  for (let i = 0; i < PER_ADDRESS; i++)
    expect((await post(TYPENAME, from('203.0.113.7'))).res.status).toBe(200);
  const over = await post(TYPENAME, from('203.0.113.7'));
  expectLimited(over.res, over.body);
  // The client prepends an address of its choosing; our proxy appended the real one last.
  const spoofed = await post(TYPENAME, from('198.51.100.99, 203.0.113.7'));
  expectLimited(spoofed.res, spoofed.body);
  // Another address has its own budget.
  expect((await post(TYPENAME, from('203.0.113.8'))).res.status).toBe(200);
});

test('refusals count too: forged tokens and operations refused before they run use up the budget', async () => {
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  // A forged token is charged to the address it comes from: 401 until the budget is gone, then 429.
  const forged = { ...from('203.0.113.20'), authorization: 'Bearer aaa.bbb.ccc' };
  for (let i = 0; i < PER_ADDRESS; i++) expect((await post(TYPENAME, forged)).res.status).toBe(401);
  const overForged = await post(TYPENAME, forged);
  expectLimited(overForged.res, overForged.body);
  // A document that does not parse is refused before it runs, and costs the caller as well.
  const token = await t.token('parse.errors', 'auditor');
  for (let i = 0; i < PER_IDENTITY; i++) {
    expect((await post({ query: '{ cases(' }, bearer(token))).res.status).toBe(400);
  }
  const overParse = await post({ query: '{ cases(' }, bearer(token));
  expectLimited(overParse.res, overParse.body);
});

test('each operation of a batch counts; a batch over the budget is refused whole, and costs nothing', async () => {
  const carol = bearer(await t.token('carol', 'auditor'));
  const first = await post([TYPENAME, { query: '{ a: __typename }' }], carol);
  expect(first.res.status).toBe(200);
  expect(first.body).toEqual([{ data: { __typename: 'Query' } }, { data: { a: 'Query' } }]);
  // One operation left: a batch of two does not fit, and none of it runs.
  const second = await post([TYPENAME, TYPENAME], carol);
  expectLimited(second.res, second.body);
  expect(second.body).toHaveLength(2);
  // The refused batch used nothing: the last operation is still there.
  expect((await post(TYPENAME, carol)).res.status).toBe(200);
  const last = await post(TYPENAME, carol);
  expectLimited(last.res, last.body);
});

test('document downloads and reports count as operations', async () => {
  const base = t.url.replace('/graphql', '');
  const erin = bearer(await t.token('erin', 'auditor'));
  // What they answer does not matter here (the ids do not exist); that they were counted does.
  const download = await fetch(`${base}/documents/doc_nope/content`, { headers: erin });
  expect(download.status).toBe(404);
  const report = await fetch(`${base}/reports/notices/case_nope.csv`, { headers: erin });
  expect(report.status).not.toBe(429);
  expect((await post(TYPENAME, erin)).res.status).toBe(200);
  const refused = await fetch(`${base}/reports/notices/case_nope.csv`, { headers: erin });
  expectLimited(refused, (await refused.json()) as Body);
  const alsoRefused = await fetch(`${base}/documents/doc_nope/content`, { headers: erin });
  expectLimited(alsoRefused, (await alsoRefused.json()) as Body);
});

test('health and readiness are never limited', async () => {
  const base = t.url.replace('/graphql', '');
  const from = { 'x-forwarded-for': '203.0.113.50' };
  for (let i = 0; i < PER_ADDRESS; i++) await post(TYPENAME, from);
  expect((await post(TYPENAME, from)).res.status).toBe(429);
  for (let i = 0; i < 10; i++) {
    expect((await fetch(`${base}/healthz`, { headers: from })).status).toBe(200);
    expect((await fetch(`${base}/readyz`, { headers: from })).status).toBe(200);
  }
});

type Message = { type: string; id?: string; payload?: unknown };

/** A graphql-ws socket driven message by message, as a client library would. */
async function socket(token: string) {
  const ws = new WebSocket(t.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const inbox: Message[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data) => {
    inbox.push(JSON.parse(String(data)) as Message);
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = async (): Promise<Message> => {
    while (!inbox.length) {
      if (ws.readyState !== WebSocket.OPEN) throw new Error('socket closed');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return inbox.shift()!;
  };
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  expect((await next()).type).toBe('connection_ack');
  return { ws, next, send: (m: Message) => ws.send(JSON.stringify(m)) };
}

test('a graphql-ws subscribe over the budget is refused with the coded error; the socket stays open', async () => {
  const dave = await t.token('dave', 'service');
  const s = await socket(dave);
  for (let i = 1; i <= PER_IDENTITY; i++) {
    s.send({ type: 'subscribe', id: `op${i}`, payload: TYPENAME });
    expect(await s.next()).toEqual({
      type: 'next',
      id: `op${i}`,
      payload: { data: { __typename: 'Query' } },
    });
    expect(await s.next()).toEqual({ type: 'complete', id: `op${i}` });
  }
  s.send({
    type: 'subscribe',
    id: 'over',
    payload: { query: 'subscription { caseUpdated { id } }' },
  });
  const refused = await s.next();
  expect(refused).toEqual({
    type: 'error',
    id: 'over',
    payload: [
      {
        message: expect.stringMatching(/rate limit/i),
        extensions: { code: 'FORBIDDEN', reason: 'RATE_LIMITED', retryAfter: expect.any(Number) },
      },
    ],
  });
  // Still connected: the server answers a ping.
  expect(s.ws.readyState).toBe(WebSocket.OPEN);
  s.send({ type: 'ping' });
  expect(await s.next()).toEqual({ type: 'pong' });
  // One budget per identity across HTTP and WebSocket.
  const http = await post(TYPENAME, bearer(dave));
  expectLimited(http.res, http.body);
  s.ws.close();
});

describe('after the hint', () => {
  let fast: TestGateway;
  beforeAll(async () => {
    // 120 a minute: one operation comes back every half second.
    fast = await startTestGateway({ RATE_LIMIT_PER_MINUTE: '120', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0' });
  });
  afterAll(() => fast?.stop());

  test('an identity refused can call again once Retry-After has passed', async () => {
    const frank = await fast.token('frank', 'auditor');
    let refused: Response | null = null;
    for (let i = 0; i < 400 && !refused; i++) {
      const res = await fetch(fast.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(frank) },
        body: JSON.stringify(TYPENAME),
      });
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(refused).not.toBeNull();
    const wait = Number(refused!.headers.get('retry-after'));
    expect(wait).toBe(1);
    await new Promise((r) => setTimeout(r, wait * 1000));
    const res = await fetch(fast.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(frank) },
      body: JSON.stringify(TYPENAME),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });
});
