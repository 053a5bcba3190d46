import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SubscribePayload } from 'graphql-ws';
import {
  CasesPageDocument,
  CaseUpdatedDocument,
  StartCaseDocument,
  TemplatesDocument,
} from '../generated/graphql.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { wsClient } from '../support/ws.js';

/**
 * Trusted documents as a client built with GraphQL Code Generator meets
 * them: the gateway runs with the manifest codegen wrote for our test
 * operations (test/generated/persisted-documents.json); the client sends the
 * hash each typed document carries, over HTTP (POST, GET, batch) and
 * graphql-ws. Anything not in the manifest is refused with a coded error and
 * runs nothing; the operation limits still apply to registered operations.
 */
const MANIFEST = path.resolve(__dirname, '../generated/persisted-documents.json');
const manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as Record<string, string>;

type Err = { message: string; extensions?: Record<string, unknown> };
type Body = { data?: Record<string, unknown> | null; errors?: Err[] };

/** The hash the client preset embeds in each typed document. */
const hashOf = (doc: unknown): string => (doc as { __meta__: { hash: string } }).__meta__.hash;
const persisted = (doc: unknown) => ({ persistedQuery: { version: 1, sha256Hash: hashOf(doc) } });

let t: TestGateway;
let auditor: string;
let agent: string;
beforeAll(async () => {
  t = await startTestGateway({ TRUSTED_DOCUMENTS: MANIFEST });
  auditor = await t.token('td.auditor', 'auditor');
  agent = await t.token('td.agent', 'service-agent');
});
afterAll(() => t?.stop());

async function post(body: unknown, token = auditor): Promise<{ status: number; body: Body | Body[] }> {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Body | Body[] };
}

function expectRefused(r: { status: number; body: Body | Body[] }, reason: string): Err {
  expect(r.status).toBe(400);
  // A refused batch is answered as a batch: every operation gets the same error.
  if (Array.isArray(r.body)) expect(new Set(r.body.map((b) => JSON.stringify(b))).size).toBe(1);
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

const caseCount = async (): Promise<number> => {
  const data = expectData(await post({ extensions: persisted(CasesPageDocument), variables: { first: 0 } }));
  return (data.cases as { totalCount: number }).totalCount;
};

test('the manifest is the one codegen wrote: every hash is the sha256 of its document', () => {
  for (const [hash, text] of Object.entries(manifest)) {
    expect(createHash('sha256').update(text).digest('hex')).toBe(hash);
  }
  expect(Object.keys(manifest)).toEqual(
    expect.arrayContaining([
      hashOf(CasesPageDocument),
      hashOf(StartCaseDocument),
      hashOf(CaseUpdatedDocument),
    ]),
  );
});

test('a registered operation runs by hash: extensions.persistedQuery, documentId, or GET', async () => {
  const byExtension = expectData(
    await post({ extensions: persisted(CasesPageDocument), variables: { first: 2 } }),
  );
  expect((byExtension.cases as { edges: unknown[] }).edges).toHaveLength(2);

  for (const documentId of [`sha256:${hashOf(TemplatesDocument)}`, hashOf(TemplatesDocument)]) {
    const data = expectData(await post({ documentId }));
    expect(data.templates).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'tpl_billing_notice' })]),
    );
  }

  const params = new URLSearchParams({
    extensions: JSON.stringify(persisted(CasesPageDocument)),
    variables: JSON.stringify({ first: 1 }),
  });
  const res = await fetch(`${t.url}?${params}`, {
    headers: { authorization: `Bearer ${auditor}`, 'apollo-require-preflight': 'true' },
  });
  const got = expectData({ status: res.status, body: (await res.json()) as Body });
  expect((got.cases as { edges: unknown[] }).edges).toHaveLength(1);
});

test('free text runs only when it is exactly a registered document', async () => {
  const text = manifest[hashOf(CasesPageDocument)]!;
  expectData(await post({ query: text, variables: { first: 1 } }));
  // Same meaning, other spelling: not what was registered.
  expectRefused(await post({ query: `${text} `, variables: { first: 1 } }), 'TRUSTED_DOCUMENT_REQUIRED');
  expectRefused(await post({ query: '{ cases(first: 1) { totalCount } }' }), 'TRUSTED_DOCUMENT_REQUIRED');
  // A registered hash does not vouch for other text.
  expectRefused(
    await post({ query: '{ __typename }', extensions: persisted(CasesPageDocument) }),
    'TRUSTED_DOCUMENT_REQUIRED',
  );
});

test('an unknown hash is PERSISTED_QUERY_NOT_FOUND; a request naming nothing is TRUSTED_DOCUMENT_REQUIRED', async () => {
  const unknown = 'f'.repeat(64);
  const err = expectRefused(
    await post({ extensions: { persistedQuery: { version: 1, sha256Hash: unknown } } }),
    'PERSISTED_QUERY_NOT_FOUND',
  );
  expect(err.message).toBe('No trusted document is registered under this hash');
  expectRefused(await post({ documentId: `sha256:${unknown}` }), 'PERSISTED_QUERY_NOT_FOUND');
  expectRefused(await post({ variables: {} }), 'TRUSTED_DOCUMENT_REQUIRED');
});

