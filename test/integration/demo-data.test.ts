import { startTestGateway, type TestGateway } from '../support/harness.js';

/** What a first start seeds, read through the API as a Sandbox user would see it. */
let t: TestGateway;
let token: string;
beforeAll(async () => {
  t = await startTestGateway();
  token = await t.token('auditor', 'auditor');
});
afterAll(() => t.stop());

test('at least 50 customers across segments, channels, locales and two brands', async () => {
  const r = await t.gql<{
    customers: {
      totalCount: number;
      edges: {
        node: {
          name: string;
          email: string | null;
          preferredChannel: string;
          segments: string[];
          locale: string;
          brand: string;
        };
      }[];
    };
  }>(
    `{ customers(first: 100) { totalCount edges { node { name email preferredChannel segments locale brand } } } }`,
    {},
    token,
  );
  const nodes = r.data!.customers.edges.map((e) => e.node);
  expect(r.data!.customers.totalCount).toBeGreaterThanOrEqual(50);
  expect(new Set(nodes.map((n) => n.brand)).size).toBe(2);
  expect(new Set(nodes.map((n) => n.preferredChannel))).toEqual(new Set(['PRINT', 'EMAIL', 'WEB', 'MOBILE']));
  expect(new Set(nodes.map((n) => n.locale)).size).toBeGreaterThanOrEqual(4);
  expect(new Set(nodes.flatMap((n) => n.segments)).size).toBeGreaterThanOrEqual(4);
  expect(nodes.filter((n) => n.email === null).length).toBeGreaterThanOrEqual(2);
  expect(nodes.map((n) => n.name)).toEqual(expect.arrayContaining(['Łukasz Żółć', 'Ștefan Ionescu']));
  const segment = await t.gql<{
    customers: { totalCount: number; edges: { node: { segments: string[] } }[] };
  }>(`{ customers(segment: "premium", first: 100) { totalCount edges { node { segments } } } }`, {}, token);
  expect(segment.data!.customers.totalCount).toBeGreaterThan(0);
  expect(segment.data!.customers.edges.every((e) => e.node.segments.includes('premium'))).toBe(true);
});

test('one approved template per document type of the brief', async () => {
  const r = await t.gql<{
    templates: { id: string; channels: string[]; approvedVersion: { status: string } | null }[];
  }>(`{ templates { id channels approvedVersion { status } } }`, {}, token);
  const ids = r.data!.templates.map((x) => x.id).sort();
  expect(ids).toEqual(
    [
      'account_confirmation',
      'account_statement',
      'billing_notice',
      'claim_intake',
      'claim_intake_premium',
      'claim_letter',
      'dispute_acknowledgement',
      'dispute_final_response',
      'dispute_interim_update',
      'duplicate_statement',
      'payment_confirmation',
      'policy_pack',
      'privacy_disclosure',
      'rate_change_notice',
      'regulatory_notice',
      'service_escalation',
      'underwriting_review',
    ].map((d) => `tpl_${d}`),
  );
  expect(
    r.data!.templates.every((x) => x.approvedVersion?.status === 'APPROVED' && x.channels.length > 0),
  ).toBe(true);
});

test('a few cases in different states, and a page walks with cursors', async () => {
  const r = await t.gql<{
    cases: { totalCount: number; edges: { node: { kind: string; status: string } }[] };
  }>(`{ cases(first: 100) { totalCount edges { node { kind status } } } }`, {}, token);
  const statuses = new Set(r.data!.cases.edges.map((e) => `${e.node.kind}:${e.node.status}`));
  // At least one case of every kind, in a state that makes the README tour work.
  expect(statuses).toEqual(
    new Set([
      'REGULATED_DOCUMENT:AWAITING_APPROVAL',
      'REGULATED_DOCUMENT:RESOLVED',
      'REGULATED_DOCUMENT:REJECTED',
      'GENERATION_EXCEPTION:OPEN',
      'CORRESPONDENCE:AWAITING_APPROVAL',
      'SERVICE:IN_PROGRESS',
      'DISPUTE:IN_PROGRESS',
      'REISSUE:OPEN',
      'MANDATORY_NOTICE:AWAITING_APPROVAL',
    ]),
  );
  // Two pages of 3 cover the first 6 cases without overlap.
  const p1 = await t.gql<{
    cases: { pageInfo: { endCursor: string; hasNextPage: boolean }; edges: { node: { id: string } }[] };
  }>(`{ cases(first: 3) { pageInfo { endCursor hasNextPage } edges { node { id } } } }`, {}, token);
  const p2 = await t.gql<{ cases: { edges: { node: { id: string } }[] } }>(
    `query ($after: String) { cases(first: 3, after: $after) { edges { node { id } } } }`,
    { after: p1.data!.cases.pageInfo.endCursor },
    token,
  );
  const all = await t.gql<{ cases: { edges: { node: { id: string } }[] } }>(
    `{ cases(first: 6) { edges { node { id } } } }`,
    {},
    token,
  );
  expect(p1.data!.cases.pageInfo.hasNextPage).toBe(true);
  expect([...p1.data!.cases.edges, ...p2.data!.cases.edges].map((e) => e.node.id)).toEqual(
    all.data!.cases.edges.map((e) => e.node.id),
  );
  const bad = await t.gql(`{ cases(first: 3, after: "garbage") { totalCount } }`, {}, token);
  expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const tooMany = await t.gql(`{ cases(first: 1000) { totalCount } }`, {}, token);
  expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});

test("a customer's cases and documents page with counts, batched across customers", async () => {
  // cus_003: the demo's email confirmation case and the exception case its failed delivery opened.
  const q = `{ customers(first: 5) { edges { node { id
    cases(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { id kind } } }
    documents(first: 1) { totalCount pageInfo { hasNextPage } edges { node { id } } } } } } }`;
  type Node = {
    id: string;
    cases: {
      totalCount: number;
      pageInfo: { hasNextPage: boolean; endCursor: string };
      edges: { node: { id: string; kind: string } }[];
    };
    documents: { totalCount: number; pageInfo: { hasNextPage: boolean }; edges: { node: { id: string } }[] };
  };
  const r = await t.gql<{ customers: { edges: { node: Node }[] } }>(q, {}, token);
  const c3 = r.data!.customers.edges.find((e) => e.node.id === 'cus_003')!.node;
  expect(c3.cases.totalCount).toBe(2);
  expect(c3.cases.edges).toHaveLength(1);
  expect(c3.cases.pageInfo.hasNextPage).toBe(true);
  expect(c3.documents).toMatchObject({ totalCount: 1, pageInfo: { hasNextPage: false } });
  const next = await t.gql<{
    customer: {
      cases: { pageInfo: { hasNextPage: boolean }; edges: { node: { id: string; kind: string } }[] };
    };
  }>(
    `query ($after: String) { customer(id: "cus_003") { cases(first: 1, after: $after) { pageInfo { hasNextPage } edges { node { id kind } } } } }`,
    { after: c3.cases.pageInfo.endCursor },
    token,
  );
  const kinds = [c3.cases.edges[0]!.node.kind, next.data!.customer.cases.edges[0]!.node.kind].sort();
  expect(kinds).toEqual(['GENERATION_EXCEPTION', 'REGULATED_DOCUMENT']);
  expect(next.data!.customer.cases.pageInfo.hasNextPage).toBe(false);
  // A customer with nothing has empty, zero-count pages.
  const c1 = r.data!.customers.edges.find((e) => e.node.id === 'cus_005')!.node;
  expect(c1.documents).toMatchObject({ totalCount: 0, edges: [] });
});
