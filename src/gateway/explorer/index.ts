import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../../config/index.js';
import { log } from '../../logger.js';
import { ASSET_PATH, assetsDir, readManifest, type ExplorerManifest } from './assets.js';
import { assetsMissingPage, graphiqlPage, introspectionOffPage, sandboxPage, type Page } from './pages.js';
import { clientWentAway } from '../sockets.js';

/** EXPLORER: which page `GET /graphql` shows a browser. */
export type ExplorerKind = Config['explorer'];

export interface ExplorerOptions {
  kind: ExplorerKind;
  /** The page's title and heading. */
  title: string;
  /** Without introspection no explorer can load the schema: the page says so instead. */
  introspection: boolean;
  /** Show how to make a development token (only where such tokens are accepted). */
  tokenHint: boolean;
  /** The built assets; dist/explorer by default. */
  assets?: string;
}

/** The gateway's explorer as configured (EXPLORER, INTROSPECTION, AUTH_MODE). */
export function explorerFor(config: Config): ExplorerOptions {
  return {
    kind: config.explorer,
    title: 'CommsGraph gateway',
    introspection: config.security.introspection,
    // Development tokens (`npm run token`) are accepted only in AUTH_MODE=dev, which production refuses.
    tokenHint: config.auth.mode === 'dev',
  };
}

/** Answers the explorer's own requests (its page and files); false when the request is not one of them. */
export type ExplorerHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** A year: the files' names carry their content hash, so a changed file is a new URL. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

/** The q-value an Accept (or Accept-Encoding) header gives a value, counting only explicit mentions (no wildcards). */
function quality(accept: string, type: string): number {
  let q = 0;
  for (const part of accept.toLowerCase().split(',')) {
    const [name, ...params] = part.split(';').map((s) => s.trim());
    if (name !== type) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    if (Number.isFinite(value)) q = Math.max(q, value);
  }
  return q;
}

/**
 * A browser navigating to the URL (it asks for text/html first), as opposed
 * to a GraphQL client's GET, which asks for JSON: the same test Apollo Server
 * makes for its landing page. A tie goes to the API.
 */
export function prefersHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  const html = quality(accept, 'text/html');
  const json = Math.max(
    quality(accept, 'application/json'),
    quality(accept, 'application/graphql-response+json'),
  );
  return html > 0 && html > json;
}

/** Gzip is acceptable unless the client did not list it or gave it q=0. */
function acceptsGzip(req: IncomingMessage): boolean {
  return quality(req.headers['accept-encoding'] ?? '', 'gzip') > 0;
}

function sendPage(req: IncomingMessage, res: ServerResponse, page: Page): void {
  res.writeHead(page.status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(page.html),
    'content-security-policy': page.csp,
    // The page depends on the server's settings; its files are the cacheable part.
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(req.method === 'HEAD' ? undefined : page.html);
}

/** The bundled files, streamed from disk; only names the build wrote are served (no path is joined from the URL otherwise). */
function assetServer(dir: string, manifest: ExplorerManifest) {
  const files = new Set(manifest.files);
  const compressed = new Set(manifest.files.filter((f) => fs.existsSync(path.join(dir, `${f}.gz`))));
  return async (req: IncomingMessage, res: ServerResponse, name: string): Promise<void> => {
    const type = CONTENT_TYPES[path.extname(name)];
    if (!files.has(name) || !type) {
      res.writeHead(404, {
        'content-type': 'text/plain; charset=utf-8',
        'x-content-type-options': 'nosniff',
      });
      res.end('Not found');
      return;
    }
    const gzip = compressed.has(name) && acceptsGzip(req);
    const file = path.join(dir, gzip ? `${name}.gz` : name);
    const { size } = await fs.promises.stat(file);
    res.writeHead(200, {
      'content-type': type,
      'content-length': size,
      'cache-control': IMMUTABLE,
      'x-content-type-options': 'nosniff',
      // Only this origin's pages may load them (the CSP's 'self').
      'cross-origin-resource-policy': 'same-origin',
      ...(compressed.has(name) ? { vary: 'accept-encoding' } : {}),
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    try {
      await pipeline(fs.createReadStream(file), res);
    } catch (err) {
      // The browser went away mid-file (a reload, a closed tab): nothing to answer, nothing wrong.
      if (clientWentAway(err)) return;
      throw err;
    }
  };
}

/**
 * The API explorer a browser gets at `GET /graphql`: GraphiQL bundled into
 * the build and served from this origin (EXPLORER=graphiql, the default),
 * Apollo Sandbox from Apollo's CDN (EXPLORER=sandbox), or nothing (off, and
 * on subgraph services). Where introspection is off, a page that says why
 * and where to find the schema instead.
 */
export function createExplorer(opts: ExplorerOptions): ExplorerHandler | null {
  if (opts.kind === 'off') return null;
  const dir = opts.assets ?? assetsDir();
  const manifest = opts.kind === 'graphiql' && opts.introspection ? readManifest(dir) : null;
  if (opts.kind === 'graphiql' && opts.introspection && !manifest) {
    log.warn('the API explorer is not built: GET /graphql shows a page saying so', {
      assets: dir,
      fix: 'npm run build',
    });
  }
  const assets = manifest ? assetServer(dir, manifest) : null;
  const relative = (file: string) => `${ASSET_PATH.slice(1)}${file}`;

  const page = (req: IncomingMessage): Page => {
    if (!opts.introspection) return introspectionOffPage(opts.title);
    if (opts.kind === 'sandbox') return sandboxPage(opts.title);
    if (!manifest) return assetsMissingPage(opts.title);
    return graphiqlPage({
      title: opts.title,
      // Relative to /graphql, so a proxy that serves the API under a path prefix serves these too.
      style: relative(manifest.style),
      script: relative(manifest.script),
      tokenHint: opts.tokenHint,
      host: req.headers.host,
    });
  };

  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname === '/graphql') {
      if (!prefersHtml(req)) return false;
      sendPage(req, res, page(req));
      return true;
    }
    if (assets && pathname.startsWith(ASSET_PATH)) {
      await assets(req, res, pathname.slice(ASSET_PATH.length));
      return true;
    }
    return false;
  };
}
