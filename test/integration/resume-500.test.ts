import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';
import { subscribe } from '../support/ws.js';

/**
 * A subscriber cut off while 500 events are produced resumes `after` the
 * last eventId it saw and receives each missed event exactly once, in
 * order, then live ones. On the embedded store, and on PostgreSQL (where
 * the 500 changes run four at a time, so transactions commit side by side).
 */
const pgUrl = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');

const CASE_UPDATED = `subscription ($caseId: ID, $after: ID) { caseUpdated(caseId: $caseId, after: $after) { eventId id } }`;
type CaseEvent = { caseUpdated: { eventId: string; id: string } };
const ids = (r: CaseEvent[]) => r.map((e) => e.caseUpdated.eventId);

const stores: Array<[string, boolean]> = [
  ['the embedded store', true],
  ['PostgreSQL', pgUrl !== null],
];

describe.each(stores)('on %s', (_name, available) => {
  const maybe = available ? test : test.skip;
  let t: TestGateway;
  let fixture: PostgresFixture | null = null;
  let dataDir: string | null = null;

  beforeAll(async () => {
    if (!available) return;
    if (_name === 'PostgreSQL') {
      fixture = await freshDatabase(pgUrl!);
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-resume500-'));
      t = await startTestGateway({ DATA_DIR: dataDir, DATABASE_URL: fixture.url, SEED_DEMO: 'true' });
    } else {
      t = await startTestGateway();
    }
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await fixture?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  maybe(
    'a subscriber cut off while 500 events are produced gets each missed one once, in order, then live ones',
    async () => {
      const svc = await t.token('resume-500', 'service');
      const ops = await t.token('olga.ops', 'operations');
      const started = await t.gql<{ startCase: { id: string } }>(
        `mutation ($input: StartCaseInput!) { startCase(input: $input) { id } }`,
        {
          input: {
            kind: 'REGULATED_DOCUMENT',
            title: 'Five hundred notes',
            customerId: 'cus_009',
            templateId: 'tpl_billing_notice',
            channel: 'PRINT',
            data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
          },
        },
        await t.token('rita', 'requester'),
      );
      expect(started.errors).toBeUndefined();
      const caseId = started.data!.startCase.id;
      const note = async (text: string) => {
        const r = await t.gql(
          `mutation ($input: AddCaseNoteInput!) { addCaseNote(input: $input) { id } }`,
          { input: { caseId, note: text } },
          ops,
        );
        expect(r.errors).toBeUndefined();
      };

      // One subscriber stays connected throughout, the witness; the other is cut off.
      const from = await t.cursor('caseUpdated');
      const witness = await subscribe<CaseEvent>(t.url, svc, CASE_UPDATED, { caseId, after: from });
      const first = await subscribe<CaseEvent>(t.url, svc, CASE_UPDATED, { caseId, after: from });
      for (let i = 0; i < 3; i++) await note(`before ${i}`);
      await first.waitFor((r) => r.length >= 3);
      await first.close();
      const last = first.received.at(-1)!.caseUpdated.eventId;

      // 500 changes while it is away, four writers at a time.
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < 500) await note(`while away ${next++}`);
        }),
      );

      const resumed = await subscribe<CaseEvent>(t.url, svc, CASE_UPDATED, { caseId, after: last });
      await resumed.waitFor((r) => r.length >= 500, 120_000);
      for (let i = 0; i < 2; i++) await note(`after ${i}`);
      // A marker after everything: a stream passes only ids above the last it passed, so once
      // the marker arrived nothing before it can still come, duplicate or late.
      await note('marker');
      const marker = (await t.eventIds('caseUpdated', last, { caseId })).at(-1)!;
      const hasMarker = (r: CaseEvent[]) => r.some((e) => e.caseUpdated.eventId === marker);
      await resumed.waitFor(hasMarker, 120_000);
      await witness.waitFor(hasMarker, 30_000);
      await resumed.close();
      await witness.close();

      const { rows } = await sql<{ id: string }>`
        select e.id::text as id from workflow.events e
        where e.topic = 'CASE_UPDATED' and e.payload->>'caseId' = ${caseId} and e.id > ${last}::bigint
        order by e.id`.execute(t.gateway.store!.db as unknown as Kysely<unknown>);
      // Every event of the case since the cut: the 500 notes, the 2 live ones and the marker.
      expect(rows).toHaveLength(503);
      expect(ids(resumed.received)).toEqual(rows.map((r) => r.id));
      // The same sequence the subscriber that never left saw.
      expect(ids(witness.received).slice(3)).toEqual(ids(resumed.received));
      expect(resumed.received.every((e) => e.caseUpdated.id === caseId)).toBe(true);
    },
    240_000,
  );
});
