import fs from 'node:fs';
import { loadConfig } from '../../src/config/index.js';
import { createOpenTextUpstreams } from '../../src/upstreams/opentext/index.js';
import { FAST } from '../contract/opentext/setup.js';
import { freshDataDir, startTestGateway, waitUntil, type TestGateway } from '../support/harness.js';
import { DEMO_CLIENT, DEMO_DOMAIN, seedDemo } from '../support/opentext/demo.js';
import type { StepSpec } from '../support/opentext/exstream/runtime.js';
import { startOpenTextFake, type OpenTextFake } from '../support/opentext/server.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';
import { subscribe } from '../support/ws.js';

/**
 * The Exstream runtime monitor through the gateway, against the fake on port 0 (contract,
 * "Runtime monitor"): an `error` batch job opens exactly one GENERATION_EXCEPTION case, however
 * often it is polled, across a restart, through an outage, and with two gateways on one
 * PostgreSQL (only the elected one polls); a `holding` job shows in `heldJobs` with its held
 * steps, and operations (only) releases it, which Exstream sees and the job's trail records.
 */
const JOBS = /\/orchestration\/api\/v1\/runtime\/[^/]+\/jobs$/;

function failingFlow(msg: string): StepSpec[][] {
  return [
    [
      { name: 'Input', type: 'input' },
      { name: 'Compose', type: 'communication', fail: msg },
      { name: 'Output', type: 'output' },
    ],
  ];
}

const HOLD_FLOW: StepSpec[][] = [
  [
    { name: 'Input', type: 'input' },
    { name: 'Compose', type: 'communication' },
    { name: 'Approve before send', type: 'hold' },
    { name: 'Output', type: 'output' },
  ],
];

/** An error batch job as a failed input file would leave it in Exstream. */
function errorJob(fake: OpenTextFake, externalId: string, msg: string): string {
  const id = fake.runtime.addJob(DEMO_DOMAIN, { externalId, flows: failingFlow(msg) });
  fake.runtime.settle();
  expect(fake.runtime.job(id)).toMatchObject({ status: 'error', msg });
  return id;
}

function gatewayEnv(fake: OpenTextFake, client = DEMO_CLIENT): Record<string, string> {
  return { ...fake.settings(client, DEMO_DOMAIN), ...FAST, EXSTREAM_POLL_MS: '100' };
}

