import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CommunicationsReader } from '../datasources/communications/reader.js';
import { ErrorCode } from '../errors/index.js';
import { sendError } from './http.js';
import type { Route } from './serve.js';
import { HttpAuthError } from './serve.js';

const PATH = /^\/documents\/([A-Za-z0-9_-]{1,100})\/content$/;
/** The part a client gets by default: the rendered document itself. */
const PRIMARY = ['document.pdf', 'body.html', 'index.html', 'sms.txt'];

/**
 * GET /documents/:id/content[?part=name]: the rendered output of a document,
 * for an authenticated caller. Ids are matched against a strict pattern and
 * looked up in the store: nothing on disk is addressed by the URL.
 */
export function documentContentRoute(reader: () => CommunicationsReader): Route {
  return async (req: IncomingMessage, res: ServerResponse, auth) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = PATH.exec(url.pathname);
    if (!m) {
      if (url.pathname.startsWith('/documents/')) {
        sendError(res, 404, ErrorCode.NOT_FOUND, 'Not found');
        return true;
      }
      return false;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, ErrorCode.BAD_USER_INPUT, 'Use GET');
      return true;
    }
    let principal;
    try {
      principal = await auth();
    } catch (err) {
      if (err instanceof HttpAuthError) {
        sendError(res, 401, ErrorCode.UNAUTHENTICATED, err.message);
        return true;
      }
      throw err;
    }
    if (!principal) {
      sendError(res, 401, ErrorCode.UNAUTHENTICATED, 'Authentication required');
      return true;
    }
    const parts = await reader().parts(m[1]!);
    if (!parts.length) {
      sendError(res, 404, ErrorCode.NOT_FOUND, `Document ${m[1]} has no rendered content`);
      return true;
    }
    const wanted = url.searchParams.get('part');
    const part = wanted
      ? parts.find((p) => p.name === wanted)
      : (PRIMARY.map((n) => parts.find((p) => p.name === n)).find(Boolean) ?? parts[0]);
    if (!part) {
      sendError(
        res,
        404,
        ErrorCode.NOT_FOUND,
        `Document ${m[1]} has no part ${wanted}; it has ${parts.map((p) => p.name).join(', ')}`,
      );
      return true;
    }
    const type = part.media_type.startsWith('text/') ? `${part.media_type}; charset=utf-8` : part.media_type;
    res.writeHead(200, {
      'content-type': type,
      'content-length': part.body.length,
      'content-disposition': `inline; filename="${m[1]}-${part.name}"`,
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : part.body);
    return true;
  };
}

/**
 * Remote mode: the communications service owns the rendered files, so the
 * gateway passes document downloads through to it, with the caller's token.
 */
export function proxyDocumentRoute(communicationsUrl: string): Route {
  const origin = new URL(communicationsUrl).origin;
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/documents/')) return false;
    let upstream: Response;
    try {
      upstream = await fetch(`${origin}${url.pathname}${url.search}`, {
        method: req.method === 'HEAD' ? 'HEAD' : 'GET',
        headers: req.headers.authorization ? { authorization: req.headers.authorization } : {},
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
    ]) {
      const v = upstream.headers.get(h);
      if (v) headers[h] = v;
    }
    res.writeHead(upstream.status, headers);
    res.end(Buffer.from(await upstream.arrayBuffer()));
    return true;
  };
}
