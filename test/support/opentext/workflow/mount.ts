/**
 * Mounts the Workflow Service fake (`createWorkflowFake().handle`, written against node's request
 * and response) into the combined OpenText fake, behind its OTDS token layer: the caller is the
 * token's subject and groups. The fake's own `reset` fault cannot drop a socket from here; it
 * answers 502 instead (use the combined fake's faults for resets).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FakeHandler, FakeResponse } from '../types.js';
import type { WorkflowFake } from './fake.js';

export function mountWorkflowFake(fake: WorkflowFake): FakeHandler {
  return async (req, caller) => {
    let reset = false;
    const incoming = Object.assign(Readable.from(req.body.length ? [req.body] : []), {
      method: req.method,
      headers: req.headers,
      socket: { destroy: () => (reset = true) },
    }) as unknown as IncomingMessage; // test adapter: the fake reads only these members
    const answer: FakeResponse = { status: 500 };
    const captured = {
      headersSent: false,
      writeHead(status: number, headers: Record<string, string> = {}) {
        answer.status = status;
        answer.headers = headers;
        captured.headersSent = true;
        return captured;
      },
      end(text?: string) {
        if (text !== undefined) answer.body = Buffer.from(text);
        return captured;
      },
    };
    const url = new URL(`http://fake${req.path}?${req.query.toString()}`);
    const handled = await fake.handle(
      incoming,
      captured as unknown as ServerResponse, // test adapter: the fake calls only writeHead and end
      url,
      { sub: caller.subject, groups: caller.groups },
    );
    if (reset) return { status: 502, headers: { 'content-type': 'text/plain' }, body: 'reset' };
    if (!handled)
      return { status: 404, headers: { 'content-type': 'application/json' }, body: { message: 'Not found' } };
    return answer;
  };
}