test('an unregistered mutation changes nothing; the registered one runs', async () => {
  const input = { kind: 'SERVICE', title: 'Trusted documents', customerId: 'cus_001' };
  const before = await caseCount();
  expectRefused(
    await post(
      {
        query: 'mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }',
        variables: { input },
      },
      agent,
    ),
    'TRUSTED_DOCUMENT_REQUIRED',
  );
  // In a batch with a registered operation: refused whole, nothing runs.
  const batch = await post(
    [
      { extensions: persisted(StartCaseDocument), variables: { input } },
      {
        query: 'mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }',
        variables: { input },
      },
    ],
    agent,
  );
  expect(expectRefused(batch, 'TRUSTED_DOCUMENT_REQUIRED').message).toMatch(/^Operation 2 of the batch: /);
  expect(await caseCount()).toBe(before);
  const started = expectData(
    await post({ extensions: persisted(StartCaseDocument), variables: { input } }, agent),
  );
  expect(started.startCase).toMatchObject({ kind: 'SERVICE', id: expect.any(String) });
  expect(await caseCount()).toBe(before + 1);
});

test('registered operations still meet the limits', async () => {
  expectRefused(
    await post({ extensions: persisted(CasesPageDocument), variables: { first: 100_000 } }),
    'MAX_COST',
  );
});

/** One operation over graphql-ws with a free payload: its first result, or the errors it was refused with. */
function overWs(payload: Record<string, unknown>): Promise<Body> {
  const client = wsClient(t.url, auditor);
  const done = new Promise<Body>((resolve, reject) => {
    client.subscribe(payload as unknown as SubscribePayload, {
      next: (value) => resolve(value as Body),
      error: (e) => (Array.isArray(e) ? resolve({ errors: e as Err[] }) : reject(e as Error)),
      complete: () => resolve({}),
    });
  });
  return done.finally(() => client.dispose());
}

test('over WebSocket: by hash it runs (query and subscription), free text and unknown hashes are refused', async () => {
  const page = await overWs({ query: '', extensions: persisted(CasesPageDocument), variables: { first: 1 } });
  expect(page.errors).toBeUndefined();
  expect((page.data!.cases as { edges: unknown[] }).edges).toHaveLength(1);

  const byId = await overWs({ query: '', documentId: `sha256:${hashOf(TemplatesDocument)}` });
  expect(byId.errors).toBeUndefined();

  // A subscription by hash: it hears the case a registered mutation starts. It starts after the
  // newest event, so it hears it however soon after the ack the server registers it.
  const client = wsClient(t.url, auditor);
  const seen: Body[] = [];
  const failures: unknown[] = [];
  let wake: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => (wake = resolve));
  let id = '';
  const heard = () => seen.some((b) => (b.data?.caseUpdated as { id?: string } | undefined)?.id === id);
  client.subscribe(
    {
      query: '',
      variables: { after: await t.cursor('caseUpdated') },
      extensions: persisted(CaseUpdatedDocument),
    } as SubscribePayload,
    {
      next: (value) => {
        seen.push(value as Body);
        if (id && heard()) wake();
      },
      error: (e) => {
        failures.push(e);
        wake();
      },
      complete: () => undefined,
    },
  );
  try {
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));
    const input = { kind: 'SERVICE', title: 'Streamed by hash', customerId: 'cus_001' };
    const started = expectData(
      await post({ extensions: persisted(StartCaseDocument), variables: { input } }, agent),
    );
    id = (started.startCase as { id: string }).id;
    if (!heard()) await arrived;
    expect(failures).toEqual([]);
    expect(heard()).toBe(true);
    expect(seen.every((b) => b.errors === undefined)).toBe(true);
  } finally {
    await client.dispose();
  }

  for (const [payload, reason] of [
    [{ query: 'subscription { caseUpdated { id } }' }, 'TRUSTED_DOCUMENT_REQUIRED'],
    [
      { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: 'e'.repeat(64) } } },
      'PERSISTED_QUERY_NOT_FOUND',
    ],
    [{ query: '' }, 'TRUSTED_DOCUMENT_REQUIRED'],
  ] as const) {
    const refused = await overWs(payload);
    expect(refused.data ?? undefined).toBeUndefined();
    expect(refused.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', reason });
  }
});

test('a manifest whose hash does not match its document refuses the start', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-'));
  const file = path.join(dir, 'persisted-documents.json');
  const hash = hashOf(TemplatesDocument);
  fs.writeFileSync(file, JSON.stringify({ ...manifest, [hash]: '{ __schema { types { name } } }' }));
  try {
    await expect(startTestGateway({ TRUSTED_DOCUMENTS: file })).rejects.toThrow(
      `${hash}: is not the sha256 of its document`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
