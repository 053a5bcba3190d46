import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApolloClient, HttpLink, InMemoryCache, gql, type DocumentNode } from '@apollo/client';
import { BatchHttpLink } from '@apollo/client/link/batch-http';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { print } from 'graphql';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * GraphQL over HTTP, the SHOULDs too: the response's media type is
 * negotiated, and every refusal (parse, validation, variables, each
 * operation limit, trusted documents, authentication, rate limits) answers
 * 4xx under `application/graphql-response+json` and 200 under
 * `application/json`, except a request that is not GraphQL over HTTP at all
 * (not JSON, too large, no query), which keeps its 4xx under both. Then the
 * same refusals through Apollo Client 4 (HttpLink), which reads a non-2xx
 * body only under the first type: `extensions.code` and `reason` must reach
 * the application.
 */
const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';
const JSON_TYPE = 'application/json';

/** Small limits, so each refusal needs only a short document. */
const LIMITS = {
  LIMIT_MAX_DEPTH: '6',
  LIMIT_MAX_ALIASES: '3',
  LIMIT_MAX_ROOT_FIELDS: '3',
  LIMIT_MAX_DIRECTIVES: '2',
  LIMIT_MAX_TOKENS: '200',
  LIMIT_MAX_COST: '300',
  LIMIT_MAX_BATCH: '2',
  LIMIT_MAX_BODY_BYTES: '4096',
  RATE_LIMIT_PER_MINUTE: '3',
};

let t: TestGateway;
let caller = 0;
/** A token of its own per use: the rate limit (3 a minute) is per subject. */
const freshToken = () => t.token(`http-caller-${++caller}`, 'auditor');

beforeAll(async () => {
  t = await startTestGateway(LIMITS);
});
afterAll(() => t?.stop());

