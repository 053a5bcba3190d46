import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTokenCli } from '../../../src/bin/token.js';
import { createDevVerifier, loadOrCreateDevKey } from '../../../src/identity/index.js';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cg-token-cli-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTokenCli(
    argv,
    { DATA_DIR: path.join(dir, 'data'), ...env },
    {
      stdout: (l) => out.push(l),
      stderr: (l) => err.push(l),
    },
  );
  return { code, out, err };
}

describe('token CLI', () => {
  it('prints exactly one line, a token the server (same DATA_DIR) accepts', async () => {
    const { code, out, err } = await run(['--sub', 'alice', '--roles', 'requester,approver']);
    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    // The key was created by the CLI; a server starting later loads the same one.
    const key = await loadOrCreateDevKey(path.join(dir, 'data'));
    const verifier = createDevVerifier(key, {
      issuer: 'commsgraph-dev',
      audience: 'commsgraph',
      rolesClaim: 'roles',
    });
    await expect(verifier.verify(out[0]!)).resolves.toMatchObject({
      sub: 'alice',
      roles: ['requester', 'approver'],
    });
  });

  it('uses AUTH_* settings and --ttl', async () => {
    const env = { AUTH_ISSUER: 'iss-x', AUTH_AUDIENCE: 'aud-x', AUTH_ROLES_CLAIM: 'grp' };
    const before = Math.floor(Date.now() / 1000);
    const { code, out } = await run(['--sub', 'svc', '--roles', ' service ', '--ttl', '300'], env);
    expect(code).toBe(0);
    const key = await loadOrCreateDevKey(path.join(dir, 'data'));
    const p = await createDevVerifier(key, { issuer: 'iss-x', audience: 'aud-x', rolesClaim: 'grp' }).verify(
      out[0]!,
    );
    expect(p).toMatchObject({ sub: 'svc', roles: ['service'] });
    expect(p.exp! - before).toBeGreaterThanOrEqual(300);
    expect(p.exp! - before).toBeLessThanOrEqual(302);
  });

  it('allows a token with no roles', async () => {
    const { code, out } = await run(['--sub', 'nobody']);
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
  });

  it.each([
    ['an unknown role', ['--sub', 'a', '--roles', 'approver,wizard'], /wizard/],
    ['no --sub', ['--roles', 'approver'], /--sub/],
    ['an empty --sub', ['--sub', ' '], /--sub/],
    ['a bad --ttl', ['--sub', 'a', '--ttl', '-5'], /--ttl/],
    ['a fractional --ttl', ['--sub', 'a', '--ttl', '1.5'], /--ttl/],
    ['an unknown option', ['--sub', 'a', '--role', 'approver'], /--role/],
    ['a positional argument', ['--sub', 'a', 'extra'], /extra/],
  ])('exits 2 with a message on stderr and nothing on stdout for %s', async (_label, argv, message) => {
    const { code, out, err } = await run(argv);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err.join('\n')).toMatch(message);
  });

  it.each([
    ['NODE_ENV=production', { NODE_ENV: 'production' }, /NODE_ENV=production/],
    ['AUTH_MODE=jwks', { AUTH_MODE: 'jwks' }, /AUTH_MODE=jwks/],
  ])('refuses with exit 2, no token and no key under %s', async (_label, env, message) => {
    const { code, out, err } = await run(['--sub', 'alice', '--roles', 'admin'], env);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err.join('\n')).toMatch(message);
    expect(err.join('\n')).toMatch(/identity provider/);
    // Nothing signed, nothing written: no dev key appears in a production data directory.
    await expect(fs.access(path.join(dir, 'data'))).rejects.toThrow();
  });

  it('does not create a key when the arguments are wrong', async () => {
    await run(['--roles', 'approver']);
    await expect(fs.access(path.join(dir, 'data'))).rejects.toThrow();
  });
});
