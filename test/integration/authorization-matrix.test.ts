/**
 * Walks every cell of the role × operation matrix the README shows (generated
 * from src/policy): every role against every mutation, and every role against
 * every personal-data field, over HTTP through the gateway, as a client sees it.
 *
 * Mutations are sent with ids that do not exist (or input that is refused), so
 * a role that may run the mutation gets past the role check and then a
 * NOT_FOUND / BAD_USER_INPUT, and nothing changes whichever role asks.
 */
import { ROLES, type Role } from '../../src/identity/index.js';
import {
  HELD_JOB_ROLES,
  MUTATION_ROLES,
  PERSONAL_DATA_ROLES,
  TRAIL_VERIFY_ROLES,
} from '../../src/policy/index.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let admin: string;
const tokens = new Map<Role, string>();

beforeAll(async () => {
  t = await startTestGateway();
  admin = await t.token('matrix.admin', 'admin');
  for (const role of ROLES) tokens.set(role, await t.token(`matrix.${role}`, role));
}, 60_000);

afterAll(() => t?.stop());

type ClientMutation = Exclude<keyof typeof MUTATION_ROLES, 'internal'>;

/** Each mutation with input that gets past the role check and then changes nothing. */
const MUTATIONS: Record<ClientMutation, { type: string; input: (role: Role) => Record<string, unknown> }> = {
  addCaseNote: { type: 'AddCaseNoteInput', input: () => ({ caseId: 'case_missing', note: 'matrix' }) },
  assignCase: { type: 'AssignCaseInput', input: () => ({ caseId: 'case_missing', assignee: 'someone' }) },
  authoriseReissue: {
    type: 'AuthoriseReissueInput',
    input: () => ({
      caseId: 'case_missing',
      entitled: true,
      identityVerification: 'DOCUMENT_CHECK',
      requestedBy: 'matrix',
    }),
  },
  createTemplate: {
    type: 'CreateTemplateInput',
    // Refused as input (the document type is not snake_case), so nothing is created.
    input: () => ({ channels: ['EMAIL'], content: {}, dataSchema: {}, documentType: 'Not Snake', name: 'x' }),
  },
  decideApproval: {
    type: 'DecideApprovalInput',
    input: () => ({ approvalId: 'apr_missing', decision: 'APPROVED' }),
  },
  decideTemplateApproval: {
    type: 'DecideTemplateApprovalInput',
    input: () => ({ approvalId: 'tap_missing', decision: 'APPROVED' }),
  },
  editTemplate: {
    type: 'EditTemplateInput',
    input: () => ({ templateId: 'tpl_missing', comment: 'matrix' }),
  },
  generateDocument: {
    type: 'GenerateDocumentInput',
    input: () => ({ customerId: 'cus_missing', templateId: 'tpl_missing' }),
  },
  reissueDocument: {
    type: 'ReissueDocumentInput',
    input: () => ({ documentId: 'doc_missing', reason: 'matrix' }),
  },
  releaseHeldJob: {
    type: 'ReleaseHeldJobInput',
    input: () => ({ jobId: 'job_missing', comment: 'matrix' }),
  },
  reportMilestone: {
    type: 'ReportMilestoneInput',
    input: () => ({ caseId: 'case_missing', milestone: 'CLAIM_INTAKE' }),
  },
  resolveException: {
    type: 'ResolveExceptionInput',
    input: () => ({ exceptionId: 'exc_missing', resolution: 'matrix' }),
  },
  retireTemplateVersion: { type: 'TemplateVersionActionInput', input: () => ({ versionId: 'tv_missing' }) },
  sendDisputeLetter: {
    type: 'SendDisputeLetterInput',
    input: () => ({ caseId: 'case_missing', letter: 'ACKNOWLEDGEMENT' }),
  },
  startCase: {
    type: 'StartCaseInput',
    // Each starter role with a kind it may open (the service narrows by kind), for a customer that does not exist.
    input: (role) => ({
      kind:
        role === 'service-agent' ? 'CORRESPONDENCE' : role === 'requester' ? 'SERVICE' : 'REGULATED_DOCUMENT',
      title: 'matrix',
      customerId: 'cus_missing',
      templateId: 'tpl_account_statement',
    }),
  },
  submitTemplateVersion: { type: 'TemplateVersionActionInput', input: () => ({ versionId: 'tv_missing' }) },
  updateCustomerContact: {
    type: 'UpdateCustomerContactInput',
    input: () => ({ customerId: 'cus_missing', email: 'someone@example.com' }),
  },
};

