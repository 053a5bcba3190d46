import { Lru } from '../../src/lru.js';

test('holds at most maxEntries, forgetting the least recently used first', () => {
  const lru = new Lru<string, number>(2);
  lru.set('a', 1);
  lru.set('b', 2);
  expect(lru.get('a')).toBe(1); // a is now the most recently used
  lru.set('c', 3);
  expect(lru.get('b')).toBeUndefined();
  expect(lru.get('a')).toBe(1);
  expect(lru.get('c')).toBe(3);
  expect(lru.size).toBe(2);
});

test('holds at most maxWeight in total, and nothing heavier than that alone', () => {
  const lru = new Lru<string, string>(100, 10);
  lru.set('a', 'aaaa', 4);
  lru.set('b', 'bbbb', 4);
  lru.set('c', 'cccc', 4);
  expect(lru.get('a')).toBeUndefined();
  expect(lru.get('b')).toBe('bbbb');
  lru.set('huge', 'x'.repeat(11), 11);
  expect(lru.get('huge')).toBeUndefined();
  expect(lru.size).toBe(2);
  // Replacing an entry counts its new weight only (b 1 + c 4 + d 6 = 11: c, the oldest, goes).
  lru.set('b', 'b', 1);
  lru.set('d', 'dddddd', 6);
  expect([lru.get('b'), lru.get('c'), lru.get('d')]).toEqual(['b', undefined, 'dddddd']);
  // Without c: 1 + 6, so a 3 fits beside them.
  lru.set('e', 'eee', 3);
  expect(lru.size).toBe(3);
});

test('asking for the most recently used key again keeps the order exact', () => {
  const lru = new Lru<string, number>(3);
  lru.set('a', 1);
  lru.set('b', 2);
  lru.set('c', 3);
  // c is the newest: asked again and again, it stays newest and a stays oldest.
  expect([lru.get('c'), lru.get('c')]).toEqual([3, 3]);
  lru.set('d', 4);
  expect(lru.get('a')).toBeUndefined();
  // b, then c, then d asked: b is the oldest again once c and d are used after it.
  expect([lru.get('b'), lru.get('b'), lru.get('c'), lru.get('d')]).toEqual([2, 2, 3, 4]);
  lru.set('e', 5);
  expect(lru.get('b')).toBeUndefined();
  // The newest deleted, then set anew: it goes last again.
  lru.delete('e');
  lru.set('e', 6);
  lru.get('c');
  lru.set('f', 7);
  expect([lru.get('d'), lru.get('c'), lru.get('e'), lru.get('f')]).toEqual([undefined, 3, 6, 7]);
});
