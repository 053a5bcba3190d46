import { getIntrospectionQuery } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { subscribe, wsClient } from '../support/ws.js';

/**
 * Operation limits as a client meets them, over HTTP (single, batched, GET)
 * and graphql-ws: each limit refuses with BAD_USER_INPUT and a `reason`
 * naming it, the operation just under it runs, hostile documents and bodies
 * are refused without harming the server, and a refused operation changes
 * nothing. The first gateway runs with low limits set through the
 * environment; the second with the defaults.
 */

type Err = { message: string; extensions?: Record<string, unknown> };
type Body = { data?: Record<string, unknown> | null; errors?: Err[] };

async function post(
  t: TestGateway,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Body | Body[] }> {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Body | Body[] };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * The refusal a client sees: 400 (or the given status), no data, one coded error naming the limit.
 * A refused batch is answered as a batch: every operation gets that same error.
 */
function expectRefused(r: { status: number; body: Body | Body[] }, reason: string, status = 400): Err {
  expect(r.status).toBe(status);
  if (Array.isArray(r.body)) {
    expect(new Set(r.body.map((b) => JSON.stringify(b))).size).toBe(1);
  }
  const body = (Array.isArray(r.body) ? r.body[0] : r.body) as Body;
  expect(body.data ?? undefined).toBeUndefined();
  expect(body.errors).toHaveLength(1);
  expect(body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', reason });
  return body.errors![0]!;
}

function expectData(r: { status: number; body: Body | Body[] }): Record<string, unknown> {
  expect((r.body as Body).errors).toBeUndefined();
  expect(r.status).toBe(200);
  return (r.body as Body).data!;
}

/** One operation over graphql-ws: its last result, or the errors it was refused with. */
async function overWs(t: TestGateway, token: string, payload: Record<string, unknown>): Promise<Body> {
  const client = wsClient(t.url, token);
  try {
    return await new Promise<Body>((resolve, reject) => {
      let last: Body = {};
      client.subscribe(payload as unknown as SubscribePayload, {
        next: (value) => {
          last = value as Body;
        },
        error: (e) => (Array.isArray(e) ? resolve({ errors: e as Err[] }) : reject(e as Error)),
        complete: () => resolve(last),
      });
    });
  } finally {
    await client.dispose();
  }
}

function expectWsRefused(body: Body, reason: string): Err {
  expect(body.data ?? undefined).toBeUndefined();
  expect(body.errors?.length).toBeGreaterThanOrEqual(1);
  expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason });
  return body.errors![0]!;
}

/** `{ cases(first: 1) { ...F0 } }` where each fragment spreads the next twice: 2^(levels-1) copies of the last one. */
function fragmentBomb(levels: number, leaf: string): string {
  const fragments = Array.from({ length: levels - 1 }, (_, i) => {
    return `fragment F${i} on CaseConnection { ...F${i + 1} ...F${i + 1} }`;
  });
  return `{ cases(first: 1) { ...F0 } } ${fragments.join(' ')} fragment F${levels - 1} on CaseConnection { ${leaf} }`;
}

