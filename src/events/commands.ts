import { sql, type Kysely, type Transaction } from 'kysely';
import type { SubgraphName } from '../config/index.js';
import { log } from '../logger.js';

/**
 * Durable work for another subgraph (generate the approved document, open an
 * exception case, ...), enqueued in the same transaction as the change that
 * asks for it and carried out after commit. A crash between commit and call
 * loses nothing: the command is still pending and runs again on start.
 * Handlers must be idempotent (they pass idempotency keys), because a command
 * can run more than once: after a crash, or after a lease expires.
 */
export type CommandHandler<P = Record<string, unknown>> = (payload: P) => Promise<void>;

/**
 * A relay's commands: command name → payload type. Payloads travel as JSON, so
 * each is a plain object of JSON values; the map is what makes `enqueue` and the
 * handler of one command agree on its payload.
 */
export type CommandMap<C> = { [K in keyof C]: object };

/** The handler of every command in a map, each typed by its payload. */
export type CommandHandlers<C extends CommandMap<C>> = { [K in keyof C]: CommandHandler<C[K]> };

export interface CommandRelayOptions {
  /** How long a claimed command is hidden from other relays while it runs. */
  leaseMs?: number;
  /** Poll interval when idle, in case a wake-up was missed (another process committed). */
  pollMs?: number;
  maxAttempts?: number;
}

export class CommandRelay<C extends CommandMap<C> = Record<string, Record<string, unknown>>> {
  private running = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  /** The live loop's command in hand (claimed, so hidden from `drain` by its lease). */
  private inHand: Promise<boolean> | null = null;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly db: Kysely<unknown>,
    private readonly source: SubgraphName,
    private readonly handlers: CommandHandlers<C>,
    opts: CommandRelayOptions = {},
  ) {
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.pollMs = opts.pollMs ?? 1_000;
    this.maxAttempts = opts.maxAttempts ?? 20;
  }

  /**
   * Enqueues a command; resolves to its id. With `delayMs` the command is a safety
   * net: the request that enqueued it does the work itself and then calls `finished`,
   * and the command runs only if that request never got there (a crash).
   */
  async enqueue<DB, K extends keyof C & string>(
    tx: Transaction<DB>,
    kind: K,
    payload: C[K],
    opts: { delayMs?: number } = {},
  ): Promise<string> {
    if (!this.handlers[kind]) throw new Error(`no handler for command ${kind}`);
    const { rows } = await sql<{ id: string }>`
      insert into ${sql.table(`${this.source}.commands`)} (kind, payload, next_attempt_at)
      values (${kind}, ${JSON.stringify(payload)}::jsonb, now() + ${`${opts.delayMs ?? 0} milliseconds`}::interval)
      returning id::text as id`.execute(tx);
    return rows[0]!.id;
  }

  /** Marks a command done whose work was done by other means (see `enqueue`'s delayMs). */
  async finished(id: string): Promise<void> {
    await sql`update ${sql.table(`${this.source}.commands`)} set done_at = now()
      where id = ${id} and done_at is null`.execute(this.db);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Process pending commands now (after a commit that enqueued one). */
  kick(): void {
    this.wake?.();
  }

  /** Finishes the command in hand, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  /**
   * Runs every due command, and waits for the one the live loop has in hand,
   * until none is due or running here; returns how many ran. For tests and
   * for draining on shutdown. A command not due yet (claimed elsewhere, or
   * waiting to retry) is left: `nextDue` says when it will be.
   */
  async drain(): Promise<number> {
    let ran = 0;
    for (;;) {
      const held = this.inHand;
      if (held) {
        // Its failure is the loop's to log; here it only matters that it is over.
        if (await held.catch(() => true)) ran++;
        continue;
      }
      if (!(await this.runOne())) return ran;
      ran++;
    }
  }

  /**
   * When the next command that has not failed is due (now, or when the lease
   * of a relay that claimed it runs out), or null when none is left. A command
   * waiting to retry after a failure is left out: its cause (an upstream that
   * is down, content changed behind an approval) may outlast any wait.
   */
  async nextDue(): Promise<Date | null> {
    const { rows } = await sql<{ due: Date | null }>`
      select min(next_attempt_at) as due from ${sql.table(`${this.source}.commands`)}
      where done_at is null and attempts < ${this.maxAttempts} and last_error is null`.execute(this.db);
    const due = rows[0]?.due;
    return due ? new Date(due) : null;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let worked = false;
      try {
        this.inHand = this.runOne();
        worked = await this.inHand;
      } catch (err) {
        log.error('command relay failed', { source: this.source, err });
      } finally {
        this.inHand = null;
      }
      if (worked || this.stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async runOne(): Promise<boolean> {
    const table = sql.table(`${this.source}.commands`);
    const { rows } = await sql<{
      id: string;
      kind: keyof C & string;
      // What `enqueue` stored for this kind, typed by the same map.
      payload: C[keyof C];
      attempts: number;
    }>`
      update ${table} set next_attempt_at = now() + ${`${this.leaseMs} milliseconds`}::interval,
        attempts = attempts + 1
      where id = (
        select id from ${table}
        where done_at is null and next_attempt_at <= now() and attempts < ${this.maxAttempts}
        order by id limit 1 for update skip locked)
      returning id, kind, payload, attempts`.execute(this.db);
    const cmd = rows[0];
    if (!cmd) return false;
    // A stored kind may have no handler here (written by another version): checked below.
    const handler = this.handlers[cmd.kind] as CommandHandler<C[keyof C]> | undefined;
    try {
      if (!handler) throw new Error(`no handler for command ${cmd.kind}`);
      await handler(cmd.payload);
      await sql`update ${table} set done_at = now(), last_error = null where id = ${cmd.id}`.execute(this.db);
    } catch (err) {
      // Exponential backoff, capped at a minute; the lease already hides it until then.
      const delay = Math.min(60_000, 200 * 2 ** Math.min(cmd.attempts, 10));
      log.warn('command failed; will retry', {
        source: this.source,
        kind: cmd.kind,
        id: cmd.id,
        attempts: cmd.attempts,
        err,
      });
      await sql`update ${table} set last_error = ${String((err as Error)?.message ?? err)},
        next_attempt_at = now() + ${`${delay} milliseconds`}::interval where id = ${cmd.id}`.execute(this.db);
    }
    return true;
  }
}
