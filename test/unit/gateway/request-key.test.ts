import { parse, print, stripIgnoredCharacters } from 'graphql';
import { copyData, subgraphDocumentPrinter } from '../../../src/gateway/executors.js';
import { documentKey } from '../../../src/gateway/request-key.js';

/**
 * The key of a shared subgraph call names its document exactly: two documents share a key only
 * when graphql-js prints them the same. Checked over documents that differ in one part each, every
 * pair compared both ways.
 */
const documents = [
  '{ a }',
  '{ b }',
  '{ a b }',
  '{ b a }',
  '{ x: a }',
  '{ a: x }',
  '{ a { b } }',
  '{ a { b c } }',
  '{ a(n: 1) }',
  '{ a(n: 1.0) }',
  '{ a(n: "1") }',
  '{ a(n: ONE) }',
  '{ a(n: true) }',
  '{ a(n: null) }',
  '{ a(n: [1, 2]) }',
  '{ a(n: [[1], 2]) }',
  '{ a(n: {x: 1, y: 2}) }',
  '{ a(n: {x: {y: 2}}) }',
  '{ a(n: "b c", m: 1) }',
  '{ a(n: "b c, m: 1") }',
  '{ a(n: "say \\"hi\\"") }',
  '{ a(n: """block""") }',
  'query ($n: Int) { a(n: $n) }',
  'query ($n: Int!) { a(n: $n) }',
  'query ($n: [Int]) { a(n: $n) }',
  'query ($n: [Int!]!) { a(n: $n) }',
  'query ($n: Int = 2) { a(n: $n) }',
  'query ($m: Int) { a(n: $m) }',
  'query Q { a }',
  'query R { a }',
  'mutation { a }',
  'subscription { a }',
  '{ a @skip(if: true) }',
  '{ a @include(if: true) }',
  'query ($s: Boolean!) { a @skip(if: $s) }',
  '{ ... on T { a } }',
  '{ ... on U { a } }',
  '{ ... { a } }',
  '{ ... @skip(if: false) { a } }',
  '{ ...F } fragment F on T { a }',
  '{ ...F } fragment F on T { b }',
  '{ ...F } fragment F on U { a }',
  '{ ...G } fragment G on T { a }',
  '{ ...onT } fragment onT on T { a }',
  'query Q { a } query R { b }',
  'query R { b } query Q { a }',
  '{ _entities(representations: $r) { __typename ... on Case { id documents { id deliveries { status } } } } }',
  '{ _entities(representations: $r) { __typename ... on Case { id documents { id deliveries { id } } } } }',
];

test('two documents share a key exactly when they print the same', () => {
  const parsed = documents.map((d) => parse(d));
  for (const a of parsed)
    for (const b of parsed) expect(documentKey(a) === documentKey(b)).toBe(print(a) === print(b));
  // The same text parsed twice (two calls' documents) shares its key.
  for (const d of documents) expect(documentKey(parse(d))).toBe(documentKey(parse(d)));
  expect(new Set(parsed.map(documentKey)).size).toBe(new Set(parsed.map((d) => print(d))).size);
});

test("a subgraph document's remembered text is executor-http's print of that very document", () => {
  const printer = subgraphDocumentPrinter();
  // Each document twice, as separately parsed objects, in an order that revisits every key.
  for (const round of [0, 1])
    for (const text of round ? [...documents].reverse() : documents) {
      const document = parse(text);
      const expected = stripIgnoredCharacters(print(document));
      expect(printer(document)).toBe(expected);
      // Asked again for the same object (executor-http asks twice per call), and for an equal one.
      expect(printer(document)).toBe(expected);
      expect(printer(parse(text))).toBe(expected);
    }
});

test('copyData copies an answer whole, sharing no object with it', () => {
  const parsed = JSON.parse(
    '{"cases":{"edges":[{"node":{"id":"c1","tags":["a","b"],"n":1.5,"ok":true,"none":null,"customer":{"id":"u1"}}}]}}',
  ) as Record<string, unknown>;
  // graphql-js results are null-prototype objects.
  const graphqlJs = Object.assign(Object.create(null) as Record<string, unknown>, {
    hello: Object.assign(Object.create(null) as Record<string, unknown>, { text: 'hi', list: [1, null] }),
  });
  for (const original of [parsed, graphqlJs]) {
    const copy = copyData(original) as Record<string, unknown>;
    expect(copy).toEqual(structuredClone(original));
    const objects = (v: unknown, into: object[] = []): object[] => {
      if (typeof v === 'object' && v !== null) {
        into.push(v);
        for (const x of Object.values(v)) objects(x, into);
      }
      return into;
    };
    const mine = new Set(objects(original));
    for (const o of objects(copy)) expect(mine.has(o)).toBe(false);
  }
});

test('copyData keeps a "__proto__" key as data and copies values that are not plain objects', () => {
  const original = JSON.parse('{"__proto__":{"polluted":true},"when":null}') as Record<string, unknown>;
  original.when = new Date(0);
  const copy = copyData(original) as Record<string, unknown>;
  expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  expect(Object.keys(copy)).toEqual(['__proto__', 'when']);
  expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toEqual({ polluted: true });
  expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
  expect(copy.when).toEqual(new Date(0));
  expect(copy.when).not.toBe(original.when);
});
