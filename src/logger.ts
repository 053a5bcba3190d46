/**
 * A small structured logger: one JSON line per entry on stderr, so logs of
 * several processes can be told apart and parsed. Errors are logged in full
 * (stack included) here and never sent to clients.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

let threshold: number = ORDER[(process.env.LOG_LEVEL as Level | 'silent') ?? 'info'] ?? ORDER.info;
let processName = process.env.PROCESS_NAME ?? 'commsgraph';

export function configureLogger(opts: { level?: Level | 'silent'; name?: string }): void {
  if (opts.level) threshold = ORDER[opts.level];
  if (opts.name) processName = opts.name;
}

function serialise(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message, stack: v.stack, cause: v.cause } : v;
  }
  return out;
}

function write(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < threshold) return;
  process.stderr.write(
    JSON.stringify({ t: new Date().toISOString(), level, proc: processName, msg, ...serialise(fields) }) +
      '\n',
  );
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
};
