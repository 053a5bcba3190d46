import { sql } from 'kysely';
import { InProcessBus, Outbox, type BusEvent } from '../../src/events/index.js';
import { sliceOf, type WorkflowDB } from '../../src/store/tables.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/** A change and its event commit together, or neither does; publishing follows the commit. */
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t.stop());

async function maxEventId(): Promise<bigint> {
  const { rows } = await sql<{
    max: string | null;
  }>`select max(id)::text as max from workflow.events`.execute(t.gateway.store!.db);
  return BigInt(rows[0]!.max ?? '0');
}

test('a rolled-back change leaves no event and publishes nothing', async () => {
  const bus = new InProcessBus();
  const seen: BusEvent[] = [];
  bus.listen('workflow', 'CASE_UPDATED', (e) => seen.push(e));
  const outbox = new Outbox(sliceOf<WorkflowDB>(t.gateway.store!.db), 'workflow', bus);
  const before = await maxEventId();
  await expect(
    outbox.transaction(async (tx, emit) => {
      await tx.updateTable('workflow.cases').set({ title: 'changed' }).where('id', '=', 'nope').execute();
      await emit('CASE_UPDATED', { caseId: 'nope' });
      throw new Error('the change fails after the event was written');
    }),
  ).rejects.toThrow('the change fails');
  expect(await maxEventId()).toBe(before);
  expect(seen).toEqual([]);
  await bus.close();
});

test('a committed change publishes its event with the outbox row id, in order', async () => {
  const bus = new InProcessBus();
  const seen: BusEvent[] = [];
  bus.listen('workflow', 'CASE_UPDATED', (e) => seen.push(e));
  const outbox = new Outbox(sliceOf<WorkflowDB>(t.gateway.store!.db), 'workflow', bus);
  const before = await maxEventId();
  await outbox.transaction(async (_tx, emit) => {
    await emit('CASE_UPDATED', { caseId: 'a' });
    await emit('CASE_UPDATED', { caseId: 'b' });
  });
  await new Promise((r) => setImmediate(r));
  expect(seen.map((e) => e.payload.caseId)).toEqual(['a', 'b']);
  expect(BigInt(seen[0]!.id)).toBeGreaterThan(before);
  expect(BigInt(seen[1]!.id)).toBeGreaterThan(BigInt(seen[0]!.id));
  expect(await maxEventId()).toBe(BigInt(seen[1]!.id));
  await bus.close();
});
