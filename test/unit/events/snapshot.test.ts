import DataLoader from 'dataloader';
import type { BusEvent } from '../../../src/events/index.js';
import {
  encodeSnapshot,
  primeLoaders,
  snapshotOf,
  upToMark,
  type EventSnapshot,
} from '../../../src/events/snapshot.js';

/** An event as the events table gives it back: the payload through JSON. */
const stored = (snapshot: EventSnapshot): BusEvent => ({
  id: '7',
  source: 'workflow',
  topic: 'CASE_UPDATED',
  occurredAt: '2026-05-01T10:00:00.000Z',
  payload: JSON.parse(JSON.stringify({ caseId: 'case_1', snapshot: encodeSnapshot(snapshot) })) as Record<
    string,
    unknown
  >,
});

test('rows come back from the JSON payload as they went in: dates as Dates, free-form data untouched', () => {
  const row = {
    id: 'case_1',
    status: 'APPROVED',
    updated_at: new Date('2026-05-01T09:59:59.123Z'),
    due_at: null,
    // Customer data is free-form: objects that look like the date tag, or its escape, stay objects.
    subject: { $date: '2026-01-01T00:00:00.000Z', nested: [{ $date: 'x' }, { $esc: { $date: 'y' } }] },
    tags: [{ $date: 'not a date' }, { $esc: 1 }],
  };
  const got = snapshotOf(
    stored({ loaded: { case: { case_1: row } }, upTo: { historyByCase: { case_1: '42' } } }),
  );
  expect(got).toEqual({ loaded: { case: { case_1: row } }, upTo: { historyByCase: { case_1: '42' } } });
  const back = got!.loaded.case!.case_1 as typeof row;
  expect(back.updated_at).toBeInstanceOf(Date);
  expect(back.tags[0]).toEqual({ $date: 'not a date' });
});

test('an event written without a snapshot has none: it resolves from the current rows', () => {
  expect(
    snapshotOf({
      id: '1',
      source: 'workflow',
      topic: 'CASE_UPDATED',
      occurredAt: '',
      payload: { caseId: 'c' },
    }),
  ).toBeNull();
});

test('primed loaders answer from the snapshot for its keys and from the store for others', async () => {
  const fromStore: string[] = [];
  const loaders = {
    case: new DataLoader<string, string>(async (ids) => ids.map((id) => (fromStore.push(id), `now:${id}`))),
  };
  primeLoaders(loaders, { loaded: { case: { a: 'then:a' }, renamedSince: { a: 'x' } } });
  expect(await loaders.case.loadMany(['a', 'b'])).toEqual(['then:a', 'now:b']);
  expect(fromStore).toEqual(['b']);
});

test("a trail is cut at the snapshot's mark, compared as numbers", () => {
  const rows = ['9', '10', '11'].map((id) => ({ id }));
  const snapshot = { loaded: {}, upTo: { historyByCase: { c: '10' } } };
  expect(upToMark(snapshot, 'historyByCase', 'c', rows)).toEqual([{ id: '9' }, { id: '10' }]);
  expect(upToMark(snapshot, 'historyByCase', 'other', rows)).toEqual(rows);
  expect(upToMark(null, 'historyByCase', 'c', rows)).toEqual(rows);
});
