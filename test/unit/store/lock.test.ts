import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireLock, DataDirLockedError } from '../../../src/store/db.js';

/** One process per data directory: a second would corrupt PGlite's files. */
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a directory held by a live process is refused, naming that process', async () => {
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  try {
    fs.writeFileSync(path.join(dir, '.lock'), String(other.pid));
    expect(() => acquireLock(dir)).toThrow(DataDirLockedError);
    expect(() => acquireLock(dir)).toThrow(new RegExp(`in use by process ${other.pid}`));
  } finally {
    other.kill();
  }
});

test('a stale lock of a dead process is taken over, and release removes it', async () => {
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => dead.once('exit', r));
  fs.writeFileSync(path.join(dir, '.lock'), String(dead.pid));
  const release = acquireLock(dir);
  expect(fs.readFileSync(path.join(dir, '.lock'), 'utf8')).toBe(String(process.pid));
  release();
  expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
});