describe('with low limits', () => {
  let t: TestGateway;
  let auditor: string;
  let agent: string;
  beforeAll(async () => {
    t = await startTestGateway({
      LIMIT_MAX_DEPTH: '6',
      LIMIT_MAX_ALIASES: '3',
      LIMIT_MAX_ROOT_FIELDS: '3',
      LIMIT_MAX_DIRECTIVES: '3',
      LIMIT_MAX_TOKENS: '200',
      LIMIT_MAX_COST: '300',
      LIMIT_MAX_BATCH: '2',
      LIMIT_MAX_BODY_BYTES: '65536',
      INTROSPECTION: 'false',
      FIELD_SUGGESTIONS: 'false',
    });
    auditor = await t.token('lim.auditor', 'auditor');
    agent = await t.token('lim.agent', 'service-agent');
  });
  afterAll(() => t?.stop());

  const caseCount = async (): Promise<number> => {
    const data = expectData(await post(t, { query: '{ cases(first: 0) { totalCount } }' }, bearer(auditor)));
    return (data.cases as { totalCount: number }).totalCount;
  };

  test('depth: 6 levels run, 7 are refused with MAX_DEPTH', async () => {
    const ok = '{ cases(first: 1) { edges { node { customer { cases(first: 1) { totalCount } } } } } }';
    expectData(await post(t, { query: ok }, bearer(auditor)));
    const deep =
      '{ cases(first: 1) { edges { node { customer { cases(first: 1) { pageInfo { hasNextPage } } } } } } }';
    const err = expectRefused(await post(t, { query: deep }, bearer(auditor)), 'MAX_DEPTH');
    expect(err.message).toBe('Query depth 7 exceeds the limit of 6');
    // Fragments are expanded: the same depth hidden in a fragment is still 7.
    const viaFragment = `{ cases(first: 1) { edges { node { ...C } } } } fragment C on Case { customer { cases(first: 1) { pageInfo { hasNextPage } } } }`;
    expectRefused(await post(t, { query: viaFragment }, bearer(auditor)), 'MAX_DEPTH');
  });

  test('aliases: 3 run, 4 are refused with MAX_ALIASES', async () => {
    const ok = '{ cases(first: 1) { a: totalCount b: totalCount c: totalCount } }';
    expect(expectData(await post(t, { query: ok }, bearer(auditor))).cases).toEqual({
      a: expect.any(Number),
      b: expect.any(Number),
      c: expect.any(Number),
    });
    const more = '{ cases(first: 1) { a: totalCount b: totalCount c: totalCount d: totalCount } }';
    expectRefused(await post(t, { query: more }, bearer(auditor)), 'MAX_ALIASES');
  });

  test('root fields: 3 run, 4 are refused with MAX_ROOT_FIELDS', async () => {
    const ok = '{ cases(first: 1) { totalCount } customers(first: 1) { totalCount } templates { id } }';
    expectData(await post(t, { query: ok }, bearer(auditor)));
    const more =
      '{ cases(first: 1) { totalCount } customers(first: 1) { totalCount } templates { id } __typename }';
    expectRefused(await post(t, { query: more }, bearer(auditor)), 'MAX_ROOT_FIELDS');
  });

  test('directives: 3 run, 4 are refused with MAX_DIRECTIVES', async () => {
    const ok =
      '{ cases(first: 1) { totalCount @include(if: true) pageInfo @skip(if: false) { hasNextPage @include(if: true) } } }';
    expectData(await post(t, { query: ok }, bearer(auditor)));
    const more =
      '{ cases(first: 1) { totalCount @include(if: true) pageInfo @skip(if: false) { hasNextPage @include(if: true) } __typename @skip(if: false) } }';
    expectRefused(await post(t, { query: more }, bearer(auditor)), 'MAX_DIRECTIVES');
  });

  test('tokens: a document over the token limit is refused with MAX_TOKENS', async () => {
    const long = `{ cases(first: 1) { ${'totalCount '.repeat(250)} } }`;
    expectRefused(await post(t, { query: long }, bearer(auditor)), 'MAX_TOKENS');
    const short = `{ cases(first: 1) { ${'totalCount '.repeat(150)} } }`;
    expectData(await post(t, { query: short }, bearer(auditor)));
  });

  test('cost counts list sizes from first (literal, variable or default page) and refuses with MAX_COST', async () => {
    const q = 'query ($n: Int) { cases(first: $n) { edges { node { id documents { id } } } } }';
    // 1 + 1 + 20 × (1 + 1 + (1 + 5 × 1)) = 162 of 300: a page of 20 cases with their documents.
    expectData(await post(t, { query: q, variables: { n: 20 } }, bearer(auditor)));
    // No `first`: the default page (20) is assumed.
    expectData(await post(t, { query: q }, bearer(auditor)));
    const err = expectRefused(
      await post(t, { query: q, variables: { n: 100 } }, bearer(auditor)),
      'MAX_COST',
    );
    expect(err.message).toBe('Query cost 802 exceeds the limit of 300');
    const literal = '{ cases(first: 100) { edges { node { id documents { id } } } } }';
    expectRefused(await post(t, { query: literal }, bearer(auditor)), 'MAX_COST');
  });

  test('a document sent again gets the same answer: refusals stay refusals, and the page size of each request counts', async () => {
    // The gateway remembers documents it parsed and measured (limits.ts); none of that may show.
    const broken = '{ cases(first: 1) { totalCount }';
    const parseFailed = await post(t, { query: broken }, bearer(auditor));
    expectRefused(parseFailed, 'GRAPHQL_PARSE_FAILED');
    expect(await post(t, { query: broken }, bearer(auditor))).toEqual(parseFailed);

    const invalid = '{ cases(first: 1) { noSuchField } }';
    const invalidAnswer = await post(t, { query: invalid }, bearer(auditor));
    expect((invalidAnswer.body as Body).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await post(t, { query: invalid }, bearer(auditor))).toEqual(invalidAnswer);

    const deep =
      '{ cases(first: 1) { edges { node { customer { cases(first: 1) { pageInfo { hasNextPage } } } } } } }';
    expect(expectRefused(await post(t, { query: deep }, bearer(auditor)), 'MAX_DEPTH').message).toBe(
      expectRefused(await post(t, { query: deep }, bearer(auditor)), 'MAX_DEPTH').message,
    );

    // One text, asked with page sizes in and over the cost limit in turn.
    const q = 'query Paged($n: Int = 20) { cases(first: $n) { edges { node { id documents { id } } } } }';
    for (let i = 0; i < 2; i++) {
      expectData(await post(t, { query: q, variables: { n: 20 } }, bearer(auditor)));
      const over = expectRefused(
        await post(t, { query: q, variables: { n: 100 } }, bearer(auditor)),
        'MAX_COST',
      );
      expect(over.message).toBe('Query cost 802 exceeds the limit of 300');
      // Absent: the variable's default (20); null: the default page (20).
      expectData(await post(t, { query: q }, bearer(auditor)));
      expectData(await post(t, { query: q, variables: { n: null } }, bearer(auditor)));
      expectRefused(await post(t, { query: q, variables: { n: 99 } }, bearer(auditor)), 'MAX_COST');
    }
    // The same text with another default is another document.
    const bigDefault = q.replace('= 20', '= 100');
    expectRefused(await post(t, { query: bigDefault }, bearer(auditor)), 'MAX_COST');
  });

  test('a fragment bomb is refused and the server answers normally afterwards', async () => {
    // 13 fragments, 4,096 copies of the leaf: small to send, large to expand.
    expectRefused(await post(t, { query: fragmentBomb(13, 'totalCount') }, bearer(auditor)), 'MAX_COST');
    expectRefused(
      await post(t, { query: fragmentBomb(13, 'a: totalCount') }, bearer(auditor)),
      'MAX_ALIASES',
    );
    expectData(await post(t, { query: '{ cases(first: 1) { totalCount } }' }, bearer(auditor)));
  });

  test('a refused mutation changes nothing; the same mutation within the limits runs', async () => {
    const input = { kind: 'SERVICE', title: 'Limits check', customerId: 'cus_001' };
    const before = await caseCount();
    const four = `mutation ($input: StartCaseInput!) {
      a: startCase(input: $input) { id } b: startCase(input: $input) { id }
      c: startCase(input: $input) { id } d: startCase(input: $input) { id } }`;
    expectRefused(await post(t, { query: four, variables: { input } }, bearer(agent)), 'MAX_ROOT_FIELDS');
    const deep = `mutation ($input: StartCaseInput!) { startCase(input: $input) {
      customer { cases(first: 1) { edges { node { customer { id } } } } } } }`;
    expectRefused(await post(t, { query: deep, variables: { input } }, bearer(agent)), 'MAX_DEPTH');
    expect(await caseCount()).toBe(before);
    const one = 'mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }';
    expectData(await post(t, { query: one, variables: { input } }, bearer(agent)));
    expect(await caseCount()).toBe(before + 1);
  });

  test('batches: two operations run; three are refused before any runs; one bad operation refuses the batch', async () => {
    const count = { query: '{ cases(first: 0) { totalCount } }' };
    const two = await post(t, [count, { query: '{ templates { id } }' }], bearer(auditor));
    expect(two.status).toBe(200);
    expect(two.body).toEqual([
      { data: { cases: { totalCount: expect.any(Number) } } },
      { data: { templates: expect.arrayContaining([{ id: 'tpl_billing_notice' }]) } },
    ]);
    const before = await caseCount();
    const start = {
      query: 'mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }',
      variables: { input: { kind: 'SERVICE', title: 'Batched', customerId: 'cus_001' } },
    };
    const refusedThree = await post(t, [start, count, count], bearer(agent));
    expect(refusedThree.body).toHaveLength(3);
    const three = expectRefused(refusedThree, 'MAX_BATCH');
    expect(three.message).toBe('A batch of 3 operations exceeds the limit of 2');
    const deep = {
      query:
        '{ cases(first: 1) { edges { node { customer { cases(first: 1) { pageInfo { hasNextPage } } } } } } }',
    };
    const mixed = expectRefused(await post(t, [start, deep], bearer(agent)), 'MAX_DEPTH');
    expect(mixed.message).toMatch(/^Operation 2 of the batch: /);
    expect(await caseCount()).toBe(before);
  });

  test('GET requests pass the same guards', async () => {
    const get = async (query: string) => {
      const res = await fetch(`${t.url}?${new URLSearchParams({ query })}`, {
        headers: { ...bearer(auditor), 'apollo-require-preflight': 'true' },
      });
      return { status: res.status, body: (await res.json()) as Body };
    };
    expectData(await get('{ cases(first: 1) { totalCount } }'));
    expectRefused(
      await get('{ cases(first: 1) { a: totalCount b: totalCount c: totalCount d: totalCount } }'),
      'MAX_ALIASES',
    );
  });

  test('bodies: over the size limit 413, malformed JSON 400, deeply nested variables 400, wrong types coded', async () => {
    const big = JSON.stringify({ query: '{ __typename }', variables: { blob: 'x'.repeat(70_000) } });
    expectRefused(await post(t, big, bearer(auditor)), 'MAX_BODY_BYTES', 413);
    expectRefused(await post(t, '{"query": "{ __typename }"', bearer(auditor)), 'MALFORMED_JSON');
    let nested: unknown = 'leaf';
    for (let i = 0; i < 1000; i++) nested = { a: nested };
    expectRefused(
      await post(t, { query: '{ __typename }', variables: { nested } }, bearer(auditor)),
      'MAX_VARIABLE_DEPTH',
    );
    const typed = await post(
      t,
      { query: 'query ($n: Int) { cases(first: $n) { totalCount } }', variables: { n: 'ten' } },
      bearer(auditor),
    );
    expect(typed.status).toBe(400);
    expect((typed.body as Body).errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expectData(await post(t, { query: '{ __typename }' }, bearer(auditor)));
  });

  test('introspection is off and "did you mean" never reaches a client', async () => {
    const intro = await post(t, { query: '{ __schema { queryType { name } } }' }, bearer(auditor));
    expect(intro.status).toBe(400);
    expect((intro.body as Body).errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect((intro.body as Body).data ?? undefined).toBeUndefined();
    expectData(await post(t, { query: '{ __typename }' }, bearer(auditor)));

    const typo = await post(t, { query: '{ cases(first: 1) { totalCont } }' }, bearer(auditor));
    expect((typo.body as Body).errors![0]!.message).toBe(
      'Cannot query field "totalCont" on type "CaseConnection".',
    );
    const badEnum = await post(
      t,
      { query: 'query ($s: CaseStatus) { cases(status: $s) { totalCount } }', variables: { s: 'OPN' } },
      bearer(auditor),
    );
    expect((badEnum.body as Body).errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    for (const r of [typo, badEnum])
      expect(JSON.stringify(r.body)).not.toMatch(/did you mean|"OPEN"|totalCount"/i);
  });

  test('over WebSocket: the same limits, introspection off, no suggestions; a fine operation runs', async () => {
    const ok = await overWs(t, auditor, { query: '{ cases(first: 1) { totalCount } }' });
    expect(ok.errors).toBeUndefined();
    expect(ok.data).toEqual({ cases: { totalCount: expect.any(Number) } });

    const deepSub =
      'subscription { caseUpdated { customer { cases(first: 1) { edges { node { customer { id } } } } } } }';
    expectWsRefused(await overWs(t, auditor, { query: deepSub }), 'MAX_DEPTH');
    expectWsRefused(
      await overWs(t, auditor, {
        query: 'query ($n: Int) { cases(first: $n) { edges { node { id documents { id } } } } }',
        variables: { n: 100 },
      }),
      'MAX_COST',
    );
    expectWsRefused(
      await overWs(t, auditor, { query: `{ cases(first: 1) { ${'totalCount '.repeat(250)} } }` }),
      'MAX_TOKENS',
    );
    expectWsRefused(await overWs(t, auditor, { query: fragmentBomb(13, 'totalCount') }), 'MAX_COST');
    expectWsRefused(
      await overWs(t, auditor, { query: '{ a: __typename b: __typename c: __typename d: __typename }' }),
      'MAX_ROOT_FIELDS',
    );
    expectWsRefused(
      await overWs(t, auditor, { query: '{ __schema { queryType { name } } }' }),
      'GRAPHQL_VALIDATION_FAILED',
    );
    const typo = await overWs(t, auditor, { query: 'subscription { caseUpdated { stats } }' });
    expectWsRefused(typo, 'GRAPHQL_VALIDATION_FAILED');
    const badEnum = await overWs(t, auditor, {
      query: 'query ($s: CaseStatus) { cases(status: $s) { totalCount } }',
      variables: { s: 'OPN' },
    });
    expectWsRefused(badEnum, 'GRAPHQL_VALIDATION_FAILED');
    for (const r of [typo, badEnum]) expect(JSON.stringify(r)).not.toMatch(/did you mean|"OPEN"|"status"/i);

    // A subscription within the limits is accepted and stays open: it replays the demo cases' events.
    const sub = await subscribe(t.url, auditor, 'subscription { caseUpdated(after: "0") { id status } }');
    await sub.waitFor((r) => r.length >= 1);
    await sub.close();
  });

  test('over WebSocket, a message larger than the body limit closes the socket; a new one works', async () => {
    const client = wsClient(t.url, auditor);
    const closed = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: '{ __typename }', variables: { blob: 'x'.repeat(70_000) } },
        { next: () => undefined, error: resolve, complete: () => resolve(undefined) },
      );
    });
    await client.dispose();
    expect((closed as { code?: number }).code).toBe(1009);
    expect((await overWs(t, auditor, { query: '{ __typename }' })).data).toEqual({ __typename: 'Query' });
  });
});

