import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import pg from 'pg';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { wsClient } from '../support/ws.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';
import { nodeStart, npmToken, subgraphStart, type RunningProduct } from './server.js';

/**
 * A gateway replica killed with SIGKILL under its subscribers: the three
 * subgraph services and two gateway replicas (remote mode) on one
 * PostgreSQL, events through Redis. Subscribers on replica A; changes keep
 * coming through replica B before, during and after A dies; each subscriber
 * reconnects to B `after` the last eventId it got. In the end each has every
 * event of its stream exactly once, in order, as the events table has them.
 *
 * Needs PostgreSQL and Redis: CI provides both; a plain `npm test` skips.
 */
const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const redisUrl = serviceUrl('TEST_REDIS_URL', 'Redis');
const withServices = pgUrl && redisUrl ? describe : describe.skip;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A front end's subscription that, when its socket dies, resumes elsewhere `after` the last eventId. */
class ResumingSubscriber {
  readonly eventIds: string[] = [];
  readonly errors: unknown[] = [];
  /** Woken on every event: waitFor waits for events, not for time. */
  private wake: () => void = () => undefined;
  /** Resolves when the current connection ends (the socket closed or errored). */
  dropped: Promise<void> = Promise.resolve();
  private client: Client | null = null;

  constructor(
    private readonly token: string,
    private readonly query: string,
    private readonly variables: Record<string, unknown>,
    private readonly eventIdOf: (data: Record<string, unknown>) => string,
    /** Where the stream starts: the first connection asks for everything after it. */
    private readonly from: string,
  ) {}

  /** Connects to `url`, asking for the events after the last one received (or after `from`). */
  async open(url: string): Promise<void> {
    const client = wsClient(url, this.token);
    this.client = client;
    let drop!: () => void;
    this.dropped = new Promise((r) => (drop = r));
    const connected = new Promise<void>((resolve, reject) => {
      client.on('connected', () => resolve());
      client.on('closed', () => reject(new Error(`socket to ${url} closed before it connected`)));
    });
    client.subscribe(
      { query: this.query, variables: { ...this.variables, after: this.eventIds.at(-1) ?? this.from } },
      {
        next: (value) => {
          if (value.errors) this.errors.push(value.errors);
          if (value.data) this.eventIds.push(this.eventIdOf(value.data));
          this.wake();
        },
        error: () => drop(),
        complete: () => drop(),
      },
    );
    await connected;
  }

  async waitFor(count: number, ms = 60_000): Promise<void> {
    if (this.eventIds.length >= count) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `got ${this.eventIds.length} of ${count} events; errors: ${JSON.stringify(this.errors)}`,
              ),
            ),
          ms,
        );
        this.wake = () => {
          if (this.eventIds.length >= count) resolve();
        };
      });
    } finally {
      clearTimeout(timer);
      this.wake = () => undefined;
    }
  }

  async close(): Promise<void> {
    await this.client?.dispose();
  }
}

