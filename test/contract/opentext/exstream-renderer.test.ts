/**
 * The connected-mode Renderer (src/datasources/communications/exstream-renderer.ts) against the
 * fake: which Exstream output each channel takes, byte for byte, how Exstream's answers map to
 * the engine's errors, and the bound on on-demand calls at once.
 */
import { createHash } from 'node:crypto';
import { ExstreamRenderer } from '../../../src/datasources/communications/exstream-renderer.js';
import {
  MissingDataError,
  RenderUnavailableError,
  TemplateError,
  type Channel,
  type RenderSnapshot,
} from '../../../src/datasources/communications/engine/index.js';
import { SEED_TEMPLATES } from '../../../src/datasources/communications/seed/templates.js';
import { DEMO_DOMAIN } from '../../support/opentext/demo.js';
import type { OpenTextFake } from '../../support/opentext/server.js';
import { connect, startDemoFake } from './setup.js';

const GENERATE = new RegExp(`/inputs/ondemand/${DEMO_DOMAIN}/generate$`);
let fake: OpenTextFake;

beforeEach(async () => {
  fake = await startDemoFake();
});
afterEach(() => fake.close());

function renderer(concurrency = 4, env: Record<string, string> = {}): ExstreamRenderer {
  const x = connect(fake, env).exstream!;
  return new ExstreamRenderer({ design: x.design, ondemand: x.ondemand, concurrency });
}

const template = (id: string) => SEED_TEMPLATES.find((t) => t.id === id)!;
const snapshot = (data: Record<string, unknown>): RenderSnapshot => ({
  customer: {
    id: 'cus_1',
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    phone: '+441234567890',
    address: null,
    locale: 'en-GB',
    brand: 'northwind',
    segments: [],
  },
  data,
  case: null,
  issuedAt: '2026-01-01T00:00:00.000Z',
});
const version = (id: string) => ({
  id: `${id}_v1`,
  content: {},
  dataSchema: {},
  templateId: id,
  templateName: template(id).name,
});
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What Exstream returned for the communication, decoded: the bytes the document must carry. */
async function outputs(id: string, data: Record<string, unknown>): Promise<Map<string, Buffer>> {
  const x = connect(fake).exstream!;
  const lookup = await x.design.driverLookup(id);
  const s = snapshot(data);
  const out = await x.ondemand.generate({
    communicationId: id,
    driverDataSource: lookup!.driverDataSource,
    driver: { customer: s.customer, data: s.data, case: null, issuedAt: s.issuedAt },
  });
  return new Map(out.map((o) => [o.mimeType, o.content]));
}

test.each<[Channel, string, string, string]>([
  ['PRINT', 'tpl_rate_change_notice', 'application/pdf', 'document.pdf'],
  ['EMAIL', 'tpl_rate_change_notice', 'text/html', 'body.html'],
  ['WEB', 'tpl_rate_change_notice', 'text/html', 'index.html'],
  ['MOBILE', 'tpl_rate_change_notice', 'text/plain', 'sms.txt'],
])(
  '%s: communication %s, its %s output as %s, byte for byte, hashed with SHA-256',
  async (channel, id, mime, part) => {
    const data = template(id).sampleData as Record<string, unknown>;
    const result = await renderer().render(version(id), channel, snapshot(data));
    const expected = (await outputs(id, data)).get(mime);
    expect(expected).toBeDefined();
    expect(result.mediaType).toBe(mime);
    const body = result.parts.find((p) => p.name === part)!.body;
    expect(body.equals(expected!)).toBe(true);
    expect(result.contentHash).toBe(sha256(expected!));
  },
);

