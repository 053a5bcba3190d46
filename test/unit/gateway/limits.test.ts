import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSchema, getIntrospectionQuery, getOperationAST, parse } from 'graphql';
import { loadConfig } from '../../../src/config/index.js';
import {
  ASSUMED_LIST_SIZE,
  enforceLimits,
  measureOperation,
  nestingDepth,
  OperationRefused,
  parseLimited,
  withoutSuggestions,
  type OperationMeasure,
} from '../../../src/gateway/limits.js';
import { loadTrustedDocuments, TrustedDocumentsError } from '../../../src/gateway/trusted-documents.js';

/**
 * The measure behind the operation limits, against the client-facing API
 * schema: depth with fragments expanded, cost with list sizes from `first`,
 * and the counts, on ordinary operations and hostile ones.
 */
const ROOT = path.resolve(__dirname, '../../..');
const schema = buildSchema(fs.readFileSync(path.join(ROOT, 'src/schema/sdl/api.graphql'), 'utf8'));
const defaults = loadConfig({}).security.limits;

function measure(
  query: string,
  variables?: Record<string, unknown>,
  operationName?: string,
): OperationMeasure {
  const document = parse(query);
  const operation = getOperationAST(document, operationName);
  if (!operation) throw new Error('no operation');
  return measureOperation(schema, document, operation, variables);
}

function refusal(m: OperationMeasure, limits = defaults): { reason: string; message: string } | null {
  try {
    enforceLimits(m, limits);
    return null;
  } catch (err) {
    if (!(err instanceof OperationRefused)) throw err;
    return { reason: err.reason, message: err.message };
  }
}

describe('cost', () => {
  test('every field costs 1; a connection hands its first to its edges', () => {
    // cases 1 + totalCount 1 + edges (1 + 7 × (node 1 + id 1)) = 17
    expect(measure('{ cases(first: 7) { totalCount edges { node { id } } } }').cost).toBe(17);
  });

  test('first comes from the literal, the variable, the variable default, or the default page', () => {
    const q = 'query ($n: Int = 3) { cases(first: $n) { edges { node { id } } } }';
    const cost = (size: number) => 1 + 1 + size * 2;
    expect(measure(q, { n: 50 }).cost).toBe(cost(50));
    expect(measure(q, {}).cost).toBe(cost(3));
    expect(measure('{ cases { edges { node { id } } } }').cost).toBe(cost(20));
    expect(measure(q, { n: null }).cost).toBe(cost(20));
    // A mistyped first is refused at execution; for the measure it is the default page.
    expect(measure(q, { n: 'lots' }).cost).toBe(cost(20));
  });

  test('a plain list (Case.documents) counts its selection ASSUMED_LIST_SIZE times, nested lists multiply', () => {
    const one = measure('{ case(id: "c") { documents { id } } }').cost;
    expect(one).toBe(1 + 1 + ASSUMED_LIST_SIZE * 1);
    const two = measure('{ case(id: "c") { documents { deliveries { status } } } }').cost;
    expect(two).toBe(1 + 1 + ASSUMED_LIST_SIZE * (1 + ASSUMED_LIST_SIZE * 1));
    // Under a connection, the page multiplies what the lists of each node cost.
    const paged = measure('{ cases(first: 100) { edges { node { documents { id } } } } }').cost;
    expect(paged).toBe(1 + 1 + 100 * (1 + 1 + ASSUMED_LIST_SIZE));
  });

  test('fragments and inline fragments are counted where they are spread', () => {
    const inline = measure('{ cases(first: 4) { edges { node { ... on Case { id status } } } } }');
    const named = measure('{ cases(first: 4) { edges { node { ...F } } } } fragment F on Case { id status }');
    expect(named.cost).toBe(inline.cost);
    expect(named.cost).toBe(1 + 1 + 4 * (1 + 2));
  });

  test('an empty page of an exponential fragment costs nothing, not NaN', () => {
    const fragments = Array.from(
      { length: 1100 },
      (_, i) => `fragment F${i} on Case { ...F${i + 1} ...F${i + 1} }`,
    );
    const q = `{ cases(first: 0) { edges { node { ...F0 } } } } ${fragments.join(' ')} fragment F1100 on Case { id }`;
    const m = measure(q);
    // cases 1 + edges (1 + 0 × ∞)
    expect(m.cost).toBe(2);
    expect(refusal(m)).toBeNull();
  });

  test('the operations under test/operations fit the default limits', () => {
    const dir = path.join(ROOT, 'test/operations');
    for (const file of fs.readdirSync(dir)) {
      const document = parse(fs.readFileSync(path.join(dir, file), 'utf8'));
      for (const def of document.definitions) {
        if (def.kind !== 'OperationDefinition') continue;
        const m = measureOperation(schema, document, def, { first: 100 });
        expect({ op: def.name?.value, refused: refusal(m) }).toEqual({ op: def.name?.value, refused: null });
      }
    }
  });
});

