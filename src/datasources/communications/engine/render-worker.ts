/**
 * One render worker thread (see pool.ts): the same renderer as in-thread, with its own compiled
 * template cache and its own parsed fonts, so a letter's layout and subsetting never hold the
 * gateway's event loop. Loaded from the compiled build only (dist/), never through ts-jest.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MissingDataError, TemplateError } from './errors.js';
import { printFonts } from './fonts.js';
import { createRenderer } from './render.js';
import type { RenderJob, RenderReply, WorkerError, WorkerOptions } from './pool-protocol.js';

function describe(err: unknown): WorkerError {
  if (err instanceof MissingDataError) {
    return { kind: 'MissingDataError', message: err.message, missing: err.missing, details: err.details };
  }
  if (err instanceof TemplateError) return { kind: 'TemplateError', message: err.message };
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: 'Error', message: e.message, name: e.name, stack: e.stack };
}

const port = parentPort;
if (!port) throw new Error('render-worker runs as a worker thread only');
const options = workerData as WorkerOptions;
const renderer = createRenderer(options.brands ? { brands: options.brands } : {});
// Parse the fonts while the thread is otherwise idle, not inside the first letter. A missing font
// directory is reported by that first PRINT render, as in-thread.
try {
  printFonts();
} catch {
  // Reported when a PRINT document needs them.
}

port.on('message', (job: RenderJob) => {
  renderer.render(job.version, job.channel, job.snapshot).then(
    (result) => port.postMessage({ id: job.id, ok: true, result } satisfies RenderReply),
    (err: unknown) => port.postMessage({ id: job.id, ok: false, error: describe(err) } satisfies RenderReply),
  );
});
