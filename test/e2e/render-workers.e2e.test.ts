import path from 'node:path';
import * as source from '../../src/datasources/communications/engine/index.js';
import { demoVersion, LUKASZ, MARGARET, STEFAN, snapshot } from '../unit/communications/fixtures.js';
import { ensureBuilt } from './server.js';

/**
 * The render pool as `npm start` runs it: from the compiled build, where the worker thread's
 * entry exists (under ts-jest the sources render in-thread). Its bytes are compared with the
 * TypeScript sources' in-thread renderer, which the unit tests pin down.
 */
type Engine = typeof source;
const ROOT = path.resolve(__dirname, '../..');
let built: Engine;
let pool: source.RenderPool;
const DATA = { amount: 1234.5, currency: 'EUR' };

beforeAll(async () => {
  await ensureBuilt();
  // The compiled module, as the product loads it (CommonJS); its __dirname holds render-worker.js.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path known only at run time, loaded as Node loads the build
  built = require(path.join(ROOT, 'dist/src/datasources/communications/engine/index.js')) as Engine;
  pool = built.createRenderPool({ size: 2 });
}, 180_000);

afterAll(() => pool?.close());

it('renders on worker threads', () => {
  expect(pool.mode).toBe('workers');
});

it('gives the same bytes and content hashes as an in-thread render, on every channel', async () => {
  const inThread = source.createRenderer();
  const version = demoVersion('ver_workers', {
    print: { ...demoVersion().content.print!, title: 'Zażółć gęślą jaźń — Ștefan €' },
  });
  const cases: Array<[source.Channel, source.RenderSnapshot]> = [
    ['PRINT', snapshot(LUKASZ, DATA)],
    ['PRINT', snapshot(STEFAN, DATA)],
    ['PRINT', snapshot(MARGARET, DATA)],
    ['EMAIL', snapshot(LUKASZ, DATA)],
    ['WEB', snapshot(STEFAN, DATA)],
    ['MOBILE', snapshot(MARGARET, DATA)],
  ];
  // All at once: the two workers interleave documents, and each must still match.
  const fromWorkers = await Promise.all(cases.map(([channel, snap]) => pool.render(version, channel, snap)));
  for (const [i, [channel, snap]] of cases.entries()) {
    const expected = await inThread.render(version, channel, snap);
    const actual = fromWorkers[i];
    expect(actual.mediaType).toBe(expected.mediaType);
    expect(actual.contentHash).toBe(expected.contentHash);
    expect(actual.parts.map((p) => [p.name, p.mediaType])).toEqual(
      expected.parts.map((p) => [p.name, p.mediaType]),
    );
    for (const [j, part] of actual.parts.entries()) {
      expect(Buffer.isBuffer(part.body)).toBe(true);
      expect(part.body.equals(expected.parts[j].body)).toBe(true);
    }
    expect(built.contentHashOf(actual.parts)).toBe(actual.contentHash);
  }
});

it('does not depend on what a worker rendered before', async () => {
  const one = built.createRenderPool({ size: 1 });
  try {
    const plain = demoVersion('ver_plain', {
      print: { ...demoVersion().content.print!, title: 'Zebra Zulu' },
    });
    const accented = demoVersion('ver_accented', {
      print: { ...demoVersion().content.print!, title: 'Żółć Źdźbło Ăă Ș' },
    });
    const snap = snapshot(MARGARET, DATA);
    const before = await one.render(plain, 'PRINT', snap);
    await one.render(accented, 'PRINT', snap);
    const after = await one.render(plain, 'PRINT', snap);
    expect(after.parts[0].body.equals(before.parts[0].body)).toBe(true);
  } finally {
    await one.close();
  }
});

it('throws the same exception kinds as an in-thread render', async () => {
  const missing = await pool
    .render(demoVersion(), 'PRINT', snapshot(LUKASZ, { amount: 'lots' }))
    .catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(built.MissingDataError);
  expect((missing as source.MissingDataError).missing).toEqual(
    expect.arrayContaining(['/currency', '/amount']),
  );
  expect((missing as Error).message).toContain('/currency is required');

  const bad = demoVersion('ver_bad_mjml', {
    mjml: '<mjml><mj-body><mj-sektion></mj-sektion></mj-body></mjml>',
  });
  const template = await pool.render(bad, 'EMAIL', snapshot(LUKASZ, DATA)).catch((e: unknown) => e);
  expect(template).toBeInstanceOf(built.TemplateError);
  expect((template as Error).message).toMatch(/mj-sektion/);

  const brand = await pool
    .render(demoVersion(), 'PRINT', snapshot({ ...LUKASZ, brand: 'constructor' }, DATA))
    .catch((e: unknown) => e);
  expect(brand).toBeInstanceOf(built.TemplateError);
});

it('finishes the renders in hand when closed, then refuses new ones', async () => {
  const closing = built.createRenderPool({ size: 1 });
  const inHand = closing.render(demoVersion(), 'PRINT', snapshot(LUKASZ, DATA));
  const closed = closing.close();
  const result = await inHand;
  expect(result.parts[0].body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  await closed;
  await expect(closing.render(demoVersion(), 'PRINT', snapshot(LUKASZ, DATA))).rejects.toThrow(/shut down/);
});
