/**
 * A standalone server for the Workflow Service fake alone, for this module's own tests. The
 * combined OpenText fake mounts `createWorkflowFake().handle` behind its OTDS auth layer instead.
 *
 * Fake-only auth: a bearer token `test:<sub>[:<group>,<group>…]` is that caller; anything else is
 * 401 with an API-gateway `fault` body [I] (the real 401 body is a gap, reference §13.12).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWorkflowFake, type Caller, type WorkflowFake, type WorkflowFakeOptions } from './fake.js';

export interface WorkflowFakeServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `WORKFLOW_SERVICE_URL` for this server. */
  readonly serviceUrl: string;
  /** `WORKFLOW_HISTORY_URL` for this server. */
  readonly historyUrl: string;
  readonly fake: WorkflowFake;
  close(): Promise<void>;
}

/** The fake-only bearer token of a caller. */
export function testToken(sub: string, groups: readonly string[] = []): string {
  return `test:${sub}${groups.length ? `:${groups.join(',')}` : ''}`;
}

function callerOf(header: string | undefined): Caller | null {
  const match = /^Bearer test:([^:\s]+)(?::(\S*))?$/.exec(header ?? '');
  if (!match) return null;
  return { sub: match[1]!, groups: (match[2] ?? '').split(',').filter(Boolean) };
}

export async function startWorkflowFakeServer(
  options: WorkflowFakeOptions = {},
): Promise<WorkflowFakeServer> {
  const fake = createWorkflowFake(options);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const caller = callerOf(req.headers.authorization);
    if (!caller) {
      const body = JSON.stringify({
        fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } },
      });
      res.writeHead(401, { 'content-type': 'application/json' }).end(body);
      return;
    }
    fake.handle(req, res, url, caller).then(
      (handled) => {
        if (!handled)
          res
            .writeHead(404, { 'content-type': 'application/json' })
            .end(JSON.stringify({ message: 'Not found', exception: 'No such API' }));
      },
      (error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    serviceUrl: `${url}/workflow/v1`,
    historyUrl: `${url}/workflow-history/v1`,
    fake,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
