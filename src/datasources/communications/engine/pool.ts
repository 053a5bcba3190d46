import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { log } from '../../../logger.js';
import { MissingDataError, TemplateError } from './errors.js';
import type { RenderJob, RenderReply, WorkerError, WorkerOptions } from './pool-protocol.js';
import { createRenderer } from './render.js';
import type { Brand, Channel, RenderableVersion, Renderer, RenderResult, RenderSnapshot } from './types.js';

/** The default RENDER_WORKERS: two threads, or one on a single-core machine. */
export function defaultRenderWorkers(): number {
  return Math.min(2, os.availableParallelism());
}

/** A Renderer that owns threads: `close` waits for the renders in hand, then ends them. */
export interface RenderPool extends Renderer {
  /** 'workers' when letters render on worker threads; 'in-thread' when on the caller's. */
  readonly mode: 'workers' | 'in-thread';
  close(): Promise<void>;
}

interface Pending {
  resolve: (result: RenderResult) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** The compiled worker entry beside this module; absent when this file runs as TypeScript (ts-jest). */
function workerEntry(): string | null {
  const entry = path.join(__dirname, 'render-worker.js');
  return fs.existsSync(entry) ? entry : null;
}

function rebuild(error: WorkerError): Error {
  switch (error.kind) {
    case 'MissingDataError':
      return new MissingDataError(error.missing, error.details);
    case 'TemplateError':
      return new TemplateError(error.message);
    case 'Error': {
      const err = new Error(error.message);
      err.name = error.name;
      if (error.stack) err.stack = error.stack;
      return err;
    }
  }
}

/** Structured clone hands a Buffer over as a plain Uint8Array; callers (and hashes) expect Buffers. */
function asBuffers(result: RenderResult): RenderResult {
  return {
    ...result,
    parts: result.parts.map((part) => ({
      ...part,
      body: Buffer.from(part.body.buffer, part.body.byteOffset, part.body.byteLength),
    })),
  };
}

/**
 * Renders on a small pool of worker threads, so that pdfkit's synchronous layout and subsetting
 * (tens to hundreds of milliseconds a letter) and MJML never stall the event loop that answers
 * reads, health probes and subscriptions. Each worker runs the same renderer (render.ts) with its
 * own template cache and fonts parsed once, so the bytes are those of an in-thread render.
 *
 * `size` 0 renders in-thread. So does a run from the TypeScript sources (ts-jest), where no
 * compiled worker entry exists; that is said once at debug level. `npm start` runs the build.
 */
export function createRenderPool(opts: { size: number; brands?: Record<string, Brand> }): RenderPool {
  const entry = opts.size > 0 ? workerEntry() : null;
  if (!entry) {
    log.debug('rendering in-thread', {
      reason: opts.size > 0 ? 'no compiled render worker beside the sources' : 'RENDER_WORKERS=0',
    });
    const renderer = createRenderer(opts.brands ? { brands: opts.brands } : {});
    return { mode: 'in-thread', render: (v, c, s) => renderer.render(v, c, s), close: async () => {} };
  }
  const workerOptions: WorkerOptions = opts.brands ? { brands: opts.brands } : {};
  const slots: Array<Slot | null> = Array.from({ length: opts.size }, () => null);
  let nextId = 1;
  let closing = false;
  const inFlight = new Set<Promise<unknown>>();

  function start(index: number): Slot {
    const worker = new Worker(entry!, { workerData: workerOptions });
    const slot: Slot = { worker, pending: new Map() };
    // An idle pool must not keep the process alive; a busy one must.
    worker.unref();
    worker.on('message', (reply: RenderReply) => {
      const pending = slot.pending.get(reply.id);
      if (!pending) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) worker.unref();
      if (reply.ok) pending.resolve(asBuffers(reply.result));
      else pending.reject(rebuild(reply.error));
    });
    const fail = (err: Error): void => {
      if (slots[index] === slot) slots[index] = null;
      for (const pending of slot.pending.values()) pending.reject(err);
      slot.pending.clear();
    };
    worker.on('error', (err) => {
      log.error('render worker failed', { err });
      fail(new Error(`render worker failed: ${err.message}`, { cause: err }));
    });
    worker.on('exit', (code) => fail(new Error(`render worker exited (code ${code})`)));
    slots[index] = slot;
    return slot;
  }

  /** The least busy worker, starting one where a slot is empty. */
  function pick(): Slot {
    let best: Slot | null = null;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] ?? start(i);
      if (!best || slot.pending.size < best.pending.size) best = slot;
    }
    return best!;
  }

  return {
    mode: 'workers',
    render(version: RenderableVersion, channel: Channel, snapshot: RenderSnapshot): Promise<RenderResult> {
      if (closing) return Promise.reject(new Error('renderer is shut down'));
      const slot = pick();
      const id = nextId++;
      const job: RenderJob = { id, version, channel, snapshot };
      const done = new Promise<RenderResult>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
      });
      slot.worker.ref();
      slot.worker.postMessage(job);
      const tracked = done.catch(() => undefined).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      return done;
    },
    async close(): Promise<void> {
      closing = true;
      // Shutdown drains: the letters in hand finish, then the threads end.
      await Promise.all(inFlight);
      await Promise.all(
        slots.map(async (slot, i) => {
          slots[i] = null;
          if (slot) await slot.worker.terminate();
        }),
      );
    },
  };
}
