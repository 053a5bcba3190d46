import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import type { ExecutionResult } from 'graphql';
import type { BaseContext } from '../../../src/context/index.js';
import { inProcessExecutor, remoteExecutor } from '../../../src/gateway/executors.js';
import type { Principal } from '../../../src/identity/index.js';
import type { Subgraph } from '../../../src/subgraphs/types.js';
import { registry } from '../../../src/telemetry/metrics.js';

/**
 * Identical queries of one caller in flight at once share one subgraph call; different callers,
 * and mutations, never do. The subgraph here is a plain HTTP server that holds its answers until
 * the test releases them, so "in flight at once" is a fact, not a race.
 */
interface Received {
  authorization: string | undefined;
  requestId: string | undefined;
  body: { query: string; variables?: Record<string, unknown> };
}

let server: http.Server;
let url: string;
let received: Received[];
let held: Array<() => void>;
let failNext: boolean;

beforeEach(async () => {
  received = [];
  held = [];
  failNext = false;
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as Received['body'];
      received.push({
        authorization: req.headers.authorization,
        requestId: req.headers['x-request-id'] as string | undefined,
        body,
      });
      const n = received.length;
      const fail = failNext;
      failNext = false;
      held.push(() => {
        if (fail) {
          res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
          return;
        }
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ data: { hello: `answer ${n} for ${req.headers.authorization ?? 'nobody'}` } }),
          );
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function sharedSoFar(): Promise<number> {
  const metric = registry.getSingleMetric('commsgraph_subgraph_requests_shared_total');
  const values = (await metric!.get()).values;
  return values.filter((v) => v.labels.subgraph === 'inflight-test').reduce((sum, v) => sum + v.value, 0);
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('condition not met');
}

function call(
  executor: ReturnType<typeof remoteExecutor>['executor'],
  source: string,
  authorization: string,
  requestId: string,
): Promise<ExecutionResult> {
  return Promise.resolve(
    executor({ document: parse(source), context: { authorization, requestId } }),
  ) as Promise<ExecutionResult>;
}

test('identical queries of one caller in flight at once make one call, and each gets the answer', async () => {
  const { executor, dispose } = remoteExecutor('inflight-test', url);
  const sharedBefore = await sharedSoFar();
  const calls = ['r1', 'r2', 'r3'].map((id) => call(executor, '{ hello }', 'Bearer alice', id));
  await until(async () => received.length === 1 && (await sharedSoFar()) - sharedBefore === 2);
  held.forEach((release) => release());
  const answers = await Promise.all(calls);
  expect(answers.map((a) => a.data)).toEqual([
    { hello: 'answer 1 for Bearer alice' },
    { hello: 'answer 1 for Bearer alice' },
    { hello: 'answer 1 for Bearer alice' },
  ]);
  // Each caller has its own result objects (the stitching layer annotates them in place).
  expect(answers[0]!.data).not.toBe(answers[1]!.data);
  expect(received).toHaveLength(1);
  expect(received[0]!.requestId).toBe('r1');

  // Settled calls are forgotten: the same query later is a call of its own.
  const later = call(executor, '{ hello }', 'Bearer alice', 'r4');
  await until(() => received.length === 2);
  held[1]!();
  expect((await later).data).toEqual({ hello: 'answer 2 for Bearer alice' });
  await dispose();
});

test('callers with different tokens, or different variables, never share a call', async () => {
  const { executor, dispose } = remoteExecutor('inflight-test', url);
  const calls = [
    call(executor, '{ hello }', 'Bearer alice', 'a'),
    call(executor, '{ hello }', 'Bearer bob', 'b'),
    Promise.resolve(
      executor({
        document: parse('query Q($n: Int) { hello(n: $n) }'),
        variables: { n: 1 },
        context: { authorization: 'Bearer alice', requestId: 'c' },
      }),
    ) as Promise<ExecutionResult>,
    Promise.resolve(
      executor({
        document: parse('query Q($n: Int) { hello(n: $n) }'),
        variables: { n: 2 },
        context: { authorization: 'Bearer alice', requestId: 'd' },
      }),
    ) as Promise<ExecutionResult>,
  ];
  await until(() => received.length === 4);
  held.forEach((release) => release());
  const answers = await Promise.all(calls);
  const hellos = answers.map((a) => (a.data as { hello: string }).hello);
  expect(hellos.map((h) => h.replace(/^answer \d /, ''))).toEqual([
    'for Bearer alice',
    'for Bearer bob',
    'for Bearer alice',
    'for Bearer alice',
  ]);
  expect(new Set(answers.map((a) => (a.data as { hello: string }).hello)).size).toBe(4);
  expect(received.map((r) => r.authorization).sort()).toEqual([
    'Bearer alice',
    'Bearer alice',
    'Bearer alice',
    'Bearer bob',
  ]);
  await dispose();
});

test('identical mutations are each sent', async () => {
  const { executor, dispose } = remoteExecutor('inflight-test', url);
  const calls = ['m1', 'm2'].map((id) => call(executor, 'mutation { hello }', 'Bearer alice', id));
  await until(() => received.length === 2);
  held.forEach((release) => release());
  const answers = await Promise.all(calls);
  expect(answers.map((a) => a.data)).toEqual([
    { hello: 'answer 1 for Bearer alice' },
    { hello: 'answer 2 for Bearer alice' },
  ]);
  expect(received.map((r) => r.requestId)).toEqual(['m1', 'm2']);
  await dispose();
});

test('a failed call fails every caller that shared it, and the next call tries again', async () => {
  const { executor, dispose } = remoteExecutor('inflight-test', url);
  const sharedBefore = await sharedSoFar();
  failNext = true;
  const calls = ['f1', 'f2'].map((id) => call(executor, '{ hello }', 'Bearer alice', id));
  await until(async () => received.length === 1 && (await sharedSoFar()) - sharedBefore === 1);
  held[0]!();
  const answers = await Promise.all(calls);
  for (const a of answers) {
    expect(a.data ?? null).toBeNull();
    expect(a.errors?.length).toBeGreaterThan(0);
  }
  const retry = call(executor, '{ hello }', 'Bearer alice', 'f3');
  await until(() => received.length === 2);
  held[1]!();
  expect((await retry).data).toEqual({ hello: 'answer 2 for Bearer alice' });
  await dispose();
});

describe('in-process subgraph calls', () => {
  // A subgraph whose `hello` resolver waits until the test releases it, counting its executions.
  let executions: string[];
  let waiting: Array<() => void>;
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        hello: {
          type: new GraphQLObjectType({
            name: 'Hello',
            fields: { text: { type: GraphQLString }, n: { type: GraphQLInt } },
          }),
          resolve: (_root, _args, ctx: BaseContext) =>
            new Promise((resolve) => {
              executions.push(ctx.principal?.sub ?? 'nobody');
              const n = executions.length;
              waiting.push(() => resolve({ text: `for ${ctx.principal?.sub ?? 'nobody'}`, n }));
            }),
        },
      },
    }),
    mutation: new GraphQLObjectType({
      name: 'Mutation',
      fields: {
        touch: {
          type: GraphQLInt,
          resolve: (_root, _args, ctx: BaseContext) =>
            new Promise((resolve) => {
              executions.push(ctx.principal?.sub ?? 'nobody');
              const n = executions.length;
              waiting.push(() => resolve(n));
            }),
        },
      },
    }),
  });
  const subgraph = {
    name: 'inflight-test',
    schema,
    contextFor: (base: BaseContext) => ({ ...base }),
  } as unknown as Subgraph; // only name, schema and contextFor are used by the executor

  beforeEach(() => {
    executions = [];
    waiting = [];
  });

  const principal = (sub: string): Principal => ({ sub, roles: ['operations'] });
  const run = (
    executor: ReturnType<typeof inProcessExecutor>,
    source: string,
    subject: string | null,
  ): Promise<ExecutionResult> =>
    Promise.resolve(
      executor({
        document: parse(source),
        context: {
          requestId: `req-${Math.random()}`,
          principal: subject ? principal(subject) : null,
          ...(subject ? { authorization: `Bearer ${subject}` } : {}),
        },
      }),
    ) as Promise<ExecutionResult>;

  test('identical queries of one caller run once, and each caller gets its own copy', async () => {
    const executor = inProcessExecutor(subgraph);
    const calls = [1, 2, 3].map(() => run(executor, '{ hello { text n } }', 'alice'));
    await until(() => executions.length === 1);
    waiting.forEach((release) => release());
    const answers = await Promise.all(calls);
    expect(executions).toEqual(['alice']);
    for (const a of answers) expect(a.data).toEqual({ hello: { text: 'for alice', n: 1 } });
    const hellos = answers.map((a) => (a.data as { hello: object }).hello);
    expect(new Set(hellos).size).toBe(3);
  });

  test('different callers, callers without a token, and mutations each run', async () => {
    const executor = inProcessExecutor(subgraph);
    const calls = [
      run(executor, '{ hello { text } }', 'alice'),
      run(executor, '{ hello { text } }', 'bob'),
      run(executor, '{ hello { text } }', null),
      run(executor, '{ hello { text } }', null),
      run(executor, 'mutation { touch }', 'alice'),
      run(executor, 'mutation { touch }', 'alice'),
    ];
    await until(() => executions.length === 6);
    waiting.forEach((release) => release());
    const answers = await Promise.all(calls);
    expect(executions.sort()).toEqual(['alice', 'alice', 'alice', 'bob', 'nobody', 'nobody']);
    expect(answers.slice(0, 4).map((a) => a.data)).toEqual([
      { hello: { text: 'for alice' } },
      { hello: { text: 'for bob' } },
      { hello: { text: 'for nobody' } },
      { hello: { text: 'for nobody' } },
    ]);
  });
});