withServices('SIGKILL of a gateway replica under its subscribers', () => {
  let db: PostgresFixture;
  let sql: pg.Client;
  let dataDir: string;
  const procs: RunningProduct[] = [];
  let a: RunningProduct;
  let b: RunningProduct;

  beforeAll(async () => {
    db = await freshDatabase(pgUrl!);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-failover-'));
    const ports = {
      workflow: await freePort(),
      customers: await freePort(),
      communications: await freePort(),
    };
    const SUBGRAPH_URLS = Object.entries(ports)
      .map(([n, p]) => `${n}=http://127.0.0.1:${p}/graphql`)
      .join(',');
    const env = {
      SUBGRAPH_URLS,
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl!,
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0',
    };
    // One at a time: they migrate the same database (the migrator also takes a lock).
    for (const [n, p] of Object.entries(ports))
      procs.push(await subgraphStart(n, dataDir, { ...env, PORT: String(p) }));
    a = await nodeStart(dataDir, { ...env, GATEWAY_MODE: 'remote' });
    b = await nodeStart(dataDir, { ...env, GATEWAY_MODE: 'remote' });
    procs.push(a, b);
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  }, 300_000);

  afterAll(async () => {
    for (const p of procs.reverse())
      if (p.proc.exitCode === null && p.proc.signalCode === null) await p.stop();
    await sql?.end();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('subscribers reconnect to the other replica, resume with `after`, and miss nothing', async () => {
    const gql = async <T>(token: string, query: string, variables: Record<string, unknown>): Promise<T> => {
      const res = await fetch(b.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: T; errors?: unknown[] };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data!;
    };
    const svc = await npmToken(dataDir, 'failover-watcher', ['service']);
    const ops = await npmToken(dataDir, 'olga.ops', ['operations']);
    const requester = await npmToken(dataDir, 'rita', ['requester']);
    const billing = SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData;
    const started = await gql<{ startCase: { id: string } }>(
      requester,
      `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
      {
        input: {
          kind: 'REGULATED_DOCUMENT',
          title: 'Failover',
          customerId: 'cus_009',
          templateId: 'tpl_billing_notice',
          channel: 'PRINT',
          data: billing,
        },
      },
    );
    const caseId = started.startCase.id;
    const newest = async (table: string) => {
      const { rows } = await sql.query<{ id: string }>(
        `select coalesce(max(id), 0)::text as id from ${table}`,
      );
      return rows[0]!.id;
    };
    // Where the streams start: the subscribers ask for everything after this point.
    const fromCase = await newest('workflow.events');
    const fromDelivery = await newest('communications.events');

    const CASE = `subscription ($caseId: ID, $after: ID) { caseUpdated(caseId: $caseId, after: $after) { eventId } }`;
    const DELIVERY = `subscription ($after: ID) { deliveryStatusChanged(customerId: "cus_009", after: $after) { eventId } }`;
    const pick = (field: string) => (d: Record<string, unknown>) => (d[field] as { eventId: string }).eventId;
    const onA = [
      new ResumingSubscriber(svc, CASE, { caseId }, pick('caseUpdated'), fromCase),
      new ResumingSubscriber(svc, DELIVERY, {}, pick('deliveryStatusChanged'), fromDelivery),
    ];
    for (const s of onA) await s.open(a.url);
    // A witness on B all along, never cut off.
    const witness = new ResumingSubscriber(svc, CASE, { caseId }, pick('caseUpdated'), fromCase);
    await witness.open(b.url);

    // Changes through B, without pause, until told to stop.
    let producing = true;
    let notes = 0;
    let documents = 0;
    // Waiters for the producer to have made some number of notes.
    const noteWaiters: Array<{ n: number; resolve: () => void }> = [];
    const notesMade = (n: number) =>
      notes >= n ? Promise.resolve() : new Promise<void>((resolve) => noteWaiters.push({ n, resolve }));
    const producer = (async () => {
      while (producing) {
        await gql(ops, `mutation ($input: AddCaseNoteInput!) { addCaseNote(input: $input) { id } }`, {
          input: { caseId, note: `note ${notes++}` },
        });
        for (const w of noteWaiters.filter((x) => notes >= x.n)) {
          noteWaiters.splice(noteWaiters.indexOf(w), 1);
          w.resolve();
        }
        if (notes % 3 === 0) {
          await gql(
            svc,
            `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id } }`,
            {
              input: {
                customerId: 'cus_009',
                templateId: 'tpl_billing_notice',
                channel: 'PRINT',
                data: billing,
              },
            },
          );
          documents++;
        }
        // Pacing, not waiting: a steady stream of changes rather than a flood.
        await sleep(20);
      }
    })();

    await onA[0]!.waitFor(10);
    await onA[1]!.waitFor(3);
    const beforeKill = onA.map((s) => s.eventIds.length);
    const gone = new Promise((r) => a.proc.once('exit', r));
    process.kill(-a.proc.pid!, 'SIGKILL');
    await gone;
    await Promise.all(onA.map((s) => s.dropped));
    // A while with no subscriber connected, changes still coming: ten notes' worth.
    await notesMade(notes + 10);
    for (const s of onA) await s.open(b.url);
    await notesMade(notes + 30);
    producing = false;
    await producer;

    // Every delivery of the documents made reaches its last step.
    for (let i = 0; i < 600; i++) {
      const { rows } = await sql.query<{ open: string }>(
        `select count(*)::text as open from communications.deliveries l join communications.documents d on d.id = l.document_id
         where d.customer_id = 'cus_009' and l.status not in ('DELIVERED', 'FAILED')`,
      );
      if (rows[0]!.open === '0') break;
      await sleep(100);
    }
    const { rows: caseRows } = await sql.query<{ id: string }>(
      `select e.id::text as id from workflow.events e
       where e.topic = 'CASE_UPDATED' and e.payload->>'caseId' = $1 and e.id > $2::bigint order by e.id`,
      [caseId, fromCase],
    );
    const { rows: deliveryRows } = await sql.query<{ id: string }>(
      `select e.id::text as id from communications.events e
       where e.topic = 'DELIVERY_STATUS' and e.payload->>'customerId' = 'cus_009' and e.id > $1::bigint order by e.id`,
      [fromDelivery],
    );
    expect(caseRows.length).toBeGreaterThanOrEqual(notes);
    expect(deliveryRows.length).toBe(documents * 3);

    await onA[0]!.waitFor(caseRows.length);
    await onA[1]!.waitFor(deliveryRows.length);
    await witness.waitFor(caseRows.length);
    // Nothing more can come: the producer stopped and every delivery ended, so the rows are
    // the streams' last events, and a stream passes only ids above the last it passed.
    for (const s of [...onA, witness]) await s.close();

    // The kill really cut them off part-way: some events came after it.
    expect(onA.map((s, i) => s.eventIds.length > beforeKill[i]!)).toEqual([true, true]);
    expect(onA[0]!.eventIds).toEqual(caseRows.map((r) => r.id));
    expect(onA[1]!.eventIds).toEqual(deliveryRows.map((r) => r.id));
    expect(witness.eventIds).toEqual(caseRows.map((r) => r.id));
    expect([...onA, witness].flatMap((s) => s.errors)).toEqual([]);
  }, 600_000);
});
