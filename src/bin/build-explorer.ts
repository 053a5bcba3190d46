import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { constants, gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import {
  assetsDir,
  MANIFEST_FILE,
  projectRoot,
  readManifest,
  type ExplorerManifest,
} from '../gateway/explorer/assets.js';

/**
 * `npm run build` (and so `npm ci`'s prepare) runs this after tsc: it bundles
 * the API explorer (GraphiQL, React, Monaco and its workers) from
 * node_modules into dist/explorer, so the page the gateway serves loads
 * nothing from another host. Every file name carries a content hash: the
 * server can tell browsers to cache them for good.
 */

const ROOT = projectRoot();
const SOURCE = path.join(ROOT, 'src', 'gateway', 'explorer', 'browser');
const OUT = assetsDir(ROOT);

/** Browsers a bank's desktops run; esbuild lowers newer syntax for them. */
const TARGET = ['chrome111', 'edge111', 'firefox115', 'safari16.4'];

/** Monaco's language services, each in its own worker (see browser/workers.ts). */
const WORKERS = {
  editor: 'monaco-editor/esm/vs/editor/editor.worker.js',
  json: 'monaco-editor/esm/vs/language/json/json.worker.js',
  graphql: 'monaco-graphql/esm/graphql.worker.js',
} as const;

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Everything the bundle depends on: the locked dependency versions, our browser sources, this script. */
function inputsHash(): string {
  const hash = createHash('sha256');
  for (const file of [path.join(ROOT, 'package-lock.json'), __filename, ...filesUnder(SOURCE)]) {
    hash.update(path.relative(ROOT, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function upToDate(inputs: string): boolean {
  const manifest = readManifest(OUT);
  return (
    manifest !== null &&
    manifest.inputs === inputs &&
    manifest.files.every((f) => fs.existsSync(path.join(OUT, f)))
  );
}

/** The output file (relative to `outdir`) built from each entry point. */
function outputsByEntry(metafile: Metafile, outdir: string): Map<string, string> {
  const byEntry = new Map<string, string>();
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (output.entryPoint && file.endsWith('.js')) {
      byEntry.set(output.entryPoint, path.relative(outdir, path.resolve(ROOT, file)));
    }
  }
  return byEntry;
}

async function bundle(outdir: string): Promise<Omit<ExplorerManifest, 'inputs'>> {
  const common = {
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    target: TARGET,
    outdir,
    entryNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  } as const;
  const workers = await build({
    ...common,
    entryPoints: Object.fromEntries(
      Object.entries(WORKERS).map(([name, entry]) => [`${name}.worker`, entry]),
    ),
    // Classic workers (`new Worker(url)`): every browser starts them.
    format: 'iife',
  });
  const workerFiles = outputsByEntry(workers.metafile, outdir);
  const workerNames = Object.fromEntries(
    Object.entries(WORKERS).map(([name, entry]) => {
      const file = [...workerFiles].find(([from]) => from.endsWith(entry))?.[1];
      if (!file) throw new Error(`esbuild wrote no output for worker ${entry}`);
      return [name, `./${file}`];
    }),
  );
  const main = await build({
    ...common,
    entryPoints: { explorer: path.join(SOURCE, 'main.tsx') },
    // One script and one stylesheet: GraphiQL imports Monaco's editor (and prettier) on demand, and
    // esbuild's code splitting would leave the CSS of such chunks for the page to link itself.
    format: 'esm',
    assetNames: '[name]-[hash]',
    jsx: 'automatic',
    loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file' },
    define: {
      'process.env.NODE_ENV': '"production"',
      // The worker file names are part of the main script, so its hash changes with theirs.
      EXPLORER_WORKERS: JSON.stringify(workerNames),
    },
  });
  const outputs = [...Object.keys(workers.metafile.outputs), ...Object.keys(main.metafile.outputs)].map(
    (file) => path.relative(outdir, path.resolve(ROOT, file)),
  );
  const script = outputs.find((f) => /^explorer-[^/]+\.js$/.test(f));
  const style = outputs.find((f) => /^explorer-[^/]+\.css$/.test(f));
  if (!script || !style)
    throw new Error(`esbuild wrote no explorer script or stylesheet: ${outputs.join(', ')}`);
  return { script, style, files: outputs.sort() };
}

/**
 * A gzip copy beside each script, stylesheet and font, sent to browsers that accept
 * it: the explorer's script is about 5 MB, 1.4 MB compressed, and the server
 * should not compress it again for every page load.
 */
function precompress(dir: string, files: string[]): void {
  for (const file of files.filter((f) => /\.(js|css|ttf)$/.test(f))) {
    const full = path.join(dir, file);
    fs.writeFileSync(`${full}.gz`, gzipSync(fs.readFileSync(full), { level: constants.Z_BEST_COMPRESSION }));
  }
}

async function main(): Promise<void> {
  const inputs = inputsHash();
  if (upToDate(inputs)) {
    console.log('explorer assets up to date');
    return;
  }
  // Built aside, then swapped in: a failed build leaves the previous one whole.
  const staging = `${OUT}.${process.pid}.tmp`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    const manifest: ExplorerManifest = { inputs, ...(await bundle(staging)) };
    precompress(staging, manifest.files);
    fs.writeFileSync(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    fs.rmSync(OUT, { recursive: true, force: true });
    try {
      fs.renameSync(staging, OUT);
    } catch (err) {
      // Another build of the same inputs (a parallel test run) swapped its copy in first: that one serves.
      if (!upToDate(inputs)) throw err;
    }
    const bytes = manifest.files.reduce((n, f) => n + fs.statSync(path.join(OUT, f)).size, 0);
    console.log(
      `explorer assets: ${manifest.files.length} files, ${(bytes / 1e6).toFixed(1)} MB in ${path.relative(ROOT, OUT)}`,
    );
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
