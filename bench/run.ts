import 'reflect-metadata';
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  execute,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLError,
  type GraphQLSchema,
} from 'graphql';
import { loadConfig } from '../src/config/index.js';
import type { BaseContext } from '../src/context/index.js';
import { readJsonBody, sendJson } from '../src/gateway/http.js';
import { startGateway, verifierFor, type Gateway } from '../src/gateway/index.js';
import {
  bearerToken,
  loadOrCreateDevKey,
  signDevToken,
  type Principal,
  type TokenVerifier,
} from '../src/identity/index.js';
import { configureLogger } from '../src/logger.js';
import type { Store } from '../src/store/db.js';
import type { SubgraphSet } from '../src/subgraphs/inprocess.js';
import type { Subgraph } from '../src/subgraphs/types.js';
import { createApprovedCases, PAGE_QUERY, quiesce, type PageData, type PageNode } from './fixtures.js';
import type { LoadOptions, LoadSummary } from './load.js';

/**
 * `npm run bench`: the case page (20 cases, each with customer, approvals,
 * documents and deliveries) through the federated gateway, against the same
 * data read from the three subgraphs directly in one server-side request.
 * The difference is what the gateway costs: query planning, entity fetches
 * through the stitched schema, Apollo Server.
 */
export const PAGE_SIZE = 20;
const CASES = 24;
const CONNECTIONS = 10;
const DURATION_SEC = 10;
const WARMUP_SEC = 2;

// ---------------------------------------------------------------------------
// (b) The subgraphs, called directly: what a client would do without the gateway.
// ---------------------------------------------------------------------------

const WORKFLOW_PAGE = parse(/* GraphQL */ `
  query Cases($first: Int) {
    cases(first: $first, kind: REGULATED_DOCUMENT) {
      edges {
        node {
          id
          title
          status
          customerId
          approvals {
            stage
            decision
            decidedBy
          }
        }
      }
    }
  }
`);
const CUSTOMERS_BY_ID = parse(/* GraphQL */ `
  query Customers($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on Customer {
        id
        name
        email
      }
    }
  }
`);
const DOCUMENTS_BY_CASE = parse(/* GraphQL */ `
  query Documents($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on Case {
        documents {
          id
          status
          contentHash
          deliveries {
            status
            attempts
          }
        }
      }
    }
  }
`);

interface WorkflowPage {
  cases: { edges: Array<{ node: Omit<PageNode, 'customer' | 'documents'> & { customerId: string | null } }> };
}
interface CustomerEntities {
  _entities: Array<PageNode['customer']>;
}
interface DocumentEntities {
  _entities: Array<{ documents: PageNode['documents'] } | null>;
}

function checked(schema: GraphQLSchema, doc: DocumentNode, name: string): DocumentNode {
  const errors = validate(schema, doc);
  if (errors.length) throw new Error(`${name}: ${errors.map((e) => e.message).join('; ')}`);
  return doc;
}

async function run<T>(
  subgraph: Subgraph,
  document: DocumentNode,
  variableValues: Record<string, unknown>,
  base: BaseContext,
): Promise<ExecutionResult<T>> {
  // graphql-js types data as an open record; each document above fixes its shape.
  return (await execute({
    schema: subgraph.schema,
    document,
    variableValues,
    contextValue: subgraph.contextFor(base),
  })) as ExecutionResult<T>;
}

/** The page, read with one operation per subgraph (customers and communications in parallel). */
async function directPage(
  s: SubgraphSet,
  first: number,
  base: BaseContext,
): Promise<ExecutionResult<PageData>> {
  const wf = await run<WorkflowPage>(s.workflow, WORKFLOW_PAGE, { first }, base);
  if (wf.errors?.length || !wf.data) return { errors: wf.errors ?? [] } as ExecutionResult<PageData>;
  const nodes = wf.data.cases.edges.map((e) => e.node);
  const customerIds = [...new Set(nodes.map((n) => n.customerId).filter((id): id is string => id != null))];
  const [customers, documents] = await Promise.all([
    run<CustomerEntities>(
      s.customers,
      CUSTOMERS_BY_ID,
      { representations: customerIds.map((id) => ({ __typename: 'Customer', id })) },
      base,
    ),
    run<DocumentEntities>(
      s.communications,
      DOCUMENTS_BY_CASE,
      { representations: nodes.map((n) => ({ __typename: 'Case', id: n.id })) },
      base,
    ),
  ]);
  const errors: GraphQLError[] = [...(customers.errors ?? []), ...(documents.errors ?? [])];
  const customerById = new Map(customerIds.map((id, i) => [id, customers.data?._entities[i] ?? null]));
  const edges = nodes.map((n, i) => ({
    node: {
      id: n.id,
      title: n.title,
      status: n.status,
      customer: n.customerId ? (customerById.get(n.customerId) ?? null) : null,
      approvals: n.approvals,
      documents: documents.data?._entities[i]?.documents ?? [],
    },
  }));
  return errors.length ? { data: { cases: { edges } }, errors } : { data: { cases: { edges } } };
}