/** `{ cases(first: 1) { ...F0 } }` with each fragment spreading the next twice. */
function bomb(levels: number, leaf: string): string {
  const fragments = Array.from(
    { length: levels - 1 },
    (_, i) => `fragment F${i} on CaseConnection { ...F${i + 1} ...F${i + 1} }`,
  );
  return `{ cases(first: 1) { ...F0 } } ${fragments.join(' ')} fragment F${levels - 1} on CaseConnection { ${leaf} }`;
}

describe('depth and counts', () => {
  test('depth counts field levels through fragments and inline fragments', () => {
    expect(measure('{ __typename }').depth).toBe(1);
    expect(measure('{ cases { totalCount } }').depth).toBe(2);
    const q = `{ cases(first: 1) { edges { ...E } } }
      fragment E on CaseEdge { node { ... on Case { customer { ...C } } } }
      fragment C on Customer { cases(first: 1) { pageInfo { hasNextPage } } }`;
    expect(measure(q).depth).toBe(7);
  });

  test('fragment cycles end (validation refuses them later) instead of looping', () => {
    const q = `{ cases { ...A } } fragment A on CaseConnection { totalCount ...B } fragment B on CaseConnection { ...A }`;
    expect(measure(q)).toMatchObject({ depth: 2, cost: 2 });
    expect(measure('{ ...Self } fragment Self on Query { ...Self }')).toMatchObject({ rootFields: 0 });
  });

  test('a fragment bomb is measured once per fragment: 2^59 copies without expanding them', () => {
    const m = measure(bomb(60, 'a: totalCount @include(if: true)'));
    expect(m.aliases).toBe(2 ** 59);
    expect(m.directives).toBe(2 ** 59);
    expect(m.cost).toBe(1 + 2 ** 59);
    expect(m.depth).toBe(2);
    expect(refusal(m)?.reason).toBe('MAX_ALIASES');
    // Far past 2^1023 the numbers are Infinity, and still refused.
    const huge = measure(bomb(1100, 'totalCount'));
    expect(huge.cost).toBe(Infinity);
    expect(refusal(huge)).toEqual({
      reason: 'MAX_COST',
      message: 'Query cost exceeds the limit of 20000 many times over',
    });
  });

  test('aliases, root fields and directives are counted where fragments place them', () => {
    const q = `query @skip(if: false) { a: cases { ...F } b: cases { ...F } templates { id } }
      fragment F on CaseConnection @include(if: true) { x: totalCount @skip(if: false) }`;
    expect(measure(q)).toMatchObject({ aliases: 4, rootFields: 3, directives: 5 });
    const rooted = '{ ...R ...R } fragment R on Query { __typename templates { id } }';
    expect(measure(rooted).rootFields).toBe(4);
  });

  test('only the operation that runs is measured', () => {
    const q = `query Small { __typename } query Big { cases(first: 100) { edges { node { documents { id } } } } }`;
    expect(measure(q, {}, 'Small').cost).toBe(1);
    expect(measure(q, {}, 'Big').cost).toBe(1 + 1 + 100 * (1 + 1 + ASSUMED_LIST_SIZE));
  });
});

describe('introspection', () => {
  test('the standard introspection query fits the defaults: bounded by shape, not priced by list sizes', () => {
    const m = measure(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }));
    expect(m.introspectionDepth).toBeGreaterThan(defaults.maxDepth);
    expect(m.introspectionLists).toBe(3);
    expect(m.depth).toBe(0);
    expect(refusal(m)).toBeNull();
  });

  test('introspection that nests a fourth list, or a long ofType chain, is refused', () => {
    const lists = measure(
      '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }',
    );
    expect(refusal(lists)?.reason).toBe('MAX_DEPTH');
    const chain = `{ __type(name: "Case") { ${'ofType { '.repeat(40)} name ${'} '.repeat(40)} } }`;
    expect(refusal(measure(chain))).toEqual({
      reason: 'MAX_DEPTH',
      message: 'Introspection depth 42 exceeds the limit of 16',
    });
  });
});