interface Answer {
  status: number;
  type: string | null;
  retryAfter: string | null;
  body: {
    data?: unknown;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

async function post(body: unknown, accept: string | null, token?: string | null): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (accept !== null) headers.accept = accept;
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(t.url, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as Answer['body'],
  };
}

const DEEP = `{ cases(first: 1) { edges { node { customer { cases(first: 1) { edges { node { id } } } } } } } }`;
const MANY_ALIASES = `{ templates { a: id b: id c: id d: id } }`;
const MANY_ROOTS = `{ templates { id } t2: templates { id } customers(first: 1) { totalCount } cases(first: 1) { totalCount } }`;
const MANY_DIRECTIVES = `{ templates @include(if: true) { id @skip(if: false) name @include(if: true) } }`;
const MANY_TOKENS = `{ templates { ${'id '.repeat(250)} } }`;
const COSTLY = `{ cases(first: 100) { edges { node { id approvals { id } documents { id } } } } }`;
const VARIABLES = `query ($id: ID!) { case(id: $id) { id } }`;

/** A well-formed request refused: [name, body, token?, status under graphql-response+json, code, reason]. */
const REFUSALS: Array<
  [string, () => Promise<{ body: unknown; token: string | null }>, number, string, string | undefined]
> = [
  [
    'parse failure',
    async () => ({ body: { query: '{ templates {' }, token: await freshToken() }),
    400,
    'BAD_USER_INPUT',
    'GRAPHQL_PARSE_FAILED',
  ],
  [
    'validation failure',
    async () => ({ body: { query: '{ nope }' }, token: await freshToken() }),
    400,
    'BAD_USER_INPUT',
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'variable coercion failure',
    async () => ({
      body: { query: VARIABLES, variables: { id: { not: 'an id' } } },
      token: await freshToken(),
    }),
    400,
    'BAD_USER_INPUT',
    undefined,
  ],
  [
    'operation that cannot be determined',
    async () => ({
      body: { query: 'query A { templates { id } } query B { templates { id } }' },
      token: await freshToken(),
    }),
    400,
    'BAD_USER_INPUT',
    undefined,
  ],
  [
    'depth',
    async () => ({ body: { query: DEEP }, token: await freshToken() }),
    400,
    'BAD_USER_INPUT',
    'MAX_DEPTH',
  ],
  [
    'aliases',
    async () => ({ body: { query: MANY_ALIASES }, token: await freshToken() }),
    400,
    'BAD_USER_INPUT',
    'MAX_ALIASES',
  ],
  [
    'root fields',
    async () => ({ body: { query: MANY_ROOTS }, token: await freshToken() }),
    400,
    'BAD_USER_INPUT',
    'MAX_ROOT_FIELDS',
  ],
  [
    'directives',
    async () => ({ body: { query: MANY_DIRECTIVES }, token: await freshToken() }),
    400,
    'BAD_USER_INPUT',
    'MAX_DIRECTIVES',
  ],
  [
    'tokens',
    async () => ({ body: { query: MANY_TOKENS }, token: await freshToken() }),
    400,
    'BAD_USER_INPUT',
    'MAX_TOKENS',
  ],
  [
    'cost',
    async () => ({ body: { query: COSTLY }, token: await freshToken() }),
    400,
    'BAD_USER_INPUT',
    'MAX_COST',
  ],
  [
    'batch size',
    async () => ({
      body: Array.from({ length: 3 }, () => ({ query: '{ templates { id } }' })),
      token: await freshToken(),
    }),
    400,
    'BAD_USER_INPUT',
    'MAX_BATCH',
  ],
  [
    'subscription over HTTP',
    async () => ({ body: { query: 'subscription { caseUpdated { id } }' }, token: await freshToken() }),
    400,
    'BAD_USER_INPUT',
    'SUBSCRIPTION_OVER_HTTP',
  ],
  [
    'no token',
    async () => ({ body: { query: '{ templates { id } }' }, token: null }),
    401,
    'UNAUTHENTICATED',
    undefined,
  ],
  [
    'a forged token',
    async () => ({ body: { query: '{ templates { id } }' }, token: 'not.a.jwt' }),
    401,
    'UNAUTHENTICATED',
    undefined,
  ],
];

describe('over plain HTTP', () => {
  test.each(REFUSALS)(
    '%s: 4xx under graphql-response+json, 200 under application/json',
    async (_name, make, status, code, reason) => {
      for (const [accept, expected, type] of [
        [GRAPHQL_RESPONSE_JSON, status, GRAPHQL_RESPONSE_JSON],
        [`${GRAPHQL_RESPONSE_JSON}, ${JSON_TYPE};q=0.9`, status, GRAPHQL_RESPONSE_JSON],
        [JSON_TYPE, 200, JSON_TYPE],
        [`${JSON_TYPE}, ${GRAPHQL_RESPONSE_JSON};q=0.5`, 200, JSON_TYPE],
      ] as const) {
        const { body, token } = await make();
        const a = await post(body, accept, token);
        expect({ accept, status: a.status, type: a.type }).toEqual({
          accept,
          status: expected,
          type: `${type}; charset=utf-8`,
        });
        // A refused batch is answered as a batch, each operation with the refusal.
        const results = Array.isArray(a.body) ? (a.body as Answer['body'][]) : [a.body];
        expect(results).toHaveLength(Array.isArray(body) ? body.length : 1);
        for (const result of results) {
          expect(result.data ?? null).toBeNull();
          expect(result.errors?.[0]?.extensions?.code).toBe(code);
          if (reason) expect(result.errors?.[0]?.extensions?.reason).toBe(reason);
        }
      }
    },
  );

  test('a rate limit: 429 with Retry-After under graphql-response+json, 200 with Retry-After under application/json', async () => {
    const token = await freshToken();
    for (let i = 0; i < 3; i++)
      expect((await post({ query: '{ templates { id } }' }, JSON_TYPE, token)).status).toBe(200);
    const strict = await post({ query: '{ templates { id } }' }, GRAPHQL_RESPONSE_JSON, token);
    expect([strict.status, strict.type]).toEqual([429, `${GRAPHQL_RESPONSE_JSON}; charset=utf-8`]);
    expect(strict.retryAfter).toMatch(/^\d+$/);
    expect(strict.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'RATE_LIMITED' });
    const legacy = await post({ query: '{ templates { id } }' }, JSON_TYPE, token);
    expect([legacy.status, legacy.type]).toEqual([200, `${JSON_TYPE}; charset=utf-8`]);
    expect(legacy.retryAfter).toMatch(/^\d+$/);
    expect(legacy.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'RATE_LIMITED' });
    // Refused before it is parsed too: a refusal of the guards is charged, and answered as a rate limit.
    const parsedNot = await post({ query: '{ templates {' }, JSON_TYPE, token);
    expect(parsedNot.status).toBe(200);
    expect(parsedNot.body.errors?.[0]?.extensions).toMatchObject({ reason: 'RATE_LIMITED' });
  });

  test('a request that is not GraphQL over HTTP keeps its 4xx under both types', async () => {
    const token = await freshToken();
    for (const accept of [GRAPHQL_RESPONSE_JSON, JSON_TYPE]) {
      const notJson = await post('{"query": ', accept, token);
      expect([notJson.status, notJson.body.errors?.[0]?.extensions?.reason]).toEqual([400, 'MALFORMED_JSON']);
      const noQuery = await post({ qeury: '{ templates { id } }' }, accept, await freshToken());
      expect([noQuery.status, noQuery.body.errors?.[0]?.extensions?.code]).toEqual([400, 'BAD_USER_INPUT']);
      const tooLarge = await post(
        { query: VARIABLES, variables: { id: 'x'.repeat(5000) } },
        accept,
        await freshToken(),
      );
      expect([tooLarge.status, tooLarge.body.errors?.[0]?.extensions?.reason]).toEqual([
        413,
        'MAX_BODY_BYTES',
      ]);
      expect(tooLarge.type).toBe(`${accept}; charset=utf-8`);
    }
  });

