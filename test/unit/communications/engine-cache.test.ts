import { createRenderer } from '../../../src/datasources/communications/engine/index.js';
import { demoVersion, LUKASZ, snapshot } from './fixtures.js';

// Counts calls to mjml while keeping its real behaviour.
jest.mock('mjml', () => {
  const actual = jest.requireActual<(...args: unknown[]) => unknown>('mjml');
  return jest.fn((...args: unknown[]) => actual(...args));
});
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the mocked module, to read its call count
const mjml = require('mjml') as jest.Mock;

const DATA = { amount: 10, currency: 'EUR' };

describe('compilation cache', () => {
  beforeEach(() => mjml.mockClear());

  it("compiles a version's MJML once, however many documents and concurrent renders use it", async () => {
    const renderer = createRenderer();
    const version = demoVersion('ver_cache_1');
    await Promise.all(
      Array.from({ length: 5 }, () => renderer.render(version, 'EMAIL', snapshot(LUKASZ, DATA))),
    );
    for (const name of ['A', 'B', 'C']) {
      await renderer.render(version, 'EMAIL', snapshot({ ...LUKASZ, name }, DATA));
    }
    expect(mjml).toHaveBeenCalledTimes(1);
  });

  it('compiles again for another version, or for a draft edited under the same id', async () => {
    const renderer = createRenderer();
    await renderer.render(demoVersion('ver_cache_2'), 'EMAIL', snapshot(LUKASZ, DATA));
    await renderer.render(demoVersion('ver_cache_3'), 'EMAIL', snapshot(LUKASZ, DATA));
    const edited = demoVersion('ver_cache_2', {
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Edited {{customer.name}}</mj-text></mj-column></mj-section></mj-body></mjml>',
    });
    const result = await renderer.render(edited, 'EMAIL', snapshot(LUKASZ, DATA));
    expect(result.parts.find((p) => p.name === 'body.html')!.body.toString()).toContain('Edited Łukasz Żółć');
    expect(mjml).toHaveBeenCalledTimes(3);
  });

  it('reports a broken MJML every time without compiling it again', async () => {
    const renderer = createRenderer();
    const bad = demoVersion('ver_cache_bad', { mjml: '<mjml><mj-body><mj-nope /></mj-body></mjml>' });
    for (let i = 0; i < 3; i++) {
      await expect(renderer.render(bad, 'EMAIL', snapshot(LUKASZ, DATA))).rejects.toThrow(/mj-nope/);
    }
    expect(mjml).toHaveBeenCalledTimes(1);
  });
});
