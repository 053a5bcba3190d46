import fs from 'node:fs';

/**
 * A process's CPU time (user + system) so far, in ms, from /proc/<pid>/stat (Linux; null elsewhere
 * or once the process is gone): what a piece of work costs whatever else the machine runs, where
 * the wall time also counts the waits for a core. Fields after the command name (which may hold
 * spaces): utime and stime are the 12th and 13th, in clock ticks of USER_HZ, 100 on every Linux
 * this runs on.
 */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    return cpuMsOfStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** utime + stime of a /proc/.../stat line, in ms (see `processCpuMs`). */
function cpuMsOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** What a thread of this process does, by the name the runtime gives it. */
export type ThreadRole = 'main' | 'worker threads' | 'V8 helpers' | 'other';

function roleOf(tid: number, name: string): ThreadRole {
  if (tid === process.pid) return 'main';
  // Node names its worker_threads "WorkerThread" (the render pool here) and V8's platform threads
  // (concurrent marking and sweeping, background compilation) "V8Worker"; the rest are libuv's
  // pool, the inspector and the like.
  if (name === 'WorkerThread') return 'worker threads';
  if (name === 'V8Worker') return 'V8 helpers';
  return 'other';
}

/**
 * This process's CPU time so far by thread role, in ms, from /proc/self/task (Linux; null
 * elsewhere). A thread that ended between two readings drops out of the later one, so compare
 * readings taken while the threads of interest run.
 */
export function threadCpuMs(): Map<number, { role: ThreadRole; ms: number }> | null {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${process.pid}/task`);
  } catch {
    return null;
  }
  const out = new Map<number, { role: ThreadRole; ms: number }>();
  for (const t of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${process.pid}/task/${t}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      out.set(Number(t), {
        role: roleOf(Number(t), name),
        ms: cpuMsOfStat(stat),
      });
    } catch {
      // The thread ended while we read.
    }
  }
  return out;
}

/** CPU ms by role between two `threadCpuMs` readings (threads new since the first count from 0). */
export function threadCpuSince(
  before: Map<number, { role: ThreadRole; ms: number }>,
  after: Map<number, { role: ThreadRole; ms: number }>,
): Map<ThreadRole, number> {
  const byRole = new Map<ThreadRole, number>();
  for (const [tid, t] of after)
    byRole.set(t.role, (byRole.get(t.role) ?? 0) + t.ms - (before.get(tid)?.ms ?? 0));
  return byRole;
}
