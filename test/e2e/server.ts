import { spawn, execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);

export interface RunningProduct {
  url: string;
  proc: ChildProcess;
  logs: string[];
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `npm start` as a user runs it, on a free port and the given DATA_DIR, in its
 * own process group: a terminal's Ctrl-C or a container stop signals the
 * whole group, and npm itself does not pass SIGTERM on to the server.
 */
export function npmStart(dataDir: string, env: Record<string, string> = {}): Promise<RunningProduct> {
  return launch('npm', ['start', '--silent'], dataDir, env);
}

let built: Promise<unknown> | null = null;
/** The compiled output the direct launches run (and the explorer's bundle): built once per test file, as `npm start` would. */
export function ensureBuilt(): Promise<unknown> {
  return (built ??= run('npm', ['run', '--silent', 'build'], { cwd: ROOT }));
}

/** What `npm start` runs after building: the server process itself, whose exit code we can read. */
export async function nodeStart(dataDir: string, env: Record<string, string> = {}): Promise<RunningProduct> {
  await ensureBuilt();
  return launch(process.execPath, [path.join(ROOT, 'dist/src/main.js')], dataDir, env);
}

/** One `npm run subgraph -- <name>` service (its compiled command). */
export async function subgraphStart(
  name: string,
  dataDir: string,
  env: Record<string, string>,
): Promise<RunningProduct> {
  await ensureBuilt();
  return launch(
    process.execPath,
    [path.join(ROOT, 'dist/src/bin/subgraph.js'), name],
    dataDir,
    env,
    `subgraph ${name} listening`,
  );
}

/** `npm run worker` (its compiled command): batch workers as their own process. */
export async function workerStart(dataDir: string, env: Record<string, string>): Promise<RunningProduct> {
  await ensureBuilt();
  return launch(
    process.execPath,
    [path.join(ROOT, 'dist/src/bin/worker.js')],
    dataDir,
    env,
    'worker running',
  );
}

async function launch(
  cmd: string,
  args: string[],
  dataDir: string,
  env: Record<string, string>,
  /** The `msg` of the log line that says the process is up; its `url` field, if any, is the URL. */
  listening = 'gateway listening',
): Promise<RunningProduct> {
  const proc = spawn(cmd, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      DELIVERY_STEP_MS: '50',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('')}`)), 120_000);
    // Log lines are JSON, one per line (src/logger.ts); a chunk may end mid-line.
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      logs.push(text);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const entry = parseLogLine(line);
        if (entry?.msg === listening) {
          clearTimeout(timer);
          resolve(typeof entry.url === 'string' ? entry.url : '');
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${logs.join('')}`));
    });
  });
  return {
    url,
    proc,
    logs,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      process.kill(-proc.pid!, 'SIGTERM');
      return exited;
    },
  };
}

/** One log line as its fields (src/logger.ts writes JSON lines); null for anything else. */
export function parseLogLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Every JSON log line a process wrote so far. */
export function logEntries(p: Pick<RunningProduct, 'logs'>): Record<string, unknown>[] {
  return p.logs
    .join('')
    .split('\n')
    .map(parseLogLine)
    .filter((e): e is Record<string, unknown> => e !== null);
}

/** `npm run --silent token -- --sub NAME --roles R1,R2`, exactly as the README says. */
export async function npmToken(dataDir: string, sub: string, roles: string[]): Promise<string> {
  const { stdout } = await run(
    'npm',
    ['run', '--silent', 'token', '--', '--sub', sub, '--roles', roles.join(',')],
    {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir },
    },
  );
  const lines = stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`token printed ${lines.length} lines: ${stdout}`);
  return lines[0]!;
}