describe('with the default limits', () => {
  let t: TestGateway;
  let auditor: string;
  beforeAll(async () => {
    t = await startTestGateway();
    auditor = await t.token('def.auditor', 'auditor');
  });
  afterAll(() => t?.stop());

  test('the standard introspection query runs (tools such as Sandbox and codegen need it)', async () => {
    const r = await post(t, { query: getIntrospectionQuery() }, bearer(auditor));
    const schema = expectData(r).__schema as { types: unknown[] };
    expect(schema.types.length).toBeGreaterThan(20);
  });

  test('introspection that multiplies the schema by itself is refused', async () => {
    const query = '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }';
    const err = expectRefused(await post(t, { query }, bearer(auditor)), 'MAX_DEPTH');
    expect(err.message).toBe('Nested introspection lists 4 exceeds the limit of 3');
  });

  test('fragment and alias bombs are refused; a normal query runs afterwards', async () => {
    expectRefused(await post(t, { query: fragmentBomb(40, 'totalCount') }, bearer(auditor)), 'MAX_COST');
    expectRefused(
      await post(t, { query: fragmentBomb(40, 'a: totalCount') }, bearer(auditor)),
      'MAX_ALIASES',
    );
    const wide = `{ cases(first: 1) { ${Array.from({ length: 1000 }, (_, i) => `a${i}: totalCount`).join(' ')} } }`;
    expectRefused(await post(t, { query: wide }, bearer(auditor)), 'MAX_ALIASES');
    expectData(await post(t, { query: '{ cases(first: 1) { totalCount } }' }, bearer(auditor)));
  });

  test('a 5 MB body is refused, declared or streamed, and the server answers normally afterwards', async () => {
    const huge = JSON.stringify({
      query: '{ __typename }',
      variables: { blob: 'x'.repeat(5 * 1024 * 1024) },
    });
    expectRefused(await post(t, huge, bearer(auditor)), 'MAX_BODY_BYTES', 413);
    // Without a content-length the body is counted as it arrives.
    const bytes = new TextEncoder().encode(huge);
    const streamed = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(auditor) },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 64 * 1024)
            controller.enqueue(bytes.subarray(i, i + 64 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expectRefused({ status: streamed.status, body: (await streamed.json()) as Body }, 'MAX_BODY_BYTES', 413);
    expectData(await post(t, { query: '{ __typename }' }, bearer(auditor)));
  });

  test('the operations our clients send fit the default limits', async () => {
    const q = `query ($first: Int) { cases(first: $first) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { id status customer { id name } approvals { stage decision }
      documents { id status deliveries { channel status } } } } } }`;
    // A full page of 100 cases, each with its customer, approvals, documents and their deliveries: about 8,300.
    expectData(await post(t, { query: q, variables: { first: 100 } }, bearer(auditor)));
  });
});
