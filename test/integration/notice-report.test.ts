import { startTestGateway, type TestGateway } from '../support/harness.js';
import type { Role } from '../../src/identity/index.js';

/**
 * The notice report at /reports/notices/<case id>.csv: who may fetch it (the
 * policy's HTTP route table, written out here per role so a wrong table entry
 * fails), and what its timestamps look like. The demo store's mandatory notice
 * ("Savings rate change, May", reviewed, waiting for the approver) is the case.
 */
let t: TestGateway;
let noticeId: string;

beforeAll(async () => {
  t = await startTestGateway();
  const auditor = await t.token('audrey', 'auditor');
  const r = await t.gql<{ cases: { edges: { node: { id: string; title: string } }[] } }>(
    `{ cases(kind: MANDATORY_NOTICE, first: 5) { edges { node { id title } } } }`,
    {},
    auditor,
  );
  noticeId = r.data!.cases.edges.find((e) => e.node.title === 'Savings rate change, May')!.node.id;
});
afterAll(() => t.stop());

const report = (token?: string, id = noticeId) =>
  fetch(t.url.replace('/graphql', `/reports/notices/${id}.csv`), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

/** Hard-coded, not read from src/policy: the regulator's file is for those who sign off, run and audit notices. */
const EXPECTED: Record<Role, number> = {
  requester: 403,
  reviewer: 403,
  approver: 403,
  compliance: 200,
  operations: 200,
  'service-agent': 403,
  auditor: 200,
  admin: 200,
  service: 403,
};

test.each(Object.entries(EXPECTED) as [Role, number][])(
  'the notice report as %s answers %i',
  async (role, status) => {
    const res = await report(await t.token(`report.${role}`, role));
    expect(res.status).toBe(status);
    if (status === 200) {
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(await res.text()).toContain(`case,id,${noticeId},`);
    } else {
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('FORBIDDEN');
      expect(body.errors[0]!.message).toBe(
        'The notice report requires one of the roles: compliance, operations, auditor, admin',
      );
    }
  },
);

test('without a token the report is 401; the internal service identity is not a reader either', async () => {
  expect((await report()).status).toBe(401);
  expect((await report(await t.token('worker', 'service'))).status).toBe(403);
});

test('a role that may read it gets 404 for a case that is no notice, and 403 comes before any lookup', async () => {
  expect((await report(await t.token('a', 'auditor'), 'case_missing')).status).toBe(404);
  expect((await report(await t.token('r', 'requester'), 'case_missing')).status).toBe(403);
});

test('timestamps in the CSV are ISO 8601 in UTC with milliseconds', async () => {
  const text = await (await report(await t.token('c', 'compliance'))).text();
  const rows = text
    .trimEnd()
    .split('\r\n')
    .map((line) => line.split(','));
  expect(rows[0]).toEqual(['section', 'key', 'value', 'at']);
  const created = rows.find((r) => r[0] === 'case' && r[1] === 'id')!;
  const review = rows.find((r) => r[0] === 'approval' && r[1] === 'REVIEW')!;
  for (const at of [created[3], review[3]]) expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(review[2]).toBe('demo.reviewer@northwind');
  expect(text).not.toMatch(/GMT|\w{3} \w{3} \d\d \d{4}/);
});
