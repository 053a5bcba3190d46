/** Messages between the render pool (pool.ts) and its worker threads (render-worker.ts). */
import type { Brand, Channel, RenderableVersion, RenderResult, RenderSnapshot } from './types.js';

export interface WorkerOptions {
  brands?: Record<string, Brand>;
}

export interface RenderJob {
  id: number;
  version: RenderableVersion;
  channel: Channel;
  snapshot: RenderSnapshot;
}

/** A thrown error as data: the pool rebuilds the same exception kind on the caller's side. */
export type WorkerError =
  | { kind: 'MissingDataError'; message: string; missing: string[]; details: string[] }
  | { kind: 'TemplateError'; message: string }
  | { kind: 'Error'; message: string; name: string; stack?: string };

export type RenderReply =
  { id: number; ok: true; result: RenderResult } | { id: number; ok: false; error: WorkerError };
