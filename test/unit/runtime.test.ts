import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The suite proves the product on the Node.js that package.json requires, and the
 * processes the tests start (`npm start`, `node dist/...`) run on that same Node:
 * npm puts node_modules/.bin, with the pinned `node`, first on PATH for `npm test`.
 * Run on the machine's older Node (jest started without npm), these fail first.
 */
const ROOT = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
};

function parts(version: string): number[] {
  return version
    .replace(/^v/, '')
    .split('.')
    .map((n) => Number(n));
}

test('the tests run on a Node.js that package.json engines accepts', () => {
  const range = /^>=(\d+(?:\.\d+){0,2})$/.exec(manifest.engines.node);
  expect(range).not.toBeNull();
  const [major = 0, minor = 0, patch = 0] = parts(process.version);
  const [wantMajor = 0, wantMinor = 0, wantPatch = 0] = parts(range![1]!);
  expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(
    wantMajor * 1e6 + wantMinor * 1e3 + wantPatch,
  );
});

test('the `node` on PATH, which npm scripts and spawned servers use, is the Node running the tests', () => {
  const onPath = execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim();
  expect(onPath).toBe(process.version);
});
