import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * test/generated is what `npm run codegen` makes from the committed API
 * schema and test/operations: this regenerates into a temporary folder with
 * the project's own codegen.yml (only the output folder changed) and compares.
 */
const ROOT = path.resolve(__dirname, '../../..');

test('the generated typed documents are up to date', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'codegen-'));
  try {
    const config = fs
      .readFileSync(path.join(ROOT, 'codegen.yml'), 'utf8')
      .replace('test/generated/:', `${out}/:`);
    expect(config).toContain(out);
    const configFile = path.join(out, 'codegen.yml');
    fs.writeFileSync(configFile, config);
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', configFile, '--silent'],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
    const committed = path.join(ROOT, 'test/generated');
    const names = fs.readdirSync(committed).sort();
    expect(
      fs
        .readdirSync(out)
        .filter((n) => n !== 'codegen.yml')
        .sort(),
    ).toEqual(names);
    for (const name of names) {
      expect({ name, text: fs.readFileSync(path.join(committed, name), 'utf8') }).toEqual({
        name,
        text: fs.readFileSync(path.join(out, name), 'utf8'),
      });
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
