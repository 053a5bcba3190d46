import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse, printSchema, type GraphQLSchema } from 'graphql';
import { printSubgraphSchema } from '@apollo/subgraph';
import { log } from '../logger.js';

export interface SubgraphSdl {
  name: string;
  url: string;
  sdl: string;
}

export interface Supergraph {
  supergraphSdl: string;
  apiSdl: string;
}

export class CompositionError extends Error {
  constructor(readonly details: string[]) {
    super(`The subgraphs do not compose into a supergraph:\n${details.map((d) => `  - ${d}`).join('\n')}`);
    this.name = 'CompositionError';
  }
}

/** The SDL a subgraph publishes through `_service { sdl }`, federation directives included. */
export function subgraphSdl(schema: GraphQLSchema): string {
  return printSubgraphSchema(schema);
}

/* eslint-disable @typescript-eslint/no-require-imports -- a deferred load, typed by its import */
/** The composition library: loaded only when a start composes (not when the cache answers). */
const composition = () =>
  require('@theguild/federation-composition') as typeof import('@theguild/federation-composition');
/* eslint-enable @typescript-eslint/no-require-imports */

/** Composes at start; a failure stops the start with every problem listed. */
export function composeSupergraph(subgraphs: SubgraphSdl[]): Supergraph {
  const result = composition().composeServices(
    subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })),
  );
  if (result.errors) throw new CompositionError(result.errors.map((e) => e.message));
  return { supergraphSdl: result.supergraphSdl, apiSdl: result.publicSdl };
}

/** What a composition depends on: the subgraphs as given and the composing library's version. */
function compositionKey(subgraphs: SubgraphSdl[]): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- its version, read without loading the library
  const { version } = require('@theguild/federation-composition/package.json') as { version: string };
  const hash = createHash('sha256').update(`@theguild/federation-composition@${version}\n`);
  for (const s of subgraphs) hash.update(JSON.stringify([s.name, s.url, s.sdl])).update('\n');
  return hash.digest('hex');
}

interface CacheFile extends Supergraph {
  key: string;
}

function readCache(file: string, key: string): Supergraph | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const cached = JSON.parse(text) as Partial<CacheFile>;
    if (cached.key !== key || typeof cached.supergraphSdl !== 'string' || typeof cached.apiSdl !== 'string') {
      return null;
    }
    return { supergraphSdl: cached.supergraphSdl, apiSdl: cached.apiSdl };
  } catch {
    return null;
  }
}

/** Whole or not at all: written under a private name, then renamed over the old one. */
function writeCache(file: string, entry: CacheFile): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(entry));
    fs.renameSync(tmp, file);
  } catch (err) {
    // Only a cache: the next start composes again.
    fs.rmSync(tmp, { force: true });
    log.warn('supergraph cache not written', { file, err });
  }
}

/**
 * `composeSupergraph`, remembered in `file` under the hash of its inputs (the subgraphs' names,
 * URLs and SDL, and the composing library's version): a restart whose subgraphs are unchanged
 * reads the result instead of loading the library and composing again, about half a second
 * (issue 13, item 4). A changed subgraph changes the key, so it composes (and fails) as before.
 */
export function composeSupergraphCached(subgraphs: SubgraphSdl[], file: string): Supergraph {
  const key = compositionKey(subgraphs);
  const cached = readCache(file, key);
  if (cached) return cached;
  const composed = composeSupergraph(subgraphs);
  writeCache(file, { key, ...composed });
  return composed;
}

export { printSchema };
