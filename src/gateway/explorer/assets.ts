import fs from 'node:fs';
import path from 'node:path';

/** Where the explorer's bundled files are served: under the API's own path, so a proxy that forwards /graphql forwards them too. */
export const ASSET_PATH = '/graphql/explorer/';

/** What src/bin/build-explorer.ts wrote, read by the server to link the page to the hashed files. */
export interface ExplorerManifest {
  /** A hash of everything the bundle was built from; the build skips itself when it matches. */
  inputs: string;
  /** The page's module script and stylesheet (hashed names, relative to the assets directory). */
  script: string;
  style: string;
  /** Every file the build wrote; nothing else in the directory is served. */
  files: string[];
}

/**
 * The repository (or image) root: the nearest folder above with a
 * package.json. This file runs from src/ under ts-jest and from dist/src/
 * once compiled, so counting `..` would differ.
 */
export function projectRoot(start = __dirname): string {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
}

/** The built assets: dist/explorer, not committed, written by `npm run build` (and so by `npm ci`'s prepare). */
export function assetsDir(root = projectRoot()): string {
  return path.join(root, 'dist', 'explorer');
}

export const MANIFEST_FILE = 'manifest.json';

/** The manifest of a finished build, or null when there is none (never built, or built by an older layout). */
export function readManifest(dir: string): ExplorerManifest | null {
  let raw: string;
  try {
    raw = fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return null;
  }
  const m = JSON.parse(raw) as Partial<ExplorerManifest>;
  if (typeof m.script !== 'string' || typeof m.style !== 'string' || !Array.isArray(m.files)) return null;
  if (typeof m.inputs !== 'string') return null;
  return { inputs: m.inputs, script: m.script, style: m.style, files: m.files.map(String) };
}
