/**
 * `npm run fake:opentext`: the OpenText fake on a port, seeded with the demo domain, so connected
 * mode can be tried on one machine. Prints the settings to export for CommsGraph.
 *
 * Workflow Service is mounted with the shipped BPMN models. A reviewer working "in OpenText's task
 * UI" is the OTDS client `ui-reviewer` (printed below): with its token, claim and complete a task
 * through `/workflow/v1/tasks/{id}`, and CommsGraph's poller picks the decision up.
 *
 *   npm run fake:opentext -- --port 4010 [--host 127.0.0.1] [--tick-ms 1000] [--token-expires-in 900]
 *
 * PORT also sets the port. The control API (`/__fake/...`, README.md) is on: this is a test tool.
 */
import { parseArgs } from 'node:util';
import { DEMO_CLIENT, DEMO_DOMAIN, seedDemo } from './demo.js';
import { OpenTextFake } from './server.js';
import { createMountedWorkflowFake } from './workflow/mount.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'tick-ms': { type: 'string', default: '1000' },
      'token-expires-in': { type: 'string', default: '900' },
    },
  });
  const port = Number(values.port ?? process.env.PORT ?? 4010);
  const tickMs = Number(values['tick-ms']);
  const expiresIn = Number(values['token-expires-in']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port ${String(values.port)}`);
  // Workflow Service runs the shipped models (opentext/models), so both connectors can be tried.
  const workflow = createMountedWorkflowFake();
  const fake = new OpenTextFake({ controlApi: true, workflow: workflow.module });
  fake.otds.expiresInSec = expiresIn;
  const ids = seedDemo(fake);
  // Fake-only demo identity: an OpenText user in every candidate group of the shipped models.
  const uiUser = { clientId: 'ui-reviewer', secret: 'ui-reviewer-fake-secret', subject: 'rita@demo.example' };
  fake.otds.addClient({
    ...uiUser,
    groups: [
      'commsgraph-reviewers',
      'commsgraph-approvers',
      'commsgraph-compliance',
      'commsgraph-service-agents',
      'commsgraph-operations',
    ],
  });
  await fake.listen(port, values.host);
  // Runtime jobs move on by themselves, as in a real Exstream.
  const ticker = tickMs > 0 ? setInterval(() => fake.runtime.tick(), tickMs) : undefined;
  const settings = fake.settings(DEMO_CLIENT, DEMO_DOMAIN);
  process.stdout.write(
    `OpenText fake (OTDS + Exstream + Workflow Service) listening on ${fake.url}\n` +
      `Domain ${DEMO_DOMAIN} with ${ids.length} approved communications. Point CommsGraph at it with:\n\n` +
      Object.entries(settings)
        .map(([k, v]) => `export ${k}=${v}`)
        .join('\n') +
      "\n\nThe credentials above are the fake's own demo client. Ctrl-C stops it.\n" +
      `A user of OpenText's task UI: client ${uiUser.clientId} / ${uiUser.secret} (${uiUser.subject}).\n`,
  );
  const stop = () => {
    if (ticker) clearInterval(ticker);
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
