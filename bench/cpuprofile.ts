import fs from 'node:fs';

/**
 * Where a gateway's CPU went under load, from a profile `npm run bench:gateways` wrote with
 * BENCH_PROFILE_DIR: `node dist/bench/cpuprofile.js <file.cpuprofile> [top] [filter]`. A batch's
 * (`node --cpu-prof dist/bench/batch.js`): PROFILE_WINDOW=processRecordsTraced.
 *
 * Only the part of the profile that served operations is counted: from the first to the last
 * sample with a GraphQL execution on its stack (a frame named executeFields: graphql-js and
 * @graphql-tools/executor both have one), idle samples left out, so start-up and the other
 * targets' turns do not dilute the shares. Prints self and inclusive time by package (ours by
 * folder under dist/src) and by function; `filter` (a regular expression) keeps the rows it
 * matches. The profiler samples the thread's stack on a timer, so on a busy machine a system call
 * the process waited in (a socket write) counts for the time it waited: compare shares from one
 * machine state, and take CPU time per request from the bench's own column.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string): string {
  if (!url) return '(native)';
  const modules = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/g);
  if (modules) return modules[modules.length - 1]!.replace('node_modules/', '');
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const ours = url.match(/dist\/(src\/[^/]+(\/[^/.]+)?)/);
  if (ours) return `ours:${ours[1]}`;
  return url.slice(-50);
}

export function summarizeProfile(
  profile: Profile,
  top: number,
  filter: RegExp | null,
  /** The function whose samples bound the window counted (a batch's: processRecordsTraced). */
  windowFunction = 'executeFields',
): string[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const underExecution = new Map<number, boolean>();
  const executing = (id: number): boolean => {
    const known = underExecution.get(id);
    if (known !== undefined) return known;
    const up = parent.get(id);
    const r = nodes.get(id)!.callFrame.functionName === windowFunction || (up !== undefined && executing(up));
    underExecution.set(id, r);
    return r;
  };
  let first = -1;
  let last = -1;
  profile.samples.forEach((id, i) => {
    if (!executing(id)) return;
    if (first < 0) first = i;
    last = i;
  });
  const timeOf = new Map<number, number>();
  let wall = 0;
  for (let i = Math.max(first, 0); i <= last; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    wall += delta;
    const id = profile.samples[i]!;
    if (nodes.get(id)!.callFrame.functionName === '(idle)') continue;
    timeOf.set(id, (timeOf.get(id) ?? 0) + delta);
  }
  const total = [...timeOf.values()].reduce((a, b) => a + b, 0);
  const frameKey = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${packageOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const tables = {
    selfByPackage: new Map<string, number>(),
    inclusiveByPackage: new Map<string, number>(),
    selfByFunction: new Map<string, number>(),
    inclusiveByFunction: new Map<string, number>(),
  };
  const add = (m: Map<string, number>, k: string, t: number) => m.set(k, (m.get(k) ?? 0) + t);
  for (const [id, t] of timeOf) {
    const leaf = nodes.get(id)!;
    add(tables.selfByFunction, frameKey(leaf), t);
    add(
      tables.selfByPackage,
      leaf.callFrame.url ? packageOf(leaf.callFrame.url) : leaf.callFrame.functionName,
      t,
    );
    // Inclusive: each function and package once per sample, however often it recurs on the stack.
    const functions = new Set<string>();
    const packages = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = nodes.get(cur)!;
      functions.add(frameKey(n));
      if (n.callFrame.url) packages.add(packageOf(n.callFrame.url));
    }
    for (const f of functions) add(tables.inclusiveByFunction, f, t);
    for (const p of packages) add(tables.inclusiveByPackage, p, t);
  }
  const lines = [
    `${(wall / 1e6).toFixed(1)} s of wall time with operations served, ${(total / 1e3).toFixed(0)} ms of it not idle`,
  ];
  for (const [title, m] of Object.entries(tables)) {
    lines.push('', title);
    for (const [k, t] of [...m]
      .filter(([key]) => !filter || filter.test(key))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top))
      lines.push(
        `${((100 * t) / total).toFixed(1).padStart(6)} %  ${(t / 1e3).toFixed(0).padStart(7)} ms  ${k}`,
      );
  }
  return lines;
}

if (require.main === module) {
  const [file, top, filter] = process.argv.slice(2);
  if (!file) {
    console.error(
      'usage: [PROFILE_WINDOW=<function>] node dist/bench/cpuprofile.js <file.cpuprofile> [top rows] [filter regexp]',
    );
    process.exit(2);
  }
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const window = process.env.PROFILE_WINDOW ?? 'executeFields';
  console.log(
    summarizeProfile(profile, Number(top ?? 40), filter ? new RegExp(filter) : null, window).join('\n'),
  );
}