  test('CSRF prevention refuses a simple request (a browser form or a GET without a preflight header) with 400 under both types', async () => {
    for (const accept of [GRAPHQL_RESPONSE_JSON, JSON_TYPE]) {
      const res = await fetch(`${t.url}?query=${encodeURIComponent('{ templates { id } }')}`, {
        headers: { accept, authorization: `Bearer ${await freshToken()}` },
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Answer['body'];
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'BAD_REQUEST' });
      expect(body.errors?.[0]?.message).toMatch(/Cross-Site Request Forgery/);
    }
  });

  test('the media type of an answer follows Accept; none or */* gets graphql-response+json', async () => {
    const cases: Array<[string | null, string]> = [
      [null, GRAPHQL_RESPONSE_JSON],
      ['*/*', GRAPHQL_RESPONSE_JSON],
      ['application/*', GRAPHQL_RESPONSE_JSON],
      [JSON_TYPE, JSON_TYPE],
      [GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON],
      [`${JSON_TYPE}, ${GRAPHQL_RESPONSE_JSON}`, JSON_TYPE],
      [`${JSON_TYPE};q=0.5, ${GRAPHQL_RESPONSE_JSON}`, GRAPHQL_RESPONSE_JSON],
    ];
    for (const [accept, type] of cases) {
      const ok = await post({ query: '{ templates { id } }' }, accept, await freshToken());
      expect({ accept, status: ok.status, type: ok.type }).toEqual({
        accept,
        status: 200,
        type: `${type}; charset=utf-8`,
      });
      expect(ok.body.errors).toBeUndefined();
      const bad = await post({ query: '{ nope }' }, accept, await freshToken());
      expect({ accept, status: bad.status }).toEqual({ accept, status: type === JSON_TYPE ? 200 : 400 });
    }
    // Neither type acceptable: 406.
    expect((await post({ query: '{ templates { id } }' }, 'text/plain', await freshToken())).status).toBe(
      406,
    );
  });

  test('a field error is not a request error: 200 with data under both types', async () => {
    for (const accept of [GRAPHQL_RESPONSE_JSON, JSON_TYPE]) {
      const a = await post(
        { query: '{ templates { id } customer(id: "cus_001") { id email } }' },
        accept,
        await freshToken(),
      );
      expect(a.status).toBe(200);
      expect(a.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(a.body.data).toMatchObject({ customer: { id: 'cus_001', email: null } });
    }
  });
});

/** What Apollo Client hands the application: the GraphQL errors, or what it could not read. */
async function throughApollo(
  query: DocumentNode,
  opts: {
    token?: string | null;
    variables?: Record<string, unknown>;
    print?: (doc: DocumentNode) => string;
    get?: boolean;
    url?: string;
  } = {},
): Promise<{ code: unknown; reason: unknown; kind: string }> {
  const token = opts.token === undefined ? await freshToken() : opts.token;
  const client = new ApolloClient({
    link: new HttpLink({
      uri: opts.url ?? t.url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(opts.print ? { print: (ast) => opts.print!(ast as DocumentNode) } : {}),
    }),
    cache: new InMemoryCache(),
  });
  try {
    await client.query({ query, variables: opts.variables, fetchPolicy: 'no-cache' });
    return { code: null, reason: null, kind: 'no error' };
  } catch (err) {
    if (!CombinedGraphQLErrors.is(err)) return { code: null, reason: null, kind: String(err) };
    const ext = err.errors[0]?.extensions ?? {};
    return { code: ext.code, reason: ext.reason, kind: 'CombinedGraphQLErrors' };
  } finally {
    client.stop();
  }
}

