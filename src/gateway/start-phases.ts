/**
 * Where a start's time goes (issue 13, item 4: a restart reaches /readyz in 3 s). Each phase is
 * the milliseconds since the previous mark; `bench/start.ts` reads them from the start log.
 */
export interface StartTimings {
  /** Milliseconds from the process's start (performance's time origin) to listening. */
  readonly startMs: number;
  /** Milliseconds per phase, in the order they ran; `node` and `modules` come before `main()`. */
  readonly phases: Readonly<Record<string, number>>;
}

const round = (ms: number) => Math.round(ms);

export class StartPhases {
  private readonly phases: Record<string, number> = {};
  private last: number;

  constructor() {
    // Node's own bootstrap, then loading the modules main.js imports (all before main() runs).
    const bootstrap = performance.nodeTiming.bootstrapComplete;
    this.last = performance.now();
    this.phases.node = round(bootstrap);
    this.phases.modules = round(this.last - bootstrap);
  }

  /** Ends the phase called `name` now. */
  mark(name: string): void {
    const now = performance.now();
    this.phases[name] = round((this.phases[name] ?? 0) + now - this.last);
    this.last = now;
  }

  done(): StartTimings {
    return { startMs: round(performance.now()), phases: { ...this.phases } };
  }
}
