import fs from 'node:fs';
import { sql } from 'kysely';
import { registry } from '../../src/telemetry/metrics.js';
import { freshDataDir, startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * GATEWAY_JIT: the gateway runs queries and mutations on graphql-jit (src/gateway/jit.ts). The
 * same requests are sent to a gateway with it on and, on the same store, to one with it off
 * (graphql-js, the reference); the answers a client gets must be the same, byte for byte once
 * the masked errors' correlation ids are set aside: data, error messages, paths, codes, null
 * bubbling and the HTTP status.
 */

/** A page across the three subgraphs: cases (workflow), their customers and their documents. */
const PAGE = /* GraphQL */ `
  query Page($first: Int) {
    cases(first: $first) {
      totalCount
      edges {
        cursor
        node {
          id
          title
          status
          kind
          customer {
            id
            name
            email
            ... on Customer {
              segments
            }
          }
          approvals {
            stage
            decision
          }
          documents {
            id
            status
            deliveries {
              status
              attempts
            }
          }
        }
      }
    }
  }
`;

interface Answer {
  status: number;
  body: {
    data?: unknown;
    errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
  };
}

/** The requests both gateways get, in order; each is named for the failure message. */
interface Step {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  /** Run with the store broken under the gateway (the statement), repaired after (the second). */
  broken?: [string, string];
  role: 'operations' | 'auditor';
}

const STEPS: Step[] = [
  // Every field answered.
  { name: 'page', query: PAGE, variables: { first: 10 }, role: 'operations' },
  // The auditor may not read contact details: an error on every row's email, the rest answered.
  // Compared on its own below: graphql-js puts every one of those errors at row 0.
  { name: 'page without contact rights', query: PAGE, variables: { first: 10 }, role: 'auditor' },
  // An id that names nothing.
  { name: 'unknown case', query: '{ case(id: "case_nothing") { id title } }', role: 'operations' },
  // A variable graphql-jit and graphql-js both refuse: BAD_USER_INPUT, 400.
  { name: 'bad variable', query: PAGE, variables: { first: 'ten' }, role: 'operations' },
  // The communications store fails under a non-null list (Case.documents: [Document!]!): masked
  // errors, and the nulls bubble up to the nearest nullable field.
  {
    name: 'documents store broken',
    query: PAGE,
    variables: { first: 5 },
    role: 'operations',
    broken: [
      'alter table communications.documents rename to documents_gone',
      'alter table communications.documents_gone rename to documents',
    ],
  },
];

/** The answer with each masked error's correlation id (fresh per request) replaced by a mark. */
function comparable(answer: Answer): Answer {
  return JSON.parse(
    JSON.stringify(answer).replace(/"correlationId":"[0-9a-f-]{36}"/g, '"correlationId":"<id>"'),
  ) as Answer;
}

async function executions(engine: 'jit' | 'graphql-js'): Promise<number> {
  const metric = registry.getSingleMetric('commsgraph_gateway_executions_total');
  const values = (await metric!.get()).values;
  return values.find((v) => v.labels.engine === engine)?.value ?? 0;
}

async function askAll(t: TestGateway): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const step of STEPS) {
    const token = await t.token(`jit.${step.role}`, step.role);
    if (step.broken) await sql.raw(step.broken[0]).execute(t.gateway.store!.db);
    try {
      const res = await fetch(t.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query: step.query, variables: step.variables }),
      });
      answers.push(comparable({ status: res.status, body: (await res.json()) as Answer['body'] }));
    } finally {
      if (step.broken) await sql.raw(step.broken[1]).execute(t.gateway.store!.db);
    }
  }
  return answers;
}

let dataDir: string;
let withJit: Answer[];
let withGraphqlJs: Answer[];
let ranOnJit: number;
let ranOnGraphqlJs: number;

