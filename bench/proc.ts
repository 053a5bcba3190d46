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
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}
