import {
  createApprovedCases,
  PAGE_QUERY,
  quiesce,
  type ApprovedCase,
  type PageData,
} from '../../bench/fixtures.js';
import { startTestGateway, type TestGateway, type GqlResult } from '../support/harness.js';

/**
 * No N+1 across the federation: a page of cases with each case's customer
 * (customers subgraph), approvals (workflow) and documents with their
 * deliveries (communications) costs the same number of store queries for 5
 * rows as for 20. Counted, not timed, so it holds on any machine.
 */
let t: TestGateway;
let auditor: string;
let made: ApprovedCase[];

beforeAll(async () => {
  t = await startTestGateway();
  made = await createApprovedCases(t.gateway.subgraphs!, { count: 24, label: 'qc' });
  // Generation and delivery finish, then the polling loops stop so the counter sees only the request.
  await quiesce(t.gateway.subgraphs!);
  // Reads contact details too, which the auditor role does not see.
  auditor = await t.token('olga.ops', 'operations');
}, 120_000);
afterAll(() => t?.stop());

async function page(first: number): Promise<{ queries: number; result: GqlResult<PageData> }> {
  const stats = t.gateway.store!.stats;
  const before = stats.queries;
  const result = await t.gql<PageData>(PAGE_QUERY, { first }, auditor);
  return { queries: stats.queries - before, result };
}

function expectFullyResolved(result: GqlResult<PageData>, rows: number): void {
  expect(result.errors).toBeUndefined();
  const edges = result.data!.cases.edges;
  expect(edges).toHaveLength(rows);
  const ours = new Map(made.map((c) => [c.caseId, c]));
  for (const { node } of edges) {
    // Newest first: the page is made of the fixture's cases, not the demo ones.
    const fixture = ours.get(node.id);
    expect(fixture).toBeDefined();
    expect(node.status).toBe('RESOLVED');
    expect(node.customer).toMatchObject({ id: fixture!.customerId, name: expect.any(String) });
    expect(node.customer!.name.length).toBeGreaterThan(0);
    expect(node.approvals.map((a) => [a.stage, a.decision])).toEqual([
      ['REVIEW', 'APPROVED'],
      ['APPROVAL', 'APPROVED'],
      ['COMPLIANCE', 'APPROVED'],
    ]);
    expect(node.approvals.every((a) => typeof a.decidedBy === 'string' && a.decidedBy.length > 0)).toBe(true);
    expect(node.documents).toHaveLength(1);
    const [doc] = node.documents;
    expect(doc!.status).toBe('GENERATED');
    expect(doc!.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(doc!.deliveries).toEqual([{ status: 'DELIVERED', attempts: 1 }]);
  }
  // Several customers, so customer resolution is really batched, not one lucky lookup.
  expect(new Set(edges.map((e) => e.node.customer!.id)).size).toBe(rows);
}

test('the case page costs the same number of store queries for 5 and for 20 cases', async () => {
  const five = await page(5);
  const twenty = await page(20);
  expectFullyResolved(five.result, 5);
  expectFullyResolved(twenty.result, 20);
  expect(five.queries).toBeGreaterThan(0);
  expect({ first: 20, queries: twenty.queries }).toEqual({ first: 20, queries: five.queries });
});