/** A plain node:http server answering every POST with the page, authenticated like the gateway. */
export async function startDirectServer(
  s: SubgraphSet,
  verifier: TokenVerifier,
): Promise<{ url: string; close(): Promise<void> }> {
  checked(s.workflow.schema, WORKFLOW_PAGE, 'workflow');
  checked(s.customers.schema, CUSTOMERS_BY_ID, 'customers');
  checked(s.communications.schema, DOCUMENTS_BY_CASE, 'communications');
  const server = http.createServer((req, res) => {
    void (async () => {
      try {
        const token = bearerToken(req.headers.authorization);
        const principal: Principal | null = token ? await verifier.verify(token) : null;
        const body = (await readJsonBody(req)) as { variables?: { first?: number } } | undefined;
        const first = body?.variables?.first ?? PAGE_SIZE;
        const result = await directPage(s, first, { requestId: randomUUID(), principal });
        sendJson(
          res,
          200,
          result.errors
            ? { data: result.data, errors: result.errors.map((e) => e.toJSON()) }
            : { data: result.data },
        );
      } catch (err) {
        sendJson(res, 500, { errors: [{ message: (err as Error).message }] });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------

interface Target {
  name: string;
  url: string;
}

function requestInit(token: string): { headers: Record<string, string>; body: string } {
  return {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: PAGE_QUERY, variables: { first: PAGE_SIZE } }),
  };
}

/** One request, counting the store's statements while it runs (nothing else touches the store now). */
async function probe(
  target: Target,
  token: string,
  store: Store,
): Promise<{ queries: number; body: { data?: PageData; errors?: unknown[] } }> {
  const { headers, body } = requestInit(token);
  const before = store.stats.queries;
  const res = await fetch(target.url, { method: 'POST', headers, body });
  const json = (await res.json()) as { data?: PageData; errors?: unknown[] };
  const queries = store.stats.queries - before;
  if (!res.ok || json.errors)
    throw new Error(
      `${target.name}: HTTP ${res.status} ${JSON.stringify(json.errors ?? json).slice(0, 500)}`,
    );
  return { queries, body: json };
}

export function assertFullPage(name: string, data: PageData | undefined): void {
  const edges = data?.cases.edges ?? [];
  if (edges.length !== PAGE_SIZE) throw new Error(`${name}: ${edges.length} cases, expected ${PAGE_SIZE}`);
  for (const { node } of edges) {
    const complete =
      node.customer?.name &&
      node.approvals.length === 3 &&
      node.documents.length > 0 &&
      node.documents.every((d) => d.deliveries.length > 0);
    if (!complete)
      throw new Error(`${name}: case ${node.id} is missing its customer, approvals, documents or deliveries`);
  }
}

/** A target's load, and the server process's CPU time over the measured part (both targets run in this process, one at a time). */
interface Measured {
  summary: LoadSummary;
  cpuMs: number;
}

function load(target: Target, token: string): Promise<Measured> {
  const options: LoadOptions = {
    url: target.url,
    ...requestInit(token),
    connections: CONNECTIONS,
    durationSec: DURATION_SEC,
    warmupSec: WARMUP_SEC,
  };
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'load.js'), [JSON.stringify(options)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let summary: LoadSummary | null = null;
    let started: NodeJS.CpuUsage | null = null;
    let used: NodeJS.CpuUsage | null = null;
    child.on('message', (m) => {
      if ((m as { measuring?: boolean }).measuring) started = process.cpuUsage();
      else {
        used = process.cpuUsage(started ?? undefined);
        summary = m as LoadSummary;
      }
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      summary && used
        ? resolve({ summary, cpuMs: (used.user + used.system) / 1000 })
        : reject(new Error(`load generator for ${target.name} exited with ${code}`)),
    );
  });
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const pad = (s: string, w: number) => s.padStart(w);

function report(
  rows: Array<{ name: string; load: LoadSummary; queries: number; cpuMs: number }>,
  setupSec: number,
): void {
  const [gw, direct] = rows as [(typeof rows)[0], (typeof rows)[0]];
  const cpus = os.cpus();
  const cpuPerReq = (r: (typeof rows)[0]) => r.cpuMs / Math.max(1, r.load.totalRequests);
  const lines = [
    '',
    `CommsGraph case page: cases(first: ${PAGE_SIZE}, kind: REGULATED_DOCUMENT) with customer, approvals, documents, deliveries`,
    '',
    `${'target'.padEnd(34)}${pad('req/s (mean)', 14)}${pad('p99 (ms)', 10)}${pad('mean (ms)', 11)}${pad('requests', 10)}${pad('store queries/req', 19)}${pad('CPU ms/req', 12)}`,
    ...rows.map(
      (r) =>
        `${r.name.padEnd(34)}${pad(fmt(r.load.requestsPerSecMean), 14)}${pad(fmt(r.load.latencyP99Ms, 0), 10)}${pad(fmt(r.load.latencyMeanMs), 11)}${pad(String(r.load.totalRequests), 10)}${pad(String(r.queries), 19)}${pad(fmt(cpuPerReq(r), 2), 12)}`,
    ),
    `${'ratio gateway / direct'.padEnd(34)}${pad(`${fmt(gw.load.requestsPerSecMean / direct.load.requestsPerSecMean, 2)}x`, 14)}${pad(`${fmt(gw.load.latencyP99Ms / direct.load.latencyP99Ms, 2)}x`, 10)}${pad(`${fmt(gw.load.latencyMeanMs / direct.load.latencyMeanMs, 2)}x`, 11)}${pad('', 29)}${pad(`${fmt(cpuPerReq(direct) / cpuPerReq(gw), 2)}x`, 12)}`,
    '',
    'How it was measured:',
    `  autocannon 9, ${CONNECTIONS} connections, 1 request in flight each, ${DURATION_SEC} s per target after ${WARMUP_SEC} s of unreported warm-up,`,
    "  run in a child process (not on the servers' event loop); targets one after the other, gateway first.",
    `  Each request: POST JSON, the page query with first=${PAGE_SIZE}, an operations bearer token (the page includes contact details), verified by both targets; rate limit off.`,
    `  direct = one node:http request that runs graphql execute on each subgraph schema in-process: workflow cases(+customerId, approvals),`,
    '           then customers _entities(Customer) and communications _entities(Case){documents{deliveries}} in parallel; documents parsed once.',
    '  store queries/req = store.stats.queries over one request, background loops stopped (so only that request counts).',
    "  CPU ms/req = this process's CPU time (user + system) over the measured seconds / requests answered; its ratio",
    '  (direct / gateway) is what the gateway costs per request, and holds up on a shared machine where req/s does not.',
    `  Data: ${CASES} approved cases on ${CASES} customers, each document GENERATED and DELIVERED; embedded PGlite store (one connection).`,
    `  Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${os.platform()} ${os.arch()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}. Setup took ${fmt(setupSec)} s.`,
  ];
  for (const r of rows) {
    const bad = r.load.non2xx + r.load.errors + r.load.timeouts;
    if (bad)
      lines.push(
        `  WARNING ${r.name}: ${r.load.non2xx} non-2xx, ${r.load.errors} errors, ${r.load.timeouts} timeouts`,
      );
  }
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const started = Date.now();
  configureLogger({ level: 'error' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-bench-'));
  let gateway: Gateway | null = null;
  let direct: { url: string; close(): Promise<void> } | null = null;
  try {
    const config = loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      DELIVERY_STEP_MS: '0',
      SEED_DEMO: 'true',
      // Measuring the gateway's own work: the per-identity rate limit would answer most requests 429.
      RATE_LIMIT_PER_MINUTE: '0',
    });
    console.log(`starting the gateway on ${dataDir} (first start migrates and seeds)...`);
    gateway = await startGateway(config);
    const subgraphs = gateway.subgraphs!;
    const store = gateway.store!;
    console.log(`creating ${CASES} approved cases and generating their documents...`);
    await createApprovedCases(subgraphs, { count: CASES, label: 'bench' });
    await quiesce(subgraphs);

    const key = await loadOrCreateDevKey(config.dataDir);
    const token = await signDevToken(key, { sub: 'bench.operations', roles: ['operations'] }, config.auth);
    direct = await startDirectServer(subgraphs, await verifierFor(config));

    const targets: Target[] = [
      { name: 'gateway (federated)', url: gateway.url },
      { name: 'direct subgraph execution', url: direct.url },
    ];
    const probes = [];
    for (const target of targets) {
      const p = await probe(target, token, store);
      assertFullPage(target.name, p.body.data);
      probes.push(p);
    }
    if (!isDeepStrictEqual(probes[0]!.body.data, probes[1]!.body.data)) {
      throw new Error(
        'the gateway and the direct reads returned different pages; the comparison would be meaningless',
      );
    }
    const setupSec = (Date.now() - started) / 1000;

    const rows = [];
    for (const [i, target] of targets.entries()) {
      console.log(`loading ${target.name} (${WARMUP_SEC} s warm-up + ${DURATION_SEC} s)...`);
      const { summary, cpuMs } = await load(target, token);
      rows.push({ name: target.name, load: summary, queries: probes[i]!.queries, cpuMs });
    }
    report(rows, setupSec);
    console.log(`  Total run: ${fmt((Date.now() - started) / 1000)} s.`);
  } finally {
    await direct?.close().catch(() => undefined);
    await gateway?.stop().catch((err: unknown) => console.error('gateway stop failed', err));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// bench/gateways.ts imports the direct server from here; only `node dist/bench/run.js` runs the bench.
if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
