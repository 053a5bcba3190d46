/**
 * The connector's side of the transport seam: the Workflow Service modules' requests sent through
 * the resilient OpenText client (OTDS token, timeouts, retries, the circuit of the `workflow`
 * upstream). An outage rejects with the client's `UpstreamUnavailableError`; any answer, error
 * statuses included, resolves for the modules to map.
 */
import type { UpstreamClient } from '../http.js';
import type { WorkflowRequest, WorkflowResponse, WorkflowTransport } from './transport.js';

export function upstreamTransport(
  client: UpstreamClient,
  urls: { serviceUrl: string; historyUrl: string },
): WorkflowTransport {
  return {
    async send(request: WorkflowRequest): Promise<WorkflowResponse> {
      const base = request.base === 'service' ? urls.serviceUrl : urls.historyUrl;
      const query: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(request.query ?? {})) {
        query[name] =
          value === undefined ? undefined : value instanceof Date ? value.toISOString() : String(value);
      }
      const response = await client.request({
        operation: `workflow ${request.method} ${request.path.replace(/\/[^/]*\d[^/]*/g, '/{id}')}`,
        method: request.method,
        // The client's base URL is empty for Workflow Service: each call names its own API's base.
        path: `${base.replace(/\/$/, '')}${request.path}`,
        query,
        body: request.body === undefined ? undefined : { json: request.body },
        idempotent: request.idempotent,
      });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
      const text = response.text();
      let body: unknown = undefined;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      return { status: response.status, headers, body };
    },
  };
}
