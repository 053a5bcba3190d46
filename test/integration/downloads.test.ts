import { createHash } from 'node:crypto';
import http from 'node:http';
import { PERSONAL_DATA_ROLES } from '../../src/policy/index.js';
import type { Role } from '../../src/identity/index.js';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * GET /documents/:id/content: only roles that may read document content download it (checked
 * on every request), and neither the id nor `?part=` can address anything but a stored part of
 * that document.
 */
let t: TestGateway;
let base: string;
let ops: string;
let pdfId: string;
let emailId: string;

const sample = (id: string) => SEED_TEMPLATES.find((x) => x.id === id)!.sampleData;

beforeAll(async () => {
  t = await startTestGateway();
  base = t.url.replace('/graphql', '');
  ops = await t.token('olga.ops', 'operations');
  const generate = async (channel: string) => {
    const r = await t.gql<{ generateDocument: { id: string } }>(
      `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }`,
      {
        input: {
          customerId: 'cus_004',
          templateId: 'tpl_billing_notice',
          channel,
          data: sample('tpl_billing_notice'),
        },
      },
      ops,
    );
    expect(r.errors).toBeUndefined();
    return r.data!.generateDocument.id;
  };
  pdfId = await generate('PRINT');
  emailId = await generate('EMAIL');
  await t.settle();
});
afterAll(() => t.stop());

/** A raw request: the path goes out exactly as written (fetch would normalise `..`). */
function get(
  path: string,
  token?: string,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const code = (body: Buffer) =>
  (JSON.parse(body.toString('utf8')) as { errors: { extensions: Record<string, unknown> }[] }).errors[0]!
    .extensions;

describe('who may download', () => {
  const allowed = PERSONAL_DATA_ROLES.documentContent as readonly Role[];

  it.each(allowed.map((r) => [r]))('%s gets the bytes', async (role) => {
    const res = await get(`/documents/${pdfId}/content`, await t.token(`dl.${role}`, role));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.body.subarray(0, 5).toString()).toBe('%PDF-');
    const reference = await get(`/documents/${pdfId}/content`, ops);
    expect(createHash('sha256').update(res.body).digest('hex')).toBe(
      createHash('sha256').update(reference.body).digest('hex'),
    );
  });

  it.each([['requester'], ['service']] as const)('%s is refused with 403 FORBIDDEN', async (role) => {
    const token = await t.token(`dl.${role}`, role);
    for (const path of [`/documents/${pdfId}/content`, `/documents/${emailId}/content?part=body.html`]) {
      const res = await get(path, token);
      expect(res.status).toBe(403);
      expect(code(res.body)).toMatchObject({ code: 'FORBIDDEN' });
      expect(res.body.toString()).not.toContain('%PDF');
    }
    // HEAD is held to the same rule.
    expect((await get(`/documents/${pdfId}/content`, token, 'HEAD')).status).toBe(403);
  });

  it('our own processes (an internal service subject) may download, other service clients may not', async () => {
    expect((await get(`/documents/${pdfId}/content`, await t.token('worker', 'service'))).status).toBe(200);
    expect((await get(`/documents/${pdfId}/content`, await t.token('partner-app', 'service'))).status).toBe(
      403,
    );
  });

  it('no token is 401, a bad token is 401', async () => {
    expect((await get(`/documents/${pdfId}/content`)).status).toBe(401);
    const bad = await get(`/documents/${pdfId}/content`, 'not.a.token');
    expect(bad.status).toBe(401);
    expect(code(bad.body)).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('the role is checked before anything about the document: a refused caller learns nothing', async () => {
    const requester = await t.token('dl.nosy', 'requester');
    expect((await get(`/documents/doc_does_not_exist/content`, requester)).status).toBe(403);
    expect((await get(`/documents/${pdfId}/content?part=..%2F..%2Fetc%2Fpasswd`, requester)).status).toBe(
      403,
    );
  });
});

describe('what may be downloaded', () => {
  it('a named part of the document, and the primary part by default', async () => {
    const html = await get(`/documents/${emailId}/content?part=body.html`, ops);
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.headers['content-security-policy']).toMatch(/^sandbox;/);
    expect(html.headers['content-disposition']).toBe(`inline; filename="${emailId}-body.html"`);
    const primary = await get(`/documents/${emailId}/content`, ops);
    expect(primary.body.equals(html.body)).toBe(true);
    expect((await get(`/documents/${emailId}/content?part=subject.txt`, ops)).status).toBe(200);
  });

  it.each([
    ['../../etc/passwd'],
    ['..%2F..%2Fetc%2Fpasswd'],
    ['%2Fetc%2Fpasswd'],
    ['/etc/passwd'],
    ['..%5C..%5Cwindows%5Cwin.ini'],
    ['body.html%00.pdf'],
    ['body.html%0d%0aSet-Cookie:%20x=1'],
    ['..'],
    ['body..html'],
    ['BODY.HTML'],
    ['.htaccess'],
    ['body.html&part=document.pdf'],
    [''],
  ])('?part=%s is refused with 400 BAD_USER_INPUT', async (part) => {
    const res = await get(`/documents/${emailId}/content?part=${part}`, ops);
    expect(res.status).toBe(400);
    expect(code(res.body)).toEqual({ code: 'BAD_USER_INPUT', field: 'part' });
  });

  it('a well-formed part the document does not have is 404, naming the parts it has', async () => {
    const res = await get(`/documents/${pdfId}/content?part=body.html`, ops);
    expect(res.status).toBe(404);
    expect(code(res.body)).toMatchObject({ code: 'NOT_FOUND' });
    expect(res.body.toString()).toContain('document.pdf');
  });

  it.each([
    ['/documents/..%2F..%2Fetc%2Fpasswd/content'],
    ['/documents/%2e%2e/content'],
    ['/documents/doc%00/content'],
    ['/documents/doc_1%2F..%2F..%2Fx/content'],
    ['/documents/.../content'],
    ['/documents/doc_does_not_exist/content'],
    [`/documents/${'a'.repeat(101)}/content`],
    ['/documents//content'],
  ])('%s is 404', async (path) => {
    const res = await get(path, ops);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain('%PDF');
  });

  it('dot segments resolve before routing: nothing outside /documents/ is served by the download route', async () => {
    for (const path of [
      `/documents/../../etc/passwd`,
      `/documents/${pdfId}/../../../etc/passwd`,
      `/documents/${pdfId}/content/../../../../etc/passwd`,
    ]) {
      const res = await get(path, ops);
      expect(res.status).toBe(404);
      expect(res.body.toString()).not.toMatch(/root:|%PDF/);
    }
  });

  it('only GET and HEAD', async () => {
    expect((await get(`/documents/${pdfId}/content`, ops, 'DELETE')).status).toBe(405);
    const head = await get(`/documents/${pdfId}/content`, ops, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(1000);
  });
});