/** Titles of every GENERATION_EXCEPTION case, as operations lists them (all pages). */
async function exceptionCaseTitles(t: TestGateway, token: string): Promise<string[]> {
  const titles: string[] = [];
  let after: string | null = null;
  for (;;) {
    const r: {
      data?: {
        cases: {
          edges: { node: { title: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
      errors?: unknown;
    } = await t.gql(
      `query ($after: String) { cases(kind: GENERATION_EXCEPTION, first: 100, after: $after) {
         edges { node { title } } pageInfo { hasNextPage endCursor } } }`,
      { after },
      token,
    );
    expect(r.errors).toBeUndefined();
    titles.push(...r.data!.cases.edges.map((e) => e.node.title));
    if (!r.data!.cases.pageInfo.hasNextPage) return titles;
    after = r.data!.cases.pageInfo.endCursor;
  }
}

async function casesFor(t: TestGateway, token: string, msg: string): Promise<number> {
  return (await exceptionCaseTitles(t, token)).filter((title) => title.includes(msg)).length;
}

/** Waits until the fake has answered `polls` more job lists (each poll lists error and holding jobs). */
async function morePolls(fake: OpenTextFake, polls: number): Promise<void> {
  const start = fake.served(JOBS, 'GET');
  await waitUntil(async () => fake.served(JOBS, 'GET') >= start + 2 * polls, Date.now() + 60_000);
}

/**
 * Waits until a poll that began after now has completed (a poll lists error jobs, then holding
 * jobs: four lists answered from now on include one whole poll), then until the gateways' work in
 * hand (the command that opens an exception's case) is done.
 */
async function polledAndSettled(fake: OpenTextFake, ...gateways: TestGateway[]): Promise<void> {
  await morePolls(fake, 2);
  for (const g of gateways) await g.settle();
}

describe('on the embedded store (PGlite)', () => {
  let fake: OpenTextFake;
  let dataDir: string;
  let t: TestGateway | null = null;
  let ops: string;

  beforeAll(async () => {
    fake = await startOpenTextFake();
    seedDemo(fake);
    dataDir = await freshDataDir();
  });

  afterAll(async () => {
    await t?.stop();
    await fake?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('an error job opens exactly one exception case, polled again and again, and across a restart', async () => {
    const msg = 'Record 3: policyNumber is missing (monitor job one)';
    const jobId = errorJob(fake, 'BATCH-ERR-1', msg);
    t = await startTestGateway({ DATA_DIR: dataDir, ...gatewayEnv(fake) });
    ops = await t.token('olga.ops', 'operations');

    await polledAndSettled(fake, t);
    expect(await casesFor(t, ops, msg)).toBe(1);
    // The exception carries the job: id, externalId, and its msg as the message.
    const raised = await subscribe<{
      generationExceptionRaised: {
        kind: string;
        message: string;
        jobId: string | null;
        externalId: string | null;
        status: string;
        case: { id: string } | null;
      };
    }>(
      t.url,
      ops,
      `subscription { generationExceptionRaised(after: "0") { kind message jobId externalId status case { id } } }`,
    );
    const events = await raised.waitFor((r) => r.some((e) => e.generationExceptionRaised.jobId === jobId));
    await raised.close();
    const mine = events.filter((e) => e.generationExceptionRaised.jobId === jobId);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.generationExceptionRaised).toEqual({
      kind: 'TEMPLATE_ERROR',
      message: msg,
      jobId,
      externalId: 'BATCH-ERR-1',
      status: 'OPEN',
      case: { id: expect.any(String) },
    });

    // Polled again: the job is still `error` in Exstream, and still has its one case.
    await polledAndSettled(fake, t);
    expect(await casesFor(t, ops, msg)).toBe(1);

    // A restart: a new process on the same store reads the same job again, and a new one.
    await t.stop();
    t = null;
    const msg2 = 'Record 9: template section missing (monitor job two)';
    errorJob(fake, 'BATCH-ERR-2', msg2);
    t = await startTestGateway({ DATA_DIR: dataDir, ...gatewayEnv(fake) });
    ops = await t.token('olga.ops', 'operations');
    await polledAndSettled(fake, t);
    expect(await casesFor(t, ops, msg)).toBe(1);
    expect(await casesFor(t, ops, msg2)).toBe(1);
    // Two gateway starts on a busy machine.
  }, 180_000);

  test('polls running at once (a leader that lost its lock still finishing one) still make one case per job', async () => {
    const msg = 'Record 4: currency missing (concurrent polls)';
    errorJob(fake, 'BATCH-ERR-5', msg);
    const monitor = t!.gateway.subgraphs!.communications.monitor.monitor!;
    // Three at once, besides the leader's own loop.
    const results = await Promise.all([monitor.pollOnce(), monitor.pollOnce(), monitor.pollOnce()]);
    expect(results.reduce((n, r) => n + r.exceptionsRaised, 0)).toBeLessThanOrEqual(1);
    await polledAndSettled(fake, t!);
    expect(await casesFor(t!, ops, msg)).toBe(1);
  });

  test('an Exstream outage while polling is survived: nothing crashes, polling resumes, nothing is duplicated', async () => {
    const before = 'Record 1: bad address (before the outage)';
    errorJob(fake, 'BATCH-ERR-3', before);
    await polledAndSettled(fake, t!);
    expect(await casesFor(t!, ops, before)).toBe(1);

    // Exstream answers 503 to every runtime call for a while (retries, then the breaker opens).
    const OUTAGE = 6;
    fake.faults.add({
      path: /\/orchestration\/api\/v1\/runtime\//,
      kind: 'status',
      status: 503,
      times: OUTAGE,
    });
    const during = 'Record 2: bad address (during the outage)';
    errorJob(fake, 'BATCH-ERR-4', during);
    await waitUntil(
      async () => fake.requests.filter((r) => r.fault === 'status' && JOBS.test(r.path)).length >= OUTAGE,
      Date.now() + 60_000,
    );
    // The graph still answers, from its own store.
    const held = await t!.gql<{ heldJobs: unknown[] }>(`{ heldJobs { id } }`, {}, ops);
    expect(held.errors).toBeUndefined();

    // Exstream is back: the job that failed meanwhile gets its case, and nothing gets a second one.
    await polledAndSettled(fake, t!);
    expect(await casesFor(t!, ops, before)).toBe(1);
    expect(await casesFor(t!, ops, during)).toBe(1);
  }, 120_000);

  test('a holding job shows with its held steps; operations releases it, Exstream sees it, the trail records it', async () => {
    const cursor = await t!.cursor('heldJobUpdated');
    const jobId = fake.runtime.addJob(DEMO_DOMAIN, { externalId: 'BATCH-HOLD-1', flows: HOLD_FLOW });
    fake.runtime.settle();
    expect(fake.runtime.job(jobId)!.status).toBe('holding');
    const updates = await subscribe<{
      heldJobUpdated: {
        id: string;
        status: string;
        releasedBy: string | null;
        steps: { name: string | null }[];
      };
    }>(
      t!.url,
      ops,
      `subscription ($after: ID, $jobId: ID) { heldJobUpdated(after: $after, jobId: $jobId) {
        id status releasedBy steps { name } } }`,
      { after: cursor, jobId },
    );

    type Held = {
      id: string;
      externalId: string | null;
      status: string;
      since: string;
      steps: { name: string | null; type: string | null; status: string }[];
    };
    const HELD = `{ heldJobs { id externalId status since steps { name type status } } }`;
    let listed: Held[] = [];
    await waitUntil(async () => {
      listed = (await t!.gql<{ heldJobs: Held[] }>(HELD, {}, ops)).data!.heldJobs;
      return listed.some((j) => j.id === jobId);
    }, Date.now() + 30_000);
    expect(listed.find((j) => j.id === jobId)).toEqual({
      id: jobId,
      externalId: 'BATCH-HOLD-1',
      status: 'HOLDING',
      since: expect.any(String),
      steps: [{ name: 'Approve before send', type: 'hold', status: 'holding' }],
    });

    const RELEASE = `mutation ($input: ReleaseHeldJobInput!) { releaseHeldJob(input: $input) {
      id status releasedBy releaseComment steps { name } } }`;
    const input = { jobId, comment: 'Checked the print run against the approved proof' };
    // Only operations releases: an auditor, a requester and an admin are refused, and nothing moves.
    for (const role of ['auditor', 'requester', 'admin'] as const) {
      const refused = await t!.gql(RELEASE, { input }, await t!.token(`someone.${role}`, role));
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(fake.runtime.job(jobId)!.status).toBe('holding');
    // Bad input changes nothing either.
    const empty = await t!.gql(RELEASE, { input: { jobId, comment: '' } }, ops);
    expect(empty.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(fake.runtime.job(jobId)!.status).toBe('holding');

    const released = await t!.gql<{ releaseHeldJob: Record<string, unknown> }>(RELEASE, { input }, ops);
    expect(released.errors).toBeUndefined();
    expect(released.data!.releaseHeldJob).toEqual({
      id: jobId,
      status: 'RELEASED',
      releasedBy: 'olga.ops',
      releaseComment: input.comment,
      steps: [{ name: 'Approve before send' }],
    });
    // Exstream let the flow go on: it runs to its end.
    expect(fake.runtime.job(jobId)!.status).not.toBe('holding');
    fake.runtime.settle();
    expect(fake.runtime.job(jobId)!.status).toBe('complete');

    // Subscribers saw it held, then released, each as it was then.
    const seen = await updates.waitFor((r) => r.length >= 2);
    await updates.close();
    expect(seen.map((e) => e.heldJobUpdated)).toEqual([
      { id: jobId, status: 'HOLDING', releasedBy: null, steps: [{ name: 'Approve before send' }] },
      { id: jobId, status: 'RELEASED', releasedBy: 'olga.ops', steps: [{ name: 'Approve before send' }] },
    ]);

    // Released once: a second release is a conflict, and it no longer lists as held.
    const again = await t!.gql(RELEASE, { input }, ops);
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const after = (await t!.gql<{ heldJobs: Held[] }>(HELD, {}, ops)).data!.heldJobs;
    expect(after.map((j) => j.id)).not.toContain(jobId);

    // The trail, as an auditor reads it.
    const auditor = await t!.token('ann.auditor', 'auditor');
    const trail = await t!.gql<{
      heldJob: {
        status: string;
        history: { actor: string; action: string; detail: Record<string, unknown> }[];
      };
    }>(
      `query ($id: ID!) { heldJob(id: $id) { status history { actor action detail } } }`,
      { id: jobId },
      auditor,
    );
    expect(trail.errors).toBeUndefined();
    expect(trail.data!.heldJob.status).toBe('RELEASED');
    expect(trail.data!.heldJob.history.map((h) => [h.actor, h.action])).toEqual([
      ['exstream', 'HELD'],
      ['olga.ops', 'RELEASED'],
    ]);
    expect(trail.data!.heldJob.history[1]!.detail).toMatchObject({ comment: input.comment });
  });

  test('a poll that read a job as holding just before its release does not hold it again', async () => {
    const jobId = fake.runtime.addJob(DEMO_DOMAIN, { externalId: 'BATCH-HOLD-4', flows: HOLD_FLOW });
    fake.runtime.settle();
    const heldIds = async () =>
      (await t!.gql<{ heldJobs: { id: string }[] }>(`{ heldJobs { id } }`, {}, ops)).data!.heldJobs.map(
        (j) => j.id,
      );
    await waitUntil(async () => (await heldIds()).includes(jobId), Date.now() + 30_000);

    // The monitor's next read of held steps is answered as of now (holding), but late.
    fake.faults.add({
      path: /\/flow-steps$/,
      method: 'GET',
      kind: 'slow',
      phase: 'after',
      delayMs: 1000,
      times: 1,
    });
    await waitUntil(async () => fake.requests.some((r) => r.fault === 'slow'), Date.now() + 30_000);
    // Meanwhile operations releases it.
    const released = await t!.gql<{ releaseHeldJob: { status: string } }>(
      `mutation ($input: ReleaseHeldJobInput!) { releaseHeldJob(input: $input) { status } }`,
      { input: { jobId, comment: 'Released while a poll was reading it' } },
      ops,
    );
    expect(released.data!.releaseHeldJob.status).toBe('RELEASED');
    // The late answer arrives and that poll ends; so does the next one.
    await morePolls(fake, 3);
    const r = await t!.gql<{ heldJob: { status: string; history: { action: string }[] } }>(
      `query ($id: ID!) { heldJob(id: $id) { status history { action } } }`,
      { id: jobId },
      ops,
    );
    expect(r.data!.heldJob).toEqual({
      status: 'RELEASED',
      history: [{ action: 'HELD' }, { action: 'RELEASED' }],
    });
    expect(await heldIds()).not.toContain(jobId);
  });

  test('with Exstream down a release answers UPSTREAM_UNAVAILABLE (503, Retry-After) and the job stays held; once back, it goes through', async () => {
    const jobId = fake.runtime.addJob(DEMO_DOMAIN, { externalId: 'BATCH-HOLD-3', flows: HOLD_FLOW });
    fake.runtime.settle();
    const heldIds = async () =>
      (await t!.gql<{ heldJobs: { id: string }[] }>(`{ heldJobs { id } }`, {}, ops)).data!.heldJobs.map(
        (j) => j.id,
      );
    await waitUntil(async () => (await heldIds()).includes(jobId), Date.now() + 30_000);

    const release = () =>
      fetch(t!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ops}` },
        body: JSON.stringify({
          query: `mutation ($input: ReleaseHeldJobInput!) { releaseHeldJob(input: $input) { id status } }`,
          variables: { input: { jobId, comment: 'Proof checked' } },
        }),
      });
    const outage = fake.faults.add({
      path: /\/orchestration\/api\/v1\/runtime\//,
      kind: 'status',
      status: 503,
    });
    const down = await release();
    const body = (await down.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(down.status).toBe(503);
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    // Nothing moved, here or there.
    expect(fake.runtime.job(jobId)!.status).toBe('holding');
    expect(await heldIds()).toContain(jobId);

    outage();
    let answer: { data?: { releaseHeldJob: { id: string; status: string } } } = {};
    // The circuit lets a trial call through once its half-open time (50 ms here) has passed.
    await waitUntil(async () => {
      answer = (await (await release()).json()) as typeof answer;
      return answer.data?.releaseHeldJob.status === 'RELEASED';
    }, Date.now() + 30_000);
    expect(fake.runtime.job(jobId)!.status).not.toBe('holding');
    expect(await heldIds()).not.toContain(jobId);
  });

  test('a job released in Exstream itself leaves the held list, and its trail says so', async () => {
    const jobId = fake.runtime.addJob(DEMO_DOMAIN, { externalId: 'BATCH-HOLD-2', flows: HOLD_FLOW });
    fake.runtime.settle();
    const listed = async () =>
      (await t!.gql<{ heldJobs: { id: string }[] }>(`{ heldJobs { id } }`, {}, ops)).data!.heldJobs.map(
        (j) => j.id,
      );
    await waitUntil(async () => (await listed()).includes(jobId), Date.now() + 30_000);

    // Someone releases it in Exstream's own tools (through the API, as they do).
    const config = loadConfig({ ...fake.settings(DEMO_CLIENT, DEMO_DOMAIN), ...FAST });
    const runtime = createOpenTextUpstreams(config.opentext).exstream!.runtime;
    for (const step of await runtime.heldSteps(jobId)) await runtime.releaseFlowStep(step.id);

    await waitUntil(async () => !(await listed()).includes(jobId), Date.now() + 30_000);
    const r = await t!.gql<{ heldJob: { status: string; history: { actor: string; action: string }[] } }>(
      `query ($id: ID!) { heldJob(id: $id) { status history { actor action } } }`,
      { id: jobId },
      ops,
    );
    expect(r.data!.heldJob).toEqual({
      status: 'LEFT_HOLD',
      history: [
        { actor: 'exstream', action: 'HELD' },
        { actor: 'exstream', action: 'LEFT_HOLD' },
      ],
    });
  });
});

const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const withPostgres = pgUrl ? describe : describe.skip;

withPostgres('two gateways on one PostgreSQL database', () => {
  let fake: OpenTextFake;
  let db: PostgresFixture | null = null;
  const gateways: TestGateway[] = [];
  const dirs: string[] = [];
  const A = { clientId: 'gateway-a', secret: 'secret-a', groups: ['commsgraph-service'] };
  const B = { clientId: 'gateway-b', secret: 'secret-b', groups: ['commsgraph-service'] };

  beforeAll(async () => {
    fake = await startOpenTextFake();
    seedDemo(fake);
    fake.otds.addClient(A);
    fake.otds.addClient(B);
    db = await freshDatabase(pgUrl!);
  }, 60_000);

  afterAll(async () => {
    for (const g of gateways) await g.stop();
    await fake?.close();
    await db?.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  async function start(client: typeof A): Promise<TestGateway> {
    const dir = fs.mkdtempSync(`${process.env.TMPDIR ?? '/tmp'}/commsgraph-monitor-`);
    dirs.push(dir);
    // No demo data: nothing here needs it, and a fresh store would seed it from the fake's catalogue.
    const g = await startTestGateway({
      DATA_DIR: dir,
      DATABASE_URL: db!.url,
      SEED_DEMO: 'false',
      ...gatewayEnv(fake, client),
    });
    gateways.push(g);
    return g;
  }

  /** Which clients (gateways) listed runtime jobs after request number `from`. */
  const pollers = (from: number) =>
    new Set(
      fake.requests
        .slice(from)
        .filter((r) => JOBS.test(r.path) && !r.fault)
        .map((r) => r.client),
    );

  test('only the elected gateway polls; each error job gets one case; the other takes over when it stops', async () => {
    const a = await start(A);
    const b = await start(B);
    // Each gateway here has its own dev signing key (its DATA_DIR).
    const opsOf = (g: TestGateway) => g.token('olga.ops', 'operations');
    const mark = fake.requests.length;
    const msg = 'Record 5: missing premium (two gateways)';
    errorJob(fake, 'BATCH-PG-1', msg);
    await polledAndSettled(fake, a, b);
    await morePolls(fake, 2);
    const polled = pollers(mark);
    expect(polled.size).toBe(1);
    expect(await casesFor(a, await opsOf(a), msg)).toBe(1);
    expect(await casesFor(b, await opsOf(b), msg)).toBe(1);

    // The leader stops (a deploy, a crash): the other is elected and carries on, without repeats.
    const [leader, other] = polled.has(A.clientId) ? [a, b] : [b, a];
    const otherClient = polled.has(A.clientId) ? B.clientId : A.clientId;
    await leader.stop();
    gateways.splice(gateways.indexOf(leader), 1);
    const handover = fake.requests.length;
    const msg2 = 'Record 6: missing premium (after the handover)';
    errorJob(fake, 'BATCH-PG-2', msg2);
    await polledAndSettled(fake, other);
    expect([...pollers(handover)]).toEqual([otherClient]);
    const ops = await opsOf(other);
    expect(await casesFor(other, ops, msg)).toBe(1);
    expect(await casesFor(other, ops, msg2)).toBe(1);
  }, 180_000);
});
