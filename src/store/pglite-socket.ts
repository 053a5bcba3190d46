import { EventEmitter } from 'node:events';
import type { PGlite } from '@electric-sql/pglite';

/** The protocol's Terminate message ('X', length 4): a client hanging up. */
const TERMINATE = 0x58;

/**
 * One queue of calls per PGlite, whichever client's socket makes them: a socket that is ending
 * still runs what its client wrote before the pool's next client runs anything, in that order.
 */
const lanes = new WeakMap<PGlite, Lane>();

interface Lane {
  tail: Promise<void>;
  /**
   * The session's transaction status from the last ReadyForQuery PGlite sent: `I` idle, `T` in a
   * transaction, `E` in a failed one.
   */
  status: number;
}

const READY_FOR_QUERY = 0x5a; // 'Z'
const IDLE = 0x49; // 'I'

/** The status byte of a ReadyForQuery ending `answer` ('Z', length 5, status), or null. */
function endingStatus(answer: Buffer): number | null {
  const at = answer.length - 6;
  if (at < 0 || answer[at] !== READY_FOR_QUERY || answer.readInt32BE(at + 1) !== 5) return null;
  return answer[at + 5]!;
}

/**
 * A socket into the embedded PGlite for node-postgres (pg.Client's documented `stream` option), so
 * pg speaks the wire protocol to it as it does to a server: its own parser reads PGlite's answers.
 *
 * Why not PGlite's own node-postgres adapter (`createPgConfig`): that hands each protocol message
 * to PGlite on its own (a statement's Parse, Bind, Describe, Execute and Sync are five calls into
 * the WebAssembly Postgres, each with a file-system sync and its promise chain) and parses every
 * answer with PGlite's parser, which copies each field out of the buffer before decoding it, into
 * message objects pg then reads again. In a batch that was the main thread's largest source of
 * garbage (a 41 KiB PDF part comes back as 82 KiB of hex text). Here the messages pg writes in one
 * turn go to PGlite together, as a socket would carry them (PGlite runs every message of a buffer
 * in order, as a server would), and the raw answer goes to pg's parser.
 *
 * PGlite is single-session: the pool's clients take turns on it (the pool is of one), each with
 * a socket of its own, and a client's hang-up (Terminate) is not passed on, so the one session
 * stays open for the next client. The owner closes PGlite.
 */
export class PGliteSocket extends EventEmitter {
  writable = true;
  readonly #pglite: PGlite;
  readonly #beforeExec: () => Promise<void> | void;
  #pending: Uint8Array[] = [];
  #flushScheduled = false;
  #afterFlush: Array<() => void> = [];
  readonly #lane: Lane;
  #ended = false;

  /** `beforeExec` runs before each call into PGlite (the store's yield to the event loop). */
  constructor(pglite: PGlite, beforeExec: () => Promise<void> | void = () => {}) {
    super();
    this.#pglite = pglite;
    this.#beforeExec = beforeExec;
    let lane = lanes.get(pglite);
    if (!lane) {
      lane = { tail: pglite.waitReady, status: IDLE };
      lanes.set(pglite, lane);
    }
    this.#lane = lane;
  }

  /** Runs `step` after everything queued on this PGlite so far. */
  #then(step: () => void | Promise<void>): void {
    this.#lane.tail = this.#lane.tail.then(step, step);
  }

  connect(): this {
    this.#lane.tail = this.#lane.tail.then(
      async () => {
        // A client the pool discarded inside a transaction (an error between BEGIN and COMMIT that
        // also broke the client) leaves the one session in it: the next client would otherwise run
        // its statements inside what is left of that transaction. A server would have rolled it
        // back when the connection closed; so does this, before the next client starts.
        try {
          if (this.#lane.status !== IDLE) {
            await this.#pglite.exec('rollback');
            this.#lane.status = IDLE;
          }
        } catch (err) {
          this.emit('error', err);
          return;
        }
        this.emit('connect');
      },
      (err: unknown) => void this.emit('error', err),
    );
    return this;
  }

  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    if (this.#ended) {
      cb?.(new Error('PGlite socket ended'));
      return false;
    }
    // The session is shared by the pool's clients: a client's Terminate ends only its socket.
    const terminate = chunk.length === 5 && chunk[0] === TERMINATE;
    if (!terminate) this.#pending.push(chunk);
    if (cb) this.#afterFlush.push(() => cb());
    this.#scheduleFlush();
    return true;
  }

  /** Everything written in this turn goes to PGlite in one call, after what is already queued. */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    this.#then(() => this.#flush());
  }

  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    const pending = this.#pending;
    const callbacks = this.#afterFlush;
    this.#pending = [];
    this.#afterFlush = [];
    if (pending.length) {
      const message = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      const answer: Buffer[] = [];
      try {
        await this.#beforeExec();
        // onRawData gets a view into the WebAssembly memory, reused by the next write: copied.
        await this.#pglite.execProtocolRawStream(message, {
          onRawData: (bytes) => void answer.push(Buffer.from(bytes)),
        });
      } catch (err) {
        this.emit('error', err);
        return;
      }
      const whole = answer.length === 1 ? answer[0]! : Buffer.concat(answer);
      this.#lane.status = endingStatus(whole) ?? this.#lane.status;
      if (!this.#ended && whole.length) this.emit('data', whole);
    }
    for (const cb of callbacks) cb();
  }

  end(): this {
    if (this.#ended) return this;
    this.#ended = true;
    this.writable = false;
    // Like a socket closing after what was written: pg waits for 'end' (its parser) and 'close'.
    this.#then(() => {
      this.emit('end');
      this.emit('close', false);
    });
    return this;
  }

  destroy(): this {
    return this.end();
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}
