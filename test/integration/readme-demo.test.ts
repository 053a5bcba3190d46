import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../src/errors/index.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * The README's demo table and error table say what a fresh store holds and what codes clients
 * see: read from the README and checked against a freshly seeded gateway and the contract's codes.
 */
const README = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');

/** The rows of the Markdown table that follows `heading`, as trimmed cells. */
function tableAfter(heading: string): string[][] {
  const from = README.indexOf(heading);
  expect(from).toBeGreaterThan(0);
  const lines = README.slice(from).split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t.stop());

test('the demo table lists every case of a fresh store, with its customer and status', async () => {
  const r = await t.gql<{
    cases: {
      totalCount: number;
      edges: { node: { title: string; status: string; customer: { id: string } | null } }[];
    };
  }>(
    `{ cases(first: 50) { totalCount edges { node { title status customer { id } } } } }`,
    {},
    await t.token('a', 'auditor'),
  );
  const cases = r.data!.cases.edges.map((e) => e.node);
  const rows = tableAfter('### The demo data');
  expect(rows).toHaveLength(r.data!.cases.totalCount);
  const unmatched = [...cases];
  for (const [title, customer, state] of rows as [string, string, string][]) {
    const prefix = title.replace(/…$/, '');
    const i = unmatched.findIndex(
      (c) =>
        c.title.startsWith(prefix) &&
        (customer === '—' ? c.customer === null : `\`${c.customer?.id}\`` === customer) &&
        state.includes(`\`${c.status}\``),
    );
    expect({ row: title, found: i >= 0 }).toEqual({ row: title, found: true });
    unmatched.splice(i, 1);
  }
  expect(unmatched).toEqual([]);
});

test('the error table lists exactly the contract codes', () => {
  const codes = tableAfter('Every GraphQL error carries `extensions.code`').map((row) =>
    row[0]!.replace(/`/g, ''),
  );
  expect(codes.sort()).toEqual(Object.values(ErrorCode).sort());
});
