import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config/index.js';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { Outbox, type BusEvent, type EventBus } from '../../src/events/index.js';
import { EventLog } from '../../src/events/log.js';
import { openStore, type Store } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrations/index.js';
import { sliceOf, type WorkflowDB } from '../../src/store/tables.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';
import { subscribe } from '../support/ws.js';

/**
 * The outbox relay: subscribers are fed from the events table, so what
 * reaches them is exactly what committed. An event whose process died
 * between its commit and its publish still arrives; a rolled-back change
 * never does; a bus that fails to publish fails nothing.
 */

/** A bus that is down: every publish fails, nothing is ever heard. */
const downBus: EventBus = {
  publish: () => Promise.reject(new Error('bus down')),
  listen: () => () => undefined,
  close: async () => undefined,
};

const CASE_UPDATED = `subscription ($caseId: ID, $after: ID) { caseUpdated(caseId: $caseId, after: $after) { eventId id title } }`;
type CaseEvent = { caseUpdated: { eventId: string; id: string; title: string } };

describe('with the embedded store', () => {
  let t: TestGateway;
  let svc: string;
  let ops: string;
  let caseId: string;

  beforeAll(async () => {
    t = await startTestGateway();
    svc = await t.token('relay-watcher', 'service');
    ops = await t.token('olga.ops', 'operations');
    const started = await t.gql<{ startCase: { id: string } }>(
      `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
      {
        input: {
          kind: 'REGULATED_DOCUMENT',
          title: 'Relay me',
          customerId: 'cus_009',
          templateId: 'tpl_billing_notice',
          channel: 'PRINT',
          data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
        },
      },
      await t.token('rita', 'requester'),
    );
    expect(started.errors).toBeUndefined();
    caseId = started.data!.startCase.id;
  });
  afterAll(() => t.stop());

  const db = () => t.gateway.store!.db as unknown as Kysely<unknown>;

  async function addNote(note: string): Promise<void> {
    const r = await t.gql(
      `mutation ($input: AddCaseNoteInput!) { addCaseNote(input: $input) { id } }`,
      { input: { caseId, note } },
      ops,
    );
    expect(r.errors).toBeUndefined();
  }

  /**
   * A subscription to the case that is certainly live: it starts after the newest event,
   * and a first note has come through it, so it is registered and past its replay.
   * Returns it with that note's event received.
   */
  async function liveSubscription() {
    const live = await subscribe<CaseEvent>(t.url, svc, CASE_UPDATED, {
      caseId,
      after: await t.cursor('caseUpdated'),
    });
    await addNote('subscribed');
    await live.waitFor((r) => r.length >= 1, 15_000);
    return live;
  }

  /** Adds a note and waits until `live` received its event: nothing before it can still come. */
  async function marker(live: Awaited<ReturnType<typeof liveSubscription>>): Promise<string> {
    const before = await t.cursor('caseUpdated');
    await addNote('marker');
    const [id] = await t.eventIds('caseUpdated', before, { caseId });
    await live.waitFor((r) => r.some((e) => e.caseUpdated.eventId === id), 15_000);
    return id!;
  }

  async function caseTitle(): Promise<string> {
    const r = await t.gql<{ case: { title: string } }>(
      `query ($id: ID!) { case(id: $id) { title } }`,
      { id: caseId },
      svc,
    );
    return r.data!.case.title;
  }

  test('an event committed by a process that died before publishing still reaches live subscribers', async () => {
    const live = await liveSubscription();
    // What a process killed right after its commit leaves behind: the change and its
    // event row committed together, and no publish (nobody is left to make it).
    const eventId = await (async () => {
      const d = db();
      return d.transaction().execute(async (tx) => {
        await sql`update workflow.cases set title = 'Changed, then the process died' where id = ${caseId}`.execute(
          tx,
        );
        const { rows } = await sql<{ id: string }>`
          insert into workflow.events (topic, payload)
          values ('CASE_UPDATED', ${JSON.stringify({ caseId, caseKind: 'REGULATED_DOCUMENT' })}::jsonb)
          returning id::text as id`.execute(tx);
        return rows[0]!.id;
      });
    })();
    // The next change is published at once; its message says which event came before it,
    // one this process never heard of, so the relay reads the table and passes on both, in order.
    await addNote('after the crash');
    await live.waitFor((r) => r.length >= 3, 15_000);
    // Both once, nothing else: a stream passes only ids above the last it passed, so what came
    // before the marker is all that will.
    const last = await marker(live);
    await live.close();
    const [, orphan, next, end] = live.received;
    expect(live.received).toHaveLength(4);
    expect(orphan!.caseUpdated).toEqual({ eventId, id: caseId, title: 'Changed, then the process died' });
    expect(BigInt(next!.caseUpdated.eventId)).toBeGreaterThan(BigInt(eventId));
    expect(end!.caseUpdated.eventId).toBe(last);
  });

  test('an orphaned event with nothing after it arrives by the relay poll alone', async () => {
    const live = await liveSubscription();
    const eventId = await db()
      .transaction()
      .execute(async (tx) => {
        await sql`update workflow.cases set title = 'Orphaned and alone' where id = ${caseId}`.execute(tx);
        const { rows } = await sql<{ id: string }>`
          insert into workflow.events (topic, payload)
          values ('CASE_UPDATED', ${JSON.stringify({ caseId, caseKind: 'REGULATED_DOCUMENT' })}::jsonb)
          returning id::text as id`.execute(tx);
        return rows[0]!.id;
      });
    const [, got] = await live.waitFor((r) => r.length >= 2, 15_000);
    await live.close();
    expect(got!.caseUpdated).toEqual({ eventId, id: caseId, title: 'Orphaned and alone' });
  });

  test('a publish that fails after the commit fails nothing, and subscribers still get the event', async () => {
    const live = await liveSubscription();
    const outbox = new Outbox(sliceOf<WorkflowDB>(t.gateway.store!.db), 'workflow', downBus);
    await expect(
      outbox.transaction(async (tx, emit) => {
        await tx
          .updateTable('workflow.cases')
          .set({ title: 'Changed while the bus was down' })
          .where('id', '=', caseId)
          .execute();
        await emit('CASE_UPDATED', { caseId, caseKind: 'REGULATED_DOCUMENT' });
        return 'committed';
      }),
    ).resolves.toBe('committed');
    const [, got] = await live.waitFor((r) => r.length >= 2, 15_000);
    await live.close();
    expect(got!.caseUpdated.title).toBe('Changed while the bus was down');
  });

  test('a rolled-back change reaches no subscriber, live or resuming', async () => {
    const before = await caseTitle();
    const live = await liveSubscription();
    const { rows } = await sql<{
      id: string;
    }>`select coalesce(max(id), 0)::text as id from workflow.events`.execute(db());
    const outbox = new Outbox(sliceOf<WorkflowDB>(t.gateway.store!.db), 'workflow', downBus);
    await expect(
      outbox.transaction(async (tx, emit) => {
        await tx
          .updateTable('workflow.cases')
          .set({ title: 'Never committed' })
          .where('id', '=', caseId)
          .execute();
        await emit('CASE_UPDATED', { caseId, caseKind: 'REGULATED_DOCUMENT' });
        throw new Error('the change fails after emitting');
      }),
    ).rejects.toThrow('the change fails');
    await addNote('the one change that committed');
    // Had the rolled-back event been committed, its smaller id would have come first.
    await live.waitFor((r) => r.length >= 2, 15_000);
    const resumed = await subscribe<CaseEvent>(t.url, svc, CASE_UPDATED, { caseId, after: rows[0]!.id });
    await resumed.waitFor((r) => r.length >= 1, 15_000);
    // Nothing else, late or replayed: what came before a later marker is all that will.
    const last = await marker(live);
    await resumed.waitFor((r) => r.some((e) => e.caseUpdated.eventId === last), 15_000);
    await live.close();
    await resumed.close();
    const got = live.received.slice(1);
    expect(got).toHaveLength(2);
    expect(resumed.received).toHaveLength(2);
    expect(resumed.received.map((e) => e.caseUpdated.eventId)).toEqual(got.map((e) => e.caseUpdated.eventId));
    expect(got[0]!.caseUpdated.title).toBe(before);
    expect(await caseTitle()).toBe(before);
  });
});

/**
 * Event ids follow commit order on PostgreSQL too, where transactions run
 * side by side: a reader paging on by id never skips an event committed late.
 */
const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const withPostgres = pgUrl ? describe : describe.skip;

withPostgres('with PostgreSQL, transactions side by side', () => {
  let fixture: PostgresFixture;
  let store: Store;
  let dataDir: string;

  beforeAll(async () => {
    fixture = await freshDatabase(pgUrl!);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-relay-'));
    store = await openStore(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: fixture.url }));
    await migrate(store.db as unknown as Kysely<unknown>);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await fixture?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a transaction that emitted first but commits last gets the larger id', async () => {
    const outbox = new Outbox(sliceOf<WorkflowDB>(store.db), 'workflow', downBus);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let emitted!: () => void;
    const firstEmitted = new Promise<void>((r) => (emitted = r));
    const first = outbox.transaction(async (_tx, emit) => {
      await emit('CASE_UPDATED', { caseId: 'first' });
      emitted();
      await held;
    });
    await firstEmitted;
    await outbox.transaction(async (_tx, emit) => {
      await emit('CASE_UPDATED', { caseId: 'second' });
    });
    release();
    await first;
    const { rows } = await sql<{ who: string }>`
      select payload->>'caseId' as who from workflow.events order by id`.execute(store.db);
    expect(rows.map((r) => r.who)).toEqual(['second', 'first']);
  });

  test('a reader paging on by id while 8 writers commit side by side misses nothing and sees nothing twice', async () => {
    const outbox = new Outbox(sliceOf<WorkflowDB>(store.db), 'workflow', downBus);
    const events = new EventLog(store.db as unknown as Kysely<unknown>, 'workflow');
    const start = BigInt(await events.newest('DEADLINE_ALERT'));
    let writing = true;
    const writers = Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 40; i++) {
          await outbox.transaction(async (tx, emit) => {
            await emit('DEADLINE_ALERT', { writer: w, i });
            // Work after the emit, of varying length, so commits overtake one another.
            await sql`select pg_sleep(${(i % 4) / 500})`.execute(tx);
          });
        }
      }),
    ).finally(() => (writing = false));
    const seen: BusEvent[] = [];
    let cursor = start.toString();
    for (;;) {
      const stillWriting = writing;
      const page = await events.after('DEADLINE_ALERT', cursor, 50);
      seen.push(...page);
      if (page.length) cursor = page.at(-1)!.id;
      else if (!stillWriting) break;
    }
    await writers;
    const { rows } = await sql<{ id: string }>`
      select id::text as id from workflow.events e where topic = 'DEADLINE_ALERT' and e.id > ${start.toString()}::bigint
      order by e.id`.execute(store.db);
    expect(rows).toHaveLength(320);
    expect(seen.map((e) => e.id)).toEqual(rows.map((r) => r.id));
  }, 60_000);
});