test('EMAIL: the subject is the communication name unless the data carries one; a text part is derived', async () => {
  const id = 'tpl_rate_change_notice';
  const data = template(id).sampleData as Record<string, unknown>;
  const plain = await renderer().render(version(id), 'EMAIL', snapshot(data));
  expect(plain.parts.map((p) => p.name).sort()).toEqual(['body.html', 'body.txt', 'subject.txt']);
  expect(plain.parts.find((p) => p.name === 'subject.txt')!.body.toString()).toBe(template(id).name);
  expect(plain.parts.find((p) => p.name === 'body.txt')!.body.toString()).not.toMatch(/<[a-z]/i);
  const own = await renderer().render(version(id), 'EMAIL', snapshot({ ...data, subject: 'Your new rate' }));
  expect(own.parts.find((p) => p.name === 'subject.txt')!.body.toString()).toBe('Your new rate');
});

test('WEB without an HTML output takes the PDF', async () => {
  fake.design.addCommunication({
    id: 'pdf_only',
    name: 'PDF only',
    content: 'x',
    state: 'APPROVED',
    queues: [{ driver: 'PDF', name: 'PDF' }],
    driverDsn: 'pdf_only_driver',
  });
  const result = await renderer().render(
    { ...version('tpl_rate_change_notice'), templateId: 'pdf_only' },
    'WEB',
    snapshot({}),
  );
  expect(result.mediaType).toBe('application/pdf');
  expect(result.parts.map((p) => p.name)).toEqual(['document.pdf']);
  // And MOBILE, which needs text, is a template error naming what the communication gave.
  await expect(
    renderer().render(
      { ...version('tpl_rate_change_notice'), templateId: 'pdf_only' },
      'MOBILE',
      snapshot({}),
    ),
  ).rejects.toThrow(/no text\/plain output for MOBILE \(it gave application\/pdf\)/);
});

test('Exstream’s answers map to the engine’s errors: missing data, template error, unknown communication, outage', async () => {
  const id = 'tpl_rate_change_notice';
  const r = renderer(4, { OPENTEXT_BREAKER_THRESHOLD: '1000' });
  const missing = await r.render(version(id), 'EMAIL', snapshot({})).catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(MissingDataError);
  expect((missing as Error).message).toContain('Driver data is missing or invalid');

  fake.ondemand.setTemplateError(id, 'Unresolved variable RATE in section 2');
  const data = template(id).sampleData as Record<string, unknown>;
  const broken = await r.render(version(id), 'EMAIL', snapshot(data)).catch((e: unknown) => e);
  expect(broken).toBeInstanceOf(TemplateError);
  expect((broken as Error).message).toContain('Unresolved variable RATE in section 2');
  fake.ondemand.setTemplateError(id, null);

  const unknown = await r
    .render({ ...version(id), templateId: 'no_such_communication' }, 'EMAIL', snapshot(data))
    .catch((e: unknown) => e);
  expect(unknown).toBeInstanceOf(TemplateError);

  const stop = fake.faults.add({ path: GENERATE, method: 'POST', kind: 'status', status: 503 });
  const down = await r.render(version(id), 'EMAIL', snapshot(data)).catch((e: unknown) => e);
  expect(down).toBeInstanceOf(RenderUnavailableError);
  stop();
  const reset = fake.faults.add({ path: GENERATE, method: 'POST', kind: 'reset', times: 1 });
  expect(await r.render(version(id), 'EMAIL', snapshot(data)).catch((e: unknown) => e)).toBeInstanceOf(
    RenderUnavailableError,
  );
  reset();
});

test('no more on-demand calls at once than the concurrency allows', async () => {
  const id = 'tpl_rate_change_notice';
  const data = template(id).sampleData as Record<string, unknown>;
  // Each call takes a while, so calls that may overlap do.
  fake.faults.add({ path: GENERATE, method: 'POST', kind: 'slow', delayMs: 100 });
  const r = renderer(2);
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) => r.render(version(id), 'EMAIL', snapshot({ ...data, n: i }))),
  );
  expect(results).toHaveLength(6);
  expect(fake.served(GENERATE, 'POST')).toBe(6);
  expect(fake.peakConcurrent(GENERATE, 'POST')).toBe(2);
});