beforeAll(async () => {
  dataDir = await freshDataDir();
  // The unexpected errors of the broken-store step are logged at error; not this test's subject.
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  const jit = await startTestGateway({ ...env, GATEWAY_JIT: 'true' });
  try {
    const [jitBefore, jsBefore] = [await executions('jit'), await executions('graphql-js')];
    withJit = await askAll(jit);
    ranOnJit = (await executions('jit')) - jitBefore;
    ranOnGraphqlJs = (await executions('graphql-js')) - jsBefore;
  } finally {
    await jit.stop();
  }
  const reference = await startTestGateway({ ...env, GATEWAY_JIT: 'false' });
  try {
    withGraphqlJs = await askAll(reference);
  } finally {
    await reference.stop();
  }
}, 120_000);
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

test('the requests that execute run on graphql-jit; the refused variable is answered by graphql-js', () => {
  // page, page without contact rights, unknown case, documents store broken.
  expect(ranOnJit).toBe(4);
  expect(ranOnGraphqlJs).toBe(1);
});

const SAME = STEPS.flatMap((step, i) =>
  step.name === 'page without contact rights' ? [] : [[step.name, i] as const],
);

test.each(SAME)('%s: the same answer on graphql-jit as on graphql-js', (_name, i) => {
  expect(withJit[i]).toEqual(withGraphqlJs[i]);
});

type Page = {
  cases: {
    edges: Array<{ node: { customer: { email: string | null } | null; documents: unknown[] } | null }>;
  };
};

test('errors on many rows of a list: each at its own row on graphql-jit, all at row 0 on graphql-js', () => {
  const i = STEPS.findIndex((s) => s.name === 'page without contact rights');
  const [jit, js] = [withJit[i]!, withGraphqlJs[i]!];
  // Everything but the rows in the paths is the same: status, data, messages, codes, locations.
  expect(jit.status).toBe(js.status);
  expect(jit.body.data).toEqual(js.body.data);
  const withoutRow = (a: Answer) =>
    a.body.errors?.map((e) => ({ ...e, path: e.path?.map((p, n) => (n === 2 ? '<row>' : p)) }));
  expect(withoutRow(jit)).toEqual(withoutRow(js));
  // graphql-jit names the row each error is on: every row with a customer (whose email came back
  // null), once. graphql-js, through the stitching layer's batched calls, names row 0 for all of
  // them, which tells a client nothing about which rows are incomplete.
  const edges = (jit.body.data as Page).cases.edges;
  const rowsWithCustomer = edges.flatMap((e, row) => (e.node?.customer ? [row] : []));
  expect(rowsWithCustomer.length).toBeGreaterThan(1);
  expect(jit.body.errors!.map((e) => e.path)).toEqual(
    rowsWithCustomer.map((row) => ['cases', 'edges', row, 'node', 'customer', 'email']),
  );
  expect(new Set(js.body.errors!.map((e) => e.path![2]))).toEqual(new Set([0]));
});

test('the answers are what each case is about (the comparison compares something)', () => {
  const [page, noContact, unknown, badVariable, broken] = withJit as [Answer, Answer, Answer, Answer, Answer];
  const edges = (page.body.data as Page).cases.edges;
  expect(page.status).toBe(200);
  expect(page.body.errors).toBeUndefined();
  expect(edges.length).toBeGreaterThan(0);
  expect(edges.some((e) => e.node?.customer && e.node.documents.length)).toBe(true);

  expect(noContact.status).toBe(200);
  expect(noContact.body.errors?.length).toBeGreaterThan(0);
  expect(noContact.body.errors!.every((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);

  expect(unknown).toEqual({ status: 200, body: { data: { case: null } } });

  expect(badVariable.status).toBe(400);
  expect(badVariable.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

  expect(broken.body.errors?.length).toBeGreaterThan(0);
  expect(broken.body.errors![0]!.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  expect(broken.body.errors![0]!.message).toBe('Internal server error');
  // A non-null list failed (Case.documents), and every field up to the root is non-null: no data.
  expect(broken.body.data).toBeNull();
  expect(broken.body.errors![0]!.path).toEqual(['cases', 'edges', 0, 'node', 'documents']);
});
