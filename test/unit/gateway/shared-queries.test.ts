import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GraphQLError, GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import type { ForwardingContext } from '../../../src/gateway/executors.js';
import { serveGraphQL, type RunningServer } from '../../../src/gateway/serve.js';
import { createDevVerifier, loadOrCreateDevKey, signDevToken } from '../../../src/identity/index.js';
import { registry } from '../../../src/telemetry/metrics.js';

/**
 * A service started with `shareQueries` (as every subgraph service is) answers identical queries of
 * one caller in flight at once with one execution. The schema's resolvers hold their answers until
 * the test releases them and count how often they ran, so "in flight at once" is a fact, not a race.
 */
const TOKENS = { issuer: 'commsgraph-dev', audience: 'commsgraph', rolesClaim: 'roles' };

let dir: string;
let server: RunningServer;
let alice: string;
let bob: string;
/** Every execution of a field, in order: which field and for whom. */
let ran: string[];
/** Requests whose context was built (each is authenticated and about to be parsed and run or join). */
let arrived: number;
let held: Array<() => void>;

function hold<T>(label: string, answer: () => T): Promise<T> {
  ran.push(label);
  return new Promise<T>((resolve, reject) =>
    held.push(() => {
      try {
        resolve(answer());
      } catch (err) {
        reject(err);
      }
    }),
  );
}

const schema = new GraphQLSchema({
  query: new GraphQLObjectType<unknown, ForwardingContext>({
    name: 'Query',
    fields: {
      hello: {
        type: GraphQLString,
        args: { n: { type: GraphQLInt } },
        resolve: (_root, args: { n?: number | null }, ctx) => {
          const who = ctx.principal?.sub ?? 'nobody';
          const run = ran.length + 1;
          return hold(`hello ${who}`, () => `run ${run} for ${who}${args.n == null ? '' : ` n=${args.n}`}`);
        },
      },
      broken: {
        type: GraphQLString,
        resolve: () =>
          hold('broken', () => {
            throw new GraphQLError('The ledger is closed', { extensions: { code: 'CONFLICT' } });
          }),
      },
    },
  }),
  mutation: new GraphQLObjectType<unknown, ForwardingContext>({
    name: 'Mutation',
    fields: {
      bump: {
        type: GraphQLInt,
        resolve: () => {
          const run = ran.length + 1;
          return hold('bump', () => run);
        },
      },
    },
  }),
});

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cg-shared-queries-'));
  const key = await loadOrCreateDevKey(dir);
  alice = `Bearer ${await signDevToken(key, { sub: 'alice', roles: ['requester'] }, TOKENS)}`;
  bob = `Bearer ${await signDevToken(key, { sub: 'bob', roles: ['requester'] }, TOKENS)}`;
  server = await serveGraphQL(
    {
      name: 'shared-queries test',
      schema,
      verifier: createDevVerifier(key, TOKENS),
      introspection: false,
      context: (base) => {
        arrived++;
        return base;
      },
      shareQueries: true,
      graceMs: 1_000,
      onStop: async () => undefined,
    },
    0,
    '127.0.0.1',
  );
});

afterAll(async () => {
  await server.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  ran = [];
  arrived = 0;
  held = [];
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('condition not met');
}

/**
 * Waits until `n` requests have their context, then lets every promise job queued behind them run:
 * from its context to joining (or running), a request waits on nothing but promise jobs of this
 * process (parse, validation and the plugins' hooks), so after a turn of the event loop each has
 * joined or started.
 */
async function arrivedAndSettled(n: number): Promise<void> {
  await until(() => arrived >= n);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

interface Answer {
  status: number;
  body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; extensions?: { code?: string; reason?: string } }>;
  };
}

async function post(
  authorization: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<Answer> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

async function sharedSoFar(): Promise<number> {
  const metric = registry.getSingleMetric('commsgraph_queries_shared_total');
  return (await metric!.get()).values.reduce((sum, v) => sum + v.value, 0);
}

test('identical queries of one caller in flight at once run once, and each request gets the answer', async () => {
  const sharedBefore = await sharedSoFar();
  const first = post(alice, '{ hello }');
  await until(() => ran.length === 1);
  const joiners = [post(alice, '{ hello }'), post(alice, '{ hello }'), post(alice, '{ hello }')];
  await arrivedAndSettled(4);
  held.forEach((release) => release());
  const answers = await Promise.all([first, ...joiners]);
  expect(answers).toEqual(Array(4).fill({ status: 200, body: { data: { hello: 'run 1 for alice' } } }));
  expect(ran).toEqual(['hello alice']);
  expect((await sharedSoFar()) - sharedBefore).toBe(3);

  // Nothing is kept once the first request answered: the same query later runs again.
  const later = post(alice, '{ hello }');
  await until(() => ran.length === 2);
  held[1]!();
  expect((await later).body).toEqual({ data: { hello: 'run 2 for alice' } });
});

test('different callers, different variables, mutations and requests without a token never share', async () => {
  const first = post(alice, 'query Q($n: Int) { hello(n: $n) }', { n: 1 });
  await until(() => ran.length === 1);
  const others = [
    post(bob, 'query Q($n: Int) { hello(n: $n) }', { n: 1 }),
    post(alice, 'query Q($n: Int) { hello(n: $n) }', { n: 2 }),
  ];
  await until(() => ran.length === 3);
  held.forEach((release) => release());
  expect((await Promise.all([first, ...others])).map((a) => a.body.data?.hello)).toEqual([
    'run 1 for alice n=1',
    'run 2 for bob n=1',
    'run 3 for alice n=2',
  ]);

  held = [];
  ran = [];
  const bumps = [post(alice, 'mutation { bump }'), post(alice, 'mutation { bump }')];
  await until(() => ran.length === 2);
  held.forEach((release) => release());
  expect((await Promise.all(bumps)).map((a) => a.body.data?.bump).sort()).toEqual([1, 2]);

  held = [];
  ran = [];
  const anonymous = [post(undefined, '{ hello }'), post(undefined, '{ hello }')];
  await until(() => ran.length === 2);
  held.forEach((release) => release());
  expect((await Promise.all(anonymous)).map((a) => a.body.data?.hello).sort()).toEqual([
    'run 1 for nobody',
    'run 2 for nobody',
  ]);
});

test('a request that joins gets the same coded error, and a bad request of the same caller does not join', async () => {
  const first = post(alice, '{ broken }');
  await until(() => ran.length === 1);
  const joiner = post(alice, '{ broken }');
  await arrivedAndSettled(2);
  // Not a valid query: refused on its own, before it could join anything.
  expect((await post(alice, '{ broken nope }')).body.errors?.[0]?.extensions).toEqual({
    code: 'BAD_USER_INPUT',
    reason: 'GRAPHQL_VALIDATION_FAILED',
  });
  held.forEach((release) => release());
  const answers = await Promise.all([first, joiner]);
  expect(ran).toEqual(['broken']);
  for (const answer of answers) {
    expect(answer.body.data).toEqual({ broken: null });
    expect(answer.body.errors?.map((e) => [e.message, e.extensions?.code])).toEqual([
      ['The ledger is closed', 'CONFLICT'],
    ]);
  }
});
