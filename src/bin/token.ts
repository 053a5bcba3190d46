/**
 * Mints a development JWT:
 *
 *   npm run --silent token -- --sub NAME --roles R1,R2 [--ttl SECONDS]
 *
 * Prints exactly one line, the token, on stdout so it can be captured with
 * `TOKEN=$(npm run --silent token -- ...)`; everything else goes to stderr.
 * The signing key is created if absent, so a token made before the server's
 * first start is accepted by that server (both use DATA_DIR).
 *
 * Exit codes: 0 ok, 2 usage error or refused (NODE_ENV=production or
 * AUTH_MODE=jwks, where only the identity provider's tokens count), 1 anything else.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TTL_SEC, ROLES, isRole, loadOrCreateDevKey, signDevToken } from '../identity/index.js';
import type { Role } from '../identity/index.js';

const USAGE = `usage: token --sub NAME [--roles ROLE1,ROLE2] [--ttl SECONDS]
  roles: ${ROLES.join(', ')}
  ttl:   default ${DEFAULT_TTL_SEC} (12 hours)
  env:   DATA_DIR (./data), AUTH_ISSUER (commsgraph-dev), AUTH_AUDIENCE (commsgraph), AUTH_ROLES_CLAIM (roles)`;

export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

class UsageError extends Error {}

const OPTIONS = {
  sub: { type: 'string' },
  roles: { type: 'string' },
  ttl: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function readArgs(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // parseArgs throws TypeErrors with a readable message for unknown or malformed options.
    throw new UsageError((err as Error).message);
  }
}

function parse(argv: string[]): { sub: string; roles: Role[]; ttlSec: number } | 'help' {
  const values = readArgs(argv);
  if (values.help) return 'help';

  const sub = values.sub?.trim();
  if (!sub) throw new UsageError('--sub is required');

  // No --roles is allowed on purpose: an authenticated caller with no roles
  // is how FORBIDDEN paths are exercised by hand.
  const requested = (values.roles ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = requested.filter((r) => !isRole(r));
  if (unknown.length) throw new UsageError(`unknown role(s): ${unknown.join(', ')}`);
  const roles = requested.filter(isRole);

  let ttlSec = DEFAULT_TTL_SEC;
  if (values.ttl !== undefined) {
    ttlSec = Number(values.ttl);
    if (!/^\d+$/.test(values.ttl) || !Number.isSafeInteger(ttlSec) || ttlSec <= 0) {
      throw new UsageError('--ttl must be a positive whole number of seconds');
    }
  }
  return { sub, roles, ttlSec };
}

/** The whole CLI, minus process wiring, so tests can run it in-process. Resolves to the exit code. */
export async function runTokenCli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = {
    stdout: (l) => process.stdout.write(l + '\n'),
    stderr: (l) => process.stderr.write(l + '\n'),
  },
): Promise<number> {
  // Same resolution as src/config: production means jwks, and jwks never trusts the dev key, so a
  // token from here would only be refused. Say so plainly rather than print a useless token.
  if (env.NODE_ENV === 'production' || env.AUTH_MODE === 'jwks') {
    io.stderr(
      `token: refused: dev tokens are not accepted with ${env.NODE_ENV === 'production' ? 'NODE_ENV=production' : 'AUTH_MODE=jwks'}; get a token from your identity provider (AUTH_JWKS_URL)`,
    );
    return 2;
  }
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`token: ${err.message}`);
    io.stderr(USAGE);
    return 2;
  }
  if (args === 'help') {
    // Help goes to stderr too: stdout is reserved for a token.
    io.stderr(USAGE);
    return 0;
  }

  // Same defaults and resolution as src/config, so the CLI and the server
  // agree on the key file and the claims without either reading the other's
  // unrelated settings.
  const dataDir = path.resolve(env.DATA_DIR ?? './data');
  const opts = {
    issuer: env.AUTH_ISSUER ?? 'commsgraph-dev',
    audience: env.AUTH_AUDIENCE ?? 'commsgraph',
    rolesClaim: env.AUTH_ROLES_CLAIM ?? 'roles',
  };
  try {
    const key = await loadOrCreateDevKey(dataDir);
    const token = await signDevToken(key, args, opts);
    io.stdout(token);
    return 0;
  } catch (err) {
    io.stderr(`token: ${(err as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  runTokenCli(process.argv.slice(2)).then(
    (code) => {
      // exitCode rather than exit() so a piped stdout is flushed first.
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
