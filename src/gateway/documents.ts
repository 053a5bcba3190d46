import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
// fetch's body is the DOM ReadableStream type; Readable.fromWeb takes node's, the same object at run time.
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { CommunicationsReader } from '../datasources/communications/reader.js';
import { ErrorCode } from '../errors/index.js';
import { log } from '../logger.js';
import type { Principal } from '../identity/index.js';
import { admitRoute, sendError } from './http.js';
import type { Route } from './serve.js';
import { HttpAuthError } from './serve.js';
import { clientWentAway } from './sockets.js';

/** Its entry in the policy (src/policy: HTTP_ROUTE_ROLES). */
const ROUTE = 'GET /documents/:id/content';
/** The id is in our id format (ID_FORMAT in src/validation), matched on the still-encoded path. */
const PATH = /^\/documents\/([A-Za-z0-9_-]{1,100})\/content$/;
/**
 * What a part may be called: a name and an extension, lower case (document.pdf, body.html,
 * subject.txt). No separators, dots in a row, percent signs or control characters, so a `part`
 * cannot even spell a path.
 */
const PART_NAME = /^[a-z0-9][a-z0-9_-]{0,62}(?:\.[a-z0-9]{1,10})?$/;
/** The part a client gets by default: the rendered document itself. */
const PRIMARY = ['document.pdf', 'body.html', 'index.html', 'sms.txt'];

/**
 * Rendered HTML is served from the API's origin: whatever a document holds, the browser runs no
 * script in it, loads nothing from elsewhere and treats it as a sandboxed page.
 */
const CONTENT_SECURITY_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** A download request that passed every check: who asks, for which document and part. */
interface Download {
  principal: Principal;
  documentId: string;
  /** null: the primary part. */
  part: string | null;
}

/**
 * The checks every download goes through, in the gateway and in the communications service
 * alike: a strict id in the path, GET or HEAD, a valid token (401), a role that may read
 * document content (403, checked on every request, whatever the document), and a well-formed
 * `part` (400). Returns null when it has answered the request itself.
 */
async function admit(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  auth: () => Promise<Principal | null>,
): Promise<Download | null> {
  const m = PATH.exec(url.pathname);
  if (!m) {
    sendError(res, 404, ErrorCode.NOT_FOUND, 'Not found');
    return null;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(res, 405, ErrorCode.BAD_USER_INPUT, 'Use GET');
    return null;
  }
  let principal: Principal | null;
  try {
    principal = await auth();
  } catch (err) {
    if (err instanceof HttpAuthError) {
      sendError(res, 401, ErrorCode.UNAUTHENTICATED, err.message);
      return null;
    }
    throw err;
  }
  if (!admitRoute(res, principal, ROUTE, 'Downloading document content')) return null;
  const parts = url.searchParams.getAll('part');
  if (parts.length > 1 || (parts.length === 1 && !PART_NAME.test(parts[0]!))) {
    sendError(
      res,
      400,
      ErrorCode.BAD_USER_INPUT,
      'part: one part name such as document.pdf or body.html (lower-case letters, digits, "_", "-" and one ".")',
      { field: 'part' },
    );
    return null;
  }
  return { principal, documentId: m[1]!, part: parts[0] ?? null };
}

/**
 * GET /documents/:id/content[?part=name]: the rendered output of a document, for a caller whose
 * role may read document content. The id and the part name are looked up in the store, where
 * the parts are rows: nothing on disk is addressed by the URL, and a part is found only by its
 * exact stored name.
 */
export function documentContentRoute(reader: () => CommunicationsReader): Route {
  return async (req: IncomingMessage, res: ServerResponse, auth) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/documents/')) return false;
    const download = await admit(req, res, url, auth);
    if (!download) return true;
    const { documentId, part: wanted } = download;
    const parts = await reader().parts(documentId);
    if (!parts.length) {
      sendError(res, 404, ErrorCode.NOT_FOUND, `Document ${documentId} has no rendered content`);
      return true;
    }
    const part = wanted
      ? parts.find((p) => p.name === wanted)
      : (PRIMARY.map((n) => parts.find((p) => p.name === n)).find(Boolean) ?? parts[0]);
    if (!part) {
      sendError(
        res,
        404,
        ErrorCode.NOT_FOUND,
        `Document ${documentId} has no part ${wanted}; it has ${parts.map((p) => p.name).join(', ')}`,
      );
      return true;
    }
    const type = part.media_type.startsWith('text/') ? `${part.media_type}; charset=utf-8` : part.media_type;
    // Stored names are ours, but the header is built only from names that pass the same check.
    const filename = PART_NAME.test(part.name) ? `${documentId}-${part.name}` : documentId;
    res.writeHead(200, {
      'content-type': type,
      'content-length': part.body.length,
      'content-disposition': `inline; filename="${filename}"`,
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': CONTENT_SECURITY_POLICY,
    });
    res.end(req.method === 'HEAD' ? undefined : part.body);
    return true;
  };
}

/**
 * Remote mode: the communications service owns the rendered files, so the gateway passes
 * document downloads through to it, with the caller's token. The gateway applies the same
 * checks first (the service applies them again), and forwards only a path and query it built
 * itself from the checked id and part.
 */
export function proxyDocumentRoute(communicationsUrl: string): Route {
  const origin = new URL(communicationsUrl).origin;
  return async (req, res, auth) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/documents/')) return false;
    const download = await admit(req, res, url, auth);
    if (!download) return true;
    const query = download.part ? `?part=${encodeURIComponent(download.part)}` : '';
    let upstream: Response;
    try {
      upstream = await fetch(`${origin}/documents/${download.documentId}/content${query}`, {
        method: req.method === 'HEAD' ? 'HEAD' : 'GET',
        headers: req.headers.authorization ? { authorization: req.headers.authorization } : {},
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      });
    } catch {
      sendError(res, 502, ErrorCode.UPSTREAM_UNAVAILABLE, 'The communications service is unavailable');
      return true;
    }
    const headers: Record<string, string> = {};
    for (const h of [
      'content-type',
      'content-length',
      'content-disposition',
      'cache-control',
      'x-content-type-options',
      'content-security-policy',
    ]) {
      const v = upstream.headers.get(h);
      if (v) headers[h] = v;
    }
    res.writeHead(upstream.status, headers);
    if (!upstream.body) {
      res.end();
      return true;
    }
    // Streamed, not held whole; if the service fails mid-body the client's
    // connection is cut, so it cannot take a short body for the document.
    try {
      await pipeline(Readable.fromWeb(upstream.body as WebReadableStream), res);
    } catch (err) {
      // The downloader closing its connection is not the service's fault: debug, not a warning.
      if (clientWentAway(err, req)) log.debug('client went away', { url: req.url });
      else log.warn('document download from the communications service broke off', { err });
      res.destroy();
    }
    return true;
  };
}