/** What nothing-changed is checked against: counts a mutation would move. */
async function stateFingerprint(): Promise<string> {
  const r = await t.gql<{
    cases: { totalCount: number };
    templates: { id: string; versions: { status: string }[] }[];
    customers: { totalCount: number };
  }>(
    `{ cases(first: 0) { totalCount } customers(first: 0) { totalCount } templates { id versions { status } } }`,
    {},
    admin,
  );
  expect(r.errors).toBeUndefined();
  return JSON.stringify(r.data);
}

const cells = (Object.keys(MUTATIONS) as ClientMutation[]).flatMap((m) =>
  ROLES.map((role) => [m, role] as const),
);

describe('every role × every mutation', () => {
  let before: string;
  beforeAll(async () => {
    before = await stateFingerprint();
  });

  test('the matrix names every client mutation of the served schema', async () => {
    const r = await t.gql<{ __type: { fields: { name: string }[] } }>(
      `{ __type(name: "Mutation") { fields { name } } }`,
      {},
      admin,
    );
    expect(r.data!.__type.fields.map((f) => f.name).sort()).toEqual(Object.keys(MUTATIONS).sort());
  });

  test.each(cells)('%s as %s', async (mutation, role) => {
    const spec = MUTATIONS[mutation];
    const r = await t.gql(
      `mutation ($input: ${spec.type}!) { ${mutation}(input: $input) { __typename } }`,
      { input: spec.input(role) },
      tokens.get(role),
    );
    expect(r.data ?? null).toBeNull();
    const code = r.errors?.[0]?.extensions?.code;
    const allowed = (MUTATION_ROLES[mutation] as readonly Role[]).includes(role);
    if (allowed) {
      // Past the role check: refused for what it asked, not for who asked.
      expect(['NOT_FOUND', 'BAD_USER_INPUT']).toContain(code);
    } else {
      expect(code).toBe('FORBIDDEN');
    }
  });

  test.each(Object.keys(MUTATIONS) as ClientMutation[])(
    '%s without a token is UNAUTHENTICATED',
    async (m) => {
      const spec = MUTATIONS[m];
      const r = await t.gql(`mutation ($input: ${spec.type}!) { ${m}(input: $input) { __typename } }`, {
        input: spec.input('admin'),
      });
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    },
  );

  test('and nothing changed', async () => {
    expect(await stateFingerprint()).toBe(before);
  });
});

/**
 * The cells above take what they expect from the policy table they test, so a wrong entry in
 * the table would be expected too. These cells state the answer here, by hand, from the roles
 * as the product describes them (an auditor changes nothing; the three approval stages decide
 * approvals; operations works exceptions; machine clients trigger generation; admins author
 * templates): a wrong table entry for any of them fails.
 */
