/**
 * The Workflow Service API modules' transport (src/upstreams/opentext/workflow/transport.ts) over
 * the process's resilient OpenText client: OTDS bearer token, timeouts, retries of idempotent
 * calls, the `workflow` circuit and its health for /readyz. Paths are joined to
 * WORKFLOW_SERVICE_URL or WORKFLOW_HISTORY_URL (the client's own base URL is empty).
 */
import type { WorkflowServiceConfig } from '../../../config/opentext.js';
import type { UpstreamClient } from '../../../upstreams/opentext/http.js';
import type { WorkflowTransport } from '../../../upstreams/opentext/workflow/index.js';

export function upstreamWorkflowTransport(
  client: UpstreamClient,
  config: Pick<WorkflowServiceConfig, 'serviceUrl' | 'historyUrl'>,
): WorkflowTransport {
  return {
    async send(request) {
      const base = request.base === 'service' ? config.serviceUrl : config.historyUrl;
      const query: Record<string, string | number | boolean | undefined> = {};
      for (const [name, value] of Object.entries(request.query ?? {}))
        query[name] = value instanceof Date ? value.toISOString() : value;
      const response = await client.request({
        operation: `workflow.${request.method} ${request.base}${request.path.replace(/\/[^/]*[0-9a-f-]{8,}[^/]*/g, '/{id}')}`,
        method: request.method,
        path: `${base}${request.path}`,
        query,
        headers: { accept: 'application/json' },
        ...(request.body === undefined ? {} : { body: { json: request.body } }),
        idempotent: request.idempotent,
      });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
      const text = response.text();
      return { status: response.status, headers, body: text === '' ? undefined : (response.json() ?? text) };
    },
  };
}
