import { randomUUID } from 'node:crypto';
import { execute, parse, type GraphQLSchema } from 'graphql';
import { ErrorCode } from '../errors/index.js';
import type { Principal } from '../identity/index.js';
import { admitRoute, sendError } from './http.js';
import type { Route } from './serve.js';
import { HttpAuthError } from './serve.js';

/**
 * GET /reports/notices/:caseId.csv: the regulatory report of a mandatory
 * notice as CSV. Who may fetch it is the policy's (HTTP_ROUTE_ROLES); it then
 * runs one query against the gateway's own schema, with the caller's
 * identity, so the CSV says exactly what the API says.
 */
const ROUTE = 'GET /reports/notices/:caseId.csv';
const PATH = /^\/reports\/notices\/([A-Za-z0-9_-]{1,100})\.csv$/;
const QUERY = parse(`query NoticeReport($id: ID!) { case(id: $id) {
  id kind status title createdAt
  approvals { stage decision decidedBy decidedAt }
  history { action at }
  noticeBatch { id status segments channels customers total generated failed delivered deliveryFailed startedAt finishedAt
    counts { channel documentStatus deliveryStatus count }
    openExceptions { kind } }
} }`);

/**
 * A DateTime as `execute` hands it over: the scalar's serialised value, a Date
 * in process (JSON turns it into a string only on the wire) or a string.
 */
type Timestamp = Date | string;

/** ISO 8601 in UTC with milliseconds (2026-12-04T15:44:24.000Z), whatever form it came in; '' for none. */
export function isoTimestamp(value: Timestamp | null | undefined): string {
  if (value == null || value === '') return '';
  const date = value instanceof Date ? value : new Date(value);
  // Not a time at all: shown as it came rather than as "Invalid Date".
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

interface ReportData {
  case: {
    id: string;
    kind: string;
    status: string;
    title: string;
    createdAt: Timestamp;
    approvals: { stage: string; decision: string; decidedBy: string | null; decidedAt: Timestamp | null }[];
    history: { action: string; at: Timestamp }[];
    noticeBatch: {
      id: string;
      status: string;
      segments: string[];
      channels: string[];
      customers: number;
      total: number;
      generated: number;
      failed: number;
      delivered: number;
      deliveryFailed: number;
      startedAt: Timestamp;
      finishedAt: Timestamp | null;
      counts: { channel: string; documentStatus: string; deliveryStatus: string | null; count: number }[];
      openExceptions: { kind: string }[];
    } | null;
  } | null;
}

/**
 * RFC 4180 quoting. A cell starting with =, +, -, @, a tab or a carriage
 * return is defused with a leading apostrophe, so a spreadsheet shows it as
 * text instead of running it as a formula (the OWASP list for CSV injection).
 */
export function csvCell(value: unknown): string {
  let s = value == null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function noticeReportRoute(schema: () => GraphQLSchema): Route {
  return async (req, res, auth) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = PATH.exec(url.pathname);
    if (!m) return false;
    let principal: Principal | null = null;
    try {
      principal = await auth();
    } catch (err) {
      if (!(err instanceof HttpAuthError)) throw err;
    }
    if (!admitRoute(res, principal, ROUTE, 'The notice report')) return true;
    const result = await execute({
      schema: schema(),
      document: QUERY,
      variableValues: { id: m[1] },
      contextValue: { requestId: randomUUID(), principal, authorization: req.headers.authorization },
    });
    const err = result.errors?.[0];
    if (err) {
      const code = String(err.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR);
      sendError(
        res,
        code === ErrorCode.FORBIDDEN ? 403 : 500,
        code === ErrorCode.FORBIDDEN ? code : ErrorCode.INTERNAL_SERVER_ERROR,
        code === ErrorCode.FORBIDDEN ? err.message : 'Internal server error',
      );
      return true;
    }
    const c = (result.data as unknown as ReportData).case;
    if (!c || c.kind !== 'MANDATORY_NOTICE') {
      sendError(res, 404, ErrorCode.NOT_FOUND, `No mandatory notice ${m[1]}`);
      return true;
    }
    const b = c.noticeBatch;
    const rows: unknown[][] = [['section', 'key', 'value', 'at']];
    rows.push(
      ['case', 'id', c.id, isoTimestamp(c.createdAt)],
      ['case', 'title', c.title, ''],
      ['case', 'status', c.status, ''],
    );
    for (const a of c.approvals)
      rows.push(['approval', a.stage, a.decidedBy ?? '', isoTimestamp(a.decidedAt)]);
    const sent = c.history.find((h) => h.action === 'NOTICE_LAUNCHED');
    rows.push(['sent', 'launched', sent ? 'yes' : 'no', isoTimestamp(sent?.at)]);
    if (b) {
      rows.push(
        ['batch', 'id', b.id, isoTimestamp(b.startedAt)],
        ['batch', 'status', b.status, isoTimestamp(b.finishedAt)],
        ['segments', b.segments.join(';'), '', ''],
        ['channels', b.channels.join(';'), '', ''],
        ['totals', 'customers', b.customers, ''],
        ['totals', 'customers_x_channels', b.total, ''],
        ['totals', 'generated', b.generated, ''],
        ['totals', 'failed', b.failed, ''],
        ['totals', 'delivered', b.delivered, ''],
        ['totals', 'delivery_failed', b.deliveryFailed, ''],
      );
      for (const n of b.counts)
        rows.push(['count', `${n.channel}/${n.documentStatus}/${n.deliveryStatus ?? 'NONE'}`, n.count, '']);
      const open = new Map<string, number>();
      for (const e of b.openExceptions) open.set(e.kind, (open.get(e.kind) ?? 0) + 1);
      for (const [kind, n] of open) rows.push(['open_exceptions', kind, n, '']);
    }
    const body = rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
    res.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="notice-${c.id}.csv"`,
      'cache-control': 'private, no-store',
    });
    res.end(body);
    return true;
  };
}