describe('a sample of cells with the answer written down', () => {
  const SAMPLE: Array<[ClientMutation, Role, 'allowed' | 'FORBIDDEN']> = [
    ['startCase', 'auditor', 'FORBIDDEN'],
    ['decideApproval', 'auditor', 'FORBIDDEN'],
    ['generateDocument', 'auditor', 'FORBIDDEN'],
    ['resolveException', 'auditor', 'FORBIDDEN'],
    ['editTemplate', 'auditor', 'FORBIDDEN'],
    ['updateCustomerContact', 'auditor', 'FORBIDDEN'],
    ['decideApproval', 'reviewer', 'allowed'],
    ['decideApproval', 'approver', 'allowed'],
    ['decideApproval', 'compliance', 'allowed'],
    ['decideApproval', 'requester', 'FORBIDDEN'],
    ['decideApproval', 'operations', 'FORBIDDEN'],
    ['decideApproval', 'service', 'FORBIDDEN'],
    ['startCase', 'requester', 'allowed'],
    ['startCase', 'service', 'FORBIDDEN'],
    ['reissueDocument', 'requester', 'allowed'],
    ['resolveException', 'operations', 'allowed'],
    ['resolveException', 'requester', 'FORBIDDEN'],
    ['resolveException', 'service-agent', 'FORBIDDEN'],
    ['generateDocument', 'service', 'allowed'],
    ['generateDocument', 'requester', 'FORBIDDEN'],
    ['createTemplate', 'admin', 'allowed'],
    ['createTemplate', 'approver', 'FORBIDDEN'],
    ['decideTemplateApproval', 'admin', 'FORBIDDEN'],
    ['assignCase', 'operations', 'allowed'],
    ['assignCase', 'requester', 'FORBIDDEN'],
    // Releasing a held Exstream job is operations' call alone (contract, "Runtime monitor").
    ['releaseHeldJob', 'operations', 'allowed'],
    ['releaseHeldJob', 'auditor', 'FORBIDDEN'],
    ['releaseHeldJob', 'admin', 'FORBIDDEN'],
    ['releaseHeldJob', 'service-agent', 'FORBIDDEN'],
    ['releaseHeldJob', 'service', 'FORBIDDEN'],
  ];

  test.each(SAMPLE)('%s as %s is %s', async (mutation, role, expected) => {
    const spec = MUTATIONS[mutation];
    const r = await t.gql(
      `mutation ($input: ${spec.type}!) { ${mutation}(input: $input) { __typename } }`,
      { input: spec.input(role) },
      tokens.get(role),
    );
    const code = r.errors?.[0]?.extensions?.code;
    if (expected === 'allowed') expect(['NOT_FOUND', 'BAD_USER_INPUT']).toContain(code);
    else expect(code).toBe('FORBIDDEN');
  });

  test.each([
    ['caseTrailIntegrity', 'auditor', true],
    ['caseTrailIntegrity', 'requester', false],
    ['templateTrailIntegrity', 'compliance', true],
    ['templateTrailIntegrity', 'service', false],
  ] as const)('%s as %s answers: %s', async (query, role, answers) => {
    const r = await t.gql(`{ ${query} { intact } }`, {}, tokens.get(role));
    if (answers) expect(r.errors).toBeUndefined();
    else expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  // Held Exstream jobs: operations works them, auditors and admins read them (contract, "Runtime monitor").
  test.each([
    ['heldJobs', 'operations', true],
    ['heldJobs', 'auditor', true],
    ['heldJobs', 'admin', true],
    ['heldJobs', 'requester', false],
    ['heldJobs', 'service', false],
    ['heldJobs', 'compliance', false],
  ] as const)('%s as %s answers: %s', async (query, role, answers) => {
    const r = await t.gql(`{ ${query} { id } }`, {}, tokens.get(role));
    if (answers) expect(r.errors).toBeUndefined();
    else expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('every role × every role-restricted query', () => {
  const QUERIES = {
    caseTrailIntegrity: `{ caseTrailIntegrity { intact entries } }`,
    templateTrailIntegrity: `{ templateTrailIntegrity { intact entries } }`,
  } as const;
  const queryCells = (Object.keys(QUERIES) as (keyof typeof QUERIES)[]).flatMap((q) =>
    ROLES.map((role) => [q, role] as const),
  );
  test.each(queryCells)('%s as %s', async (query, role) => {
    const r = await t.gql<Record<string, { intact: boolean; entries: number } | null>>(
      QUERIES[query],
      {},
      tokens.get(role),
    );
    if ((TRAIL_VERIFY_ROLES as readonly Role[]).includes(role)) {
      expect(r.errors).toBeUndefined();
      expect(r.data![query]).toMatchObject({ intact: true, entries: expect.any(Number) });
    } else {
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(r.data?.[query] ?? null).toBeNull();
    }
  });
});

describe('every role × the held-job queries', () => {
  const QUERIES = {
    heldJobs: `{ heldJobs { id status } }`,
    heldJob: `{ heldJob(id: "job_missing") { id } }`,
  } as const;
  const queryCells = (Object.keys(QUERIES) as (keyof typeof QUERIES)[]).flatMap((q) =>
    ROLES.map((role) => [q, role] as const),
  );
  test.each(queryCells)('%s as %s', async (query, role) => {
    const r = await t.gql<Record<string, unknown>>(QUERIES[query], {}, tokens.get(role));
    if ((HELD_JOB_ROLES as readonly Role[]).includes(role)) {
      expect(r.errors).toBeUndefined();
      // The embedded mode holds nothing.
      expect(r.data![query]).toEqual(query === 'heldJobs' ? [] : null);
    } else {
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(r.data?.[query] ?? null).toBeNull();
    }
  });
});

test('a token without any CommsGraph role reads nothing', async () => {
  const roleless = await t.token('someone.else');
  const r = await t.gql(
    `{ customers(first: 5) { edges { node { id name } } } templates { id } }`,
    {},
    roleless,
  );
  expect(r.data ?? null).toBeNull();
  expect(r.errors?.map((e) => e.extensions?.code)).toEqual(expect.arrayContaining(['FORBIDDEN']));
  expect(r.errors?.every((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
});

describe('every role × every personal-data field', () => {
  const ids = { customer: '', document: '', case: '' };

  beforeAll(async () => {
    // Demo data: a customer with every contact detail, a generated document, a case whose trail has detail.
    const r = await t.gql<{
      customers: {
        edges: {
          node: {
            id: string;
            email: string | null;
            phone: string | null;
            postalAddress: { city: string } | null;
            documents: { edges: { node: { id: string; contentUrl: string | null } }[] };
          };
        }[];
      };
      cases: { edges: { node: { id: string; history: { detail: unknown }[] } }[] };
    }>(
      `{ customers(first: 100) { edges { node { id email phone postalAddress { city }
           documents(first: 5) { edges { node { id contentUrl } } } } } }
         cases(first: 20) { edges { node { id history { detail } } } } }`,
      {},
      admin,
    );
    expect(r.errors).toBeUndefined();
    const customer = r
      .data!.customers.edges.map((e) => e.node)
      .find((c) => c.email && c.phone && c.postalAddress)!;
    expect(customer).toBeDefined();
    ids.customer = customer.id;
    const doc = r
      .data!.customers.edges.flatMap((e) => e.node.documents.edges.map((d) => d.node))
      .find((d) => d.contentUrl)!;
    expect(doc).toBeDefined();
    ids.document = doc.id;
    ids.case = r
      .data!.cases.edges.map((e) => e.node)
      .find((c) => c.history.some((h) => h.detail != null))!.id;
  });

  const FIELDS: Array<{
    data: keyof typeof PERSONAL_DATA_ROLES;
    field: string;
    path: (string | number)[];
    read: (d: Record<string, unknown>) => unknown;
  }> = [
    {
      data: 'contact',
      field: 'Customer.email',
      path: ['customer', 'email'],
      read: (d) => (d.customer as { email: unknown }).email,
    },
    {
      data: 'contact',
      field: 'Customer.phone',
      path: ['customer', 'phone'],
      read: (d) => (d.customer as { phone: unknown }).phone,
    },
    {
      data: 'contact',
      field: 'Customer.postalAddress',
      path: ['customer', 'postalAddress'],
      read: (d) => (d.customer as { postalAddress: unknown }).postalAddress,
    },
    {
      data: 'documentContent',
      field: 'Document.contentUrl',
      path: ['document', 'contentUrl'],
      read: (d) => (d.document as { contentUrl: unknown }).contentUrl,
    },
    {
      data: 'dataPayload',
      field: 'AuditEvent.detail',
      path: ['case', 'history', 0, 'detail'],
      read: (d) =>
        (d.case as { history: { detail: unknown }[] }).history.find((h) => h.detail != null)?.detail,
    },
  ];

  const QUERY = `query ($c: ID!, $d: ID!, $k: ID!) {
    customer(id: $c) { id name email phone postalAddress { city } }
    document(id: $d) { id status contentUrl }
    case(id: $k) { id title history { action detail } }
  }`;

  const fieldCells = FIELDS.flatMap((f) => ROLES.map((role) => [f.field, role, f] as const));

  test.each(fieldCells)('%s as %s', async (_name, role, f) => {
    const r = await t.gql<Record<string, unknown>>(
      QUERY,
      { c: ids.customer, d: ids.document, k: ids.case },
      tokens.get(role),
    );
    // The rest of the response is there whatever the role.
    expect(r.data).toMatchObject({
      customer: { id: ids.customer, name: expect.any(String) },
      document: { id: ids.document, status: 'GENERATED' },
      case: { id: ids.case, title: expect.any(String) },
    });
    const errorsHere = (r.errors ?? []).filter(
      (e) =>
        JSON.stringify(e.path?.filter((p) => typeof p === 'string')) ===
        JSON.stringify(f.path.filter((p) => typeof p === 'string')),
    );
    if ((PERSONAL_DATA_ROLES[f.data] as readonly Role[]).includes(role)) {
      expect(f.read(r.data!)).not.toBeNull();
      expect(f.read(r.data!)).toBeDefined();
      expect(errorsHere).toEqual([]);
    } else {
      expect(f.read(r.data!) ?? null).toBeNull();
      expect(errorsHere.length).toBeGreaterThan(0);
      expect(errorsHere.every((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
    }
  });

  test.each(ROLES.map((r) => [r]))('the download itself as %s', async (role) => {
    const url = new URL(`/documents/${ids.document}/content`, t.url);
    const res = await fetch(url, { headers: { authorization: `Bearer ${tokens.get(role)}` } });
    if ((PERSONAL_DATA_ROLES.documentContent as readonly Role[]).includes(role)) {
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    } else {
      expect(res.status).toBe(403);
      expect(
        ((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
      ).toBe('FORBIDDEN');
    }
  });
});
