import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEED_TEMPLATES } from '../../src/datasources/communications/seed/templates.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { freshDatabase, serviceUrl, type PostgresFixture } from '../support/services.js';
import { subscribe } from '../support/ws.js';

/**
 * The same code and migrations on a real PostgreSQL (DATABASE_URL): nothing
 * may rely on PGlite-only behaviour. First start migrates and seeds; the
 * first flow then runs end to end.
 */
const url = serviceUrl('TEST_DATABASE_URL', 'PostgreSQL');
const withPostgres = url ? describe : describe.skip;
let db: PostgresFixture | null = null;
let t: TestGateway;
let dataDir = '';

withPostgres('on PostgreSQL', () => {
  beforeAll(async () => {
    db = await freshDatabase(url!);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-pg-'));
    t = await startTestGateway({ DATA_DIR: dataDir, DATABASE_URL: db.url });
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('first start on PostgreSQL migrates, seeds, and runs the first flow', async () => {
    expect(t.gateway.store!.kind).toBe('postgres');
    const svc = await t.token('svc', 'service');
    const seeded = await t.gql<{ customers: { totalCount: number }; templates: unknown[] }>(
      `{ customers { totalCount } templates { id } }`,
      {},
      svc,
    );
    expect(seeded.data!.customers.totalCount).toBeGreaterThanOrEqual(50);
    expect(seeded.data!.templates).toHaveLength(17);

    const requester = await t.token('pg.requester', 'requester');
    const started = await t.gql<{ startCase: { id: string; approvals: { id: string }[] } }>(
      `mutation ($input: StartCaseInput!) { startCase(input: $input) { id approvals { id } } }`,
      {
        input: {
          kind: 'REGULATED_DOCUMENT',
          title: 'On PostgreSQL',
          customerId: 'cus_004',
          templateId: 'tpl_billing_notice',
          channel: 'PRINT',
          data: SEED_TEMPLATES.find((x) => x.id === 'tpl_billing_notice')!.sampleData,
        },
      },
      requester,
    );
    expect(started.errors).toBeUndefined();
    const caseId = started.data!.startCase.id;
    const deliveries = await subscribe<{ deliveryStatusChanged: { delivery: { status: string } } }>(
      t.url,
      svc,
      `subscription ($caseId: ID, $after: ID) { deliveryStatusChanged(caseId: $caseId, after: $after) { delivery { status } } }`,
      { caseId, after: await t.cursor('deliveryStatusChanged') },
    );
    const deciders = [
      await t.token('pg.rev', 'reviewer'),
      await t.token('pg.app', 'approver'),
      await t.token('pg.comp', 'compliance'),
    ];
    for (const [i, a] of started.data!.startCase.approvals.entries()) {
      const r = await t.gql(
        `mutation ($input: DecideApprovalInput!) { decideApproval(input: $input) { id } }`,
        { input: { approvalId: a.id, decision: 'APPROVED' } },
        deciders[i],
      );
      expect(r.errors).toBeUndefined();
    }
    const steps = await deliveries.waitFor((r) =>
      r.some((e) => e.deliveryStatusChanged.delivery.status === 'DELIVERED'),
    );
    expect(steps.map((e) => e.deliveryStatusChanged.delivery.status)).toEqual([
      'PENDING',
      'SENT',
      'DELIVERED',
    ]);
    await deliveries.close();
    const c = await t.gql<{ case: { status: string; documents: { status: string }[] } }>(
      `query ($id: ID!) { case(id: $id) { status documents { status } } }`,
      { id: caseId },
      svc,
    );
    expect(c.data!.case).toEqual({ status: 'RESOLVED', documents: [{ status: 'GENERATED' }] });
  });
});