describe('limits', () => {
  const m = (over: Partial<OperationMeasure>): OperationMeasure => ({
    depth: 1,
    aliases: 0,
    rootFields: 1,
    directives: 0,
    cost: 1,
    introspectionDepth: 0,
    introspectionLists: 0,
    ...over,
  });

  test('each limit refuses with its reason; at the limit it passes', () => {
    const cases: Array<[Partial<OperationMeasure>, string]> = [
      [{ depth: defaults.maxDepth }, 'MAX_DEPTH'],
      [{ rootFields: defaults.maxRootFields }, 'MAX_ROOT_FIELDS'],
      [{ aliases: defaults.maxAliases }, 'MAX_ALIASES'],
      [{ directives: defaults.maxDirectives }, 'MAX_DIRECTIVES'],
      [{ cost: defaults.maxCost }, 'MAX_COST'],
    ];
    for (const [atLimit, reason] of cases) {
      expect(refusal(m(atLimit))).toBeNull();
      const [key, value] = Object.entries(atLimit)[0]! as [keyof OperationMeasure, number];
      expect(refusal(m({ [key]: value + 1 }))?.reason).toBe(reason);
    }
    expect(refusal(m({ cost: NaN }))?.reason).toBe('MAX_COST');
  });

  test('tokens are limited at parse time; other syntax errors are coded too', () => {
    expect(() => parseLimited(`{ ${'a '.repeat(200)} }`, 100)).toThrow(
      expect.objectContaining({
        reason: 'MAX_TOKENS',
        extensions: { code: 'BAD_USER_INPUT', reason: 'MAX_TOKENS' },
      }),
    );
    expect(() => parseLimited('{ a', 100)).toThrow(
      expect.objectContaining({ reason: 'GRAPHQL_PARSE_FAILED' }),
    );
    expect(parseLimited('{ a }', 100).definitions).toHaveLength(1);
  });

  test('variable nesting is measured without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(nestingDepth(deep, 32)).toBe(33);
    expect(nestingDepth({ a: { b: [1, { c: 2 }] } }, 32)).toBe(4);
    expect(nestingDepth('flat', 32)).toBe(0);
  });

  test('"did you mean" is cut from messages', () => {
    expect(withoutSuggestions('Cannot query field "stats" on type "Case". Did you mean "status"?')).toBe(
      'Cannot query field "stats" on type "Case".',
    );
    expect(
      withoutSuggestions(
        'Variable "$s" got invalid value "OPN"; Value "OPN" does not exist in "CaseStatus" enum. Did you mean the enum value "OPEN"?',
      ),
    ).toBe('Variable "$s" got invalid value "OPN"; Value "OPN" does not exist in "CaseStatus" enum.');
  });

  test('production turns introspection and suggestions off unless set; elsewhere they are on', () => {
    // Production needs an identity provider; these name one.
    const prod = {
      NODE_ENV: 'production',
      AUTH_JWKS_URL: 'https://idp.example.com/jwks',
      AUTH_ISSUER: 'https://idp.example.com/',
      AUTH_AUDIENCE: 'commsgraph',
    };
    const production = loadConfig(prod);
    expect(production.security).toMatchObject({ introspection: false, fieldSuggestions: false });
    const enabled = loadConfig({
      ...prod,
      INTROSPECTION: 'true',
      FIELD_SUGGESTIONS: 'true',
    });
    expect(enabled.security).toMatchObject({ introspection: true, fieldSuggestions: true });
    expect(loadConfig({}).security).toMatchObject({ introspection: true, fieldSuggestions: true });
  });
});

describe('trusted documents manifest', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trusted-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (content: unknown): string => {
    const file = path.join(dir, `m${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  test('a good manifest resolves by extension hash, documentId and exact text', async () => {
    const text = 'query A { __typename }';
    const docs = await loadTrustedDocuments(write({ [sha(text)]: text }));
    expect(docs.size).toBe(1);
    const pq = { persistedQuery: { version: 1, sha256Hash: sha(text) } };
    expect(docs.resolve({ extensions: pq })).toEqual({ ok: true, query: text });
    expect(docs.resolve({ documentId: `sha256:${sha(text)}` })).toEqual({ ok: true, query: text });
    expect(docs.resolve({ query: text })).toEqual({ ok: true, query: text });
    expect(docs.resolve({ query: text, extensions: pq })).toEqual({ ok: true, query: text });
    expect(docs.resolve({ query: '{ __typename }' })).toMatchObject({
      ok: false,
      reason: 'TRUSTED_DOCUMENT_REQUIRED',
    });
    expect(docs.resolve({ documentId: sha('other') })).toMatchObject({
      ok: false,
      reason: 'PERSISTED_QUERY_NOT_FOUND',
    });
    expect(docs.resolve({})).toMatchObject({ ok: false, reason: 'TRUSTED_DOCUMENT_REQUIRED' });
  });

  test('a bad manifest is refused with every problem listed', async () => {
    const good = 'query A { __typename }';
    const file = write({
      [sha(good)]: good,
      [sha('query B { x }')]: 'query B { y }',
      abc: 'query C { z }',
      [sha('query D {')]: 'query D {',
      [sha('E')]: 5,
    });
    const err = await loadTrustedDocuments(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrustedDocumentsError);
    expect((err as TrustedDocumentsError).problems).toEqual([
      `${sha('query B { x }')}: is not the sha256 of its document`,
      'abc: not a sha256 hash (64 lowercase hex digits); set hashAlgorithm: sha256',
      expect.stringMatching(new RegExp(`^${sha('query D {')}: Syntax Error`)),
      `${sha('E')}: the document is not a string`,
    ]);
    await expect(loadTrustedDocuments(write('[]'))).rejects.toThrow(/not a JSON object/);
    await expect(loadTrustedDocuments(write('{'))).rejects.toThrow(/cannot be read as JSON/);
    await expect(loadTrustedDocuments(write({}))).rejects.toThrow(/registers no documents/);
    await expect(loadTrustedDocuments(path.join(dir, 'missing.json'))).rejects.toThrow(TrustedDocumentsError);
  });
});
