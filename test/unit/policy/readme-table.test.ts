import fs from 'node:fs';
import path from 'node:path';
import { policyTables } from '../../../src/policy/table.js';

/**
 * The README's role matrix is generated from src/policy. Prettier pads the
 * table's cells when it formats the README, so the comparison ignores runs of
 * spaces and dashes, and nothing else.
 */
const normalise = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim().replace(/ +/g, ' ').replace(/-{3,}/g, '---'))
    .filter(Boolean)
    .join('\n');

test('the README shows the role × operation matrix the policy enforces', () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');
  const start = readme.indexOf('<!-- policy-table:start');
  const end = readme.indexOf('<!-- policy-table:end -->');
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(readme.indexOf('-->', start) + 3, end);
  // Regenerate with `npm run --silent policy:table -- --write` when this fails.
  expect(normalise(section)).toBe(normalise(policyTables()));
});
