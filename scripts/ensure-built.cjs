#!/usr/bin/env node
/**
 * `npm start`'s prestart: the server runs from the built output (dist/), which `npm ci` already
 * made (the `prepare` script). This rebuilds only when a source the build reads is newer than the
 * last build, so a start after `npm ci` begins at once and a start after an edit still runs the
 * edit. `npm run build` rebuilds by hand.
 *
 *   node scripts/ensure-built.cjs          build if stale, else nothing
 *   node scripts/ensure-built.cjs --stamp  record that a build just finished (the build script's last step)
 *
 * CommonJS and no dependencies: it runs before anything is built.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
/** Written after a build completed; its time is the build's. */
const STAMP = path.join('dist', '.build-stamp');
/** What the build reads: tsconfig.build.json's `include`, its configs, and the explorer's packages. */
const SOURCES = [
  'src',
  'bench',
  'test/support/opentext',
  'tsconfig.json',
  'tsconfig.build.json',
  'package-lock.json',
];

/** The newest modification time under `p` (0 when it does not exist). */
function newest(p) {
  let stat;
  try {
    stat = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs; // a deleted file changes its directory's time
  for (const entry of fs.readdirSync(p)) max = Math.max(max, newest(path.join(p, entry)));
  return max;
}

/** Why a build is needed in `root`, or null when dist/ is up to date. */
function staleness(root) {
  let built;
  try {
    built = fs.statSync(path.join(root, STAMP)).mtimeMs;
  } catch {
    return 'there is no complete build yet';
  }
  for (const source of SOURCES) {
    if (newest(path.join(root, source)) > built) return `${source} changed since the last build`;
  }
  return null;
}

function main(argv) {
  if (argv.includes('--stamp')) {
    fs.mkdirSync(path.join(ROOT, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, STAMP), `${new Date().toISOString()}\n`);
    return 0;
  }
  const why = staleness(ROOT);
  if (!why) return 0;
  process.stderr.write(`Building first: ${why} (npm run build)\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  return r.status ?? 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
module.exports = { staleness, newest, SOURCES, STAMP };
