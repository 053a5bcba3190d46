import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The prestart script is CommonJS without types: it runs before anything is built.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { staleness } = require('../../../scripts/ensure-built.cjs') as {
  staleness: (root: string) => string | null;
};

/** `npm start` rebuilds only when a source is newer than the last complete build. */
describe('npm start builds only when it must', () => {
  let root: string;
  const at = (file: string, seconds: number) => {
    const p = path.join(root, file);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (!fs.existsSync(p)) fs.writeFileSync(p, '');
    fs.utimesSync(p, seconds, seconds);
    // A new file also changes its directory's time; keep the directories old.
    for (let d = path.dirname(p); d.startsWith(root) && d !== root; d = path.dirname(d))
      fs.utimesSync(d, 1, 1);
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ensure-built-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('builds when there was never a complete build', () => {
    at('src/main.ts', 1_000);
    expect(staleness(root)).toBe('there is no complete build yet');
  });

  it('starts at once when the build is newer than every source', () => {
    at('src/main.ts', 1_000);
    at('src/gateway/serve.ts', 1_500);
    at('tsconfig.json', 900);
    at('dist/.build-stamp', 2_000);
    expect(staleness(root)).toBeNull();
  });

  it('rebuilds after a source changed, naming what changed', () => {
    at('src/main.ts', 1_000);
    at('dist/.build-stamp', 2_000);
    at('src/gateway/serve.ts', 3_000);
    expect(staleness(root)).toBe('src changed since the last build');
  });

  it('rebuilds after the dependencies changed', () => {
    at('src/main.ts', 1_000);
    at('dist/.build-stamp', 2_000);
    at('package-lock.json', 3_000);
    expect(staleness(root)).toBe('package-lock.json changed since the last build');
  });
});