describe('through Apollo Client 4 (HttpLink)', () => {
  test.each<
    [string, () => Promise<{ code: unknown; reason: unknown; kind: string }>, string, string | undefined]
  >([
    [
      'parse failure',
      () =>
        throughApollo(
          gql`
            {
              templates {
                id
              }
            }
          `,
          { print: () => '{ templates {' },
        ),
      'BAD_USER_INPUT',
      'GRAPHQL_PARSE_FAILED',
    ],
    [
      'validation failure',
      () =>
        throughApollo(gql`
          {
            nope
          }
        `),
      'BAD_USER_INPUT',
      'GRAPHQL_VALIDATION_FAILED',
    ],
    [
      'variable coercion failure',
      () => throughApollo(gql(VARIABLES), { variables: { id: { not: 'an id' } } }),
      'BAD_USER_INPUT',
      undefined,
    ],
    ['depth', () => throughApollo(gql(DEEP)), 'BAD_USER_INPUT', 'MAX_DEPTH'],
    ['aliases', () => throughApollo(gql(MANY_ALIASES)), 'BAD_USER_INPUT', 'MAX_ALIASES'],
    ['root fields', () => throughApollo(gql(MANY_ROOTS)), 'BAD_USER_INPUT', 'MAX_ROOT_FIELDS'],
    ['directives', () => throughApollo(gql(MANY_DIRECTIVES)), 'BAD_USER_INPUT', 'MAX_DIRECTIVES'],
    ['tokens', () => throughApollo(gql(MANY_TOKENS)), 'BAD_USER_INPUT', 'MAX_TOKENS'],
    ['cost', () => throughApollo(gql(COSTLY)), 'BAD_USER_INPUT', 'MAX_COST'],
    [
      'body size',
      () => throughApollo(gql(VARIABLES), { variables: { id: 'x'.repeat(5000) } }),
      'BAD_USER_INPUT',
      'MAX_BODY_BYTES',
    ],
    [
      'no token',
      () =>
        throughApollo(
          gql`
            {
              templates {
                id
              }
            }
          `,
          { token: null },
        ),
      'UNAUTHENTICATED',
      undefined,
    ],
    [
      'a forged token',
      () =>
        throughApollo(
          gql`
            {
              templates {
                id
              }
            }
          `,
          { token: 'not.a.jwt' },
        ),
      'UNAUTHENTICATED',
      undefined,
    ],
  ])('%s reaches the application with its code and reason', async (_name, run, code, reason) => {
    expect(await run()).toEqual({ code, reason, kind: 'CombinedGraphQLErrors' });
  });

  test('a batch over the limit reaches every operation of it as MAX_BATCH (BatchHttpLink)', async () => {
    const client = new ApolloClient({
      link: new BatchHttpLink({
        uri: t.url,
        headers: { authorization: `Bearer ${await freshToken()}` },
        batchMax: 3,
        batchInterval: 20,
      }),
      cache: new InMemoryCache(),
    });
    try {
      const outcomes = await Promise.all(
        ['id', 'name', 'channels'].map((field) =>
          client.query({ query: gql(`{ templates { ${field} } }`), fetchPolicy: 'no-cache' }).then(
            () => 'no error',
            (err: unknown) =>
              CombinedGraphQLErrors.is(err)
                ? `${String(err.errors[0]?.extensions?.code)}/${String(err.errors[0]?.extensions?.reason)}`
                : String(err),
          ),
        ),
      );
      expect(outcomes).toEqual(Array(3).fill('BAD_USER_INPUT/MAX_BATCH'));
    } finally {
      client.stop();
    }
  });

  test('a rate limit reaches the application as FORBIDDEN / RATE_LIMITED', async () => {
    const token = await freshToken();
    for (let i = 0; i < 3; i++)
      expect(
        (
          await throughApollo(
            gql`
              {
                templates {
                  id
                }
              }
            `,
            { token },
          )
        ).kind,
      ).toBe('no error');
    expect(
      await throughApollo(
        gql`
          {
            templates {
              id
            }
          }
        `,
        { token },
      ),
    ).toEqual({
      code: 'FORBIDDEN',
      reason: 'RATE_LIMITED',
      kind: 'CombinedGraphQLErrors',
    });
  });

  describe('with trusted documents', () => {
    let trusted: TestGateway;
    // With the __typename Apollo Client's cache adds itself, so the text it sends is the one registered.
    const registered = gql`
      query Registered {
        templates {
          id
          __typename
        }
      }
    `;
    beforeAll(async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trusted-'));
      const text = print(registered);
      const file = path.join(dir, 'persisted-documents.json');
      fs.writeFileSync(file, JSON.stringify({ [createHash('sha256').update(text).digest('hex')]: text }));
      trusted = await startTestGateway({ TRUSTED_DOCUMENTS: file });
    });
    afterAll(() => trusted?.stop());

    test('an unregistered operation reaches the application as TRUSTED_DOCUMENT_REQUIRED; a registered one runs', async () => {
      const token = await trusted.token('trusted-caller', 'auditor');
      expect(await throughApollo(registered, { token, url: trusted.url })).toEqual({
        code: null,
        reason: null,
        kind: 'no error',
      });
      expect(
        await throughApollo(
          gql`
            {
              templates {
                id
                name
              }
            }
          `,
          { token, url: trusted.url },
        ),
      ).toEqual({
        code: 'BAD_USER_INPUT',
        reason: 'TRUSTED_DOCUMENT_REQUIRED',
        kind: 'CombinedGraphQLErrors',
      });
    });
  });
});
