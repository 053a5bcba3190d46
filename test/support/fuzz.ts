import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  isScalarType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

/** A small seeded PRNG (mulberry32), so a failing fuzz case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzCase {
  seed: number;
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
}

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\r\nX-Injected: 1',
  '<script>alert(1)</script>',
  '{{constructor.constructor("return process")()}}',
  "'; drop table workflow.cases; --",
  '../../../../etc/passwd',
  '%2e%2e%2f%2e%2e%2f',
  '__proto__',
  'constructor',
  '😀'.repeat(50),
  'a'.repeat(10_000),
  '\u202e\u200b',
  'null',
  '-1',
  '9'.repeat(40),
];

/**
 * Generates operations against a schema: mostly well-formed but wrong in
 * some way (unknown ids, wrong types, odd strings, deep or wide selections),
 * some syntactically broken. Ids are random, so no generated mutation names
 * an existing record: a correct server refuses each without changing state.
 */
export class Fuzzer {
  private readonly schema: GraphQLSchema;
  constructor(sdl: string) {
    this.schema = buildSchema(sdl);
  }

  make(seed: number): FuzzCase {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const roll = rnd();
    const variables: Record<string, unknown> = {};
    let varCount = 0;

    const scalarValue = (name: string, inline: boolean): unknown => {
      const wrong = rnd() < 0.2;
      if (wrong) return pick<unknown>([42, true, 'x', null, [], {}, 1.5, -1]);
      switch (name) {
        case 'Int':
          return pick([0, 1, 5, 100, -1, 2 ** 31, 1e12]);
        case 'Float':
          return rnd() * 1e6;
        case 'Boolean':
          return rnd() < 0.5;
        case 'ID':
          return rnd() < 0.8
            ? `${pick(['case', 'cus', 'doc', 'apr', 'tap', 'exc', 'tpl', 'tv', 'nb'])}_fz${Math.floor(rnd() * 1e9)}`
            : pick(NASTY_STRINGS);
        case 'JSON':
          return inline ? pick([{}, { a: 1 }]) : this.json(rnd, 0);
        case 'DateTime':
          return pick(['2026-01-01T00:00:00Z', 'yesterday', '']);
        default:
          return pick(NASTY_STRINGS);
      }
    };

    const value = (type: GraphQLInputType, depth: number, inline: boolean): unknown => {
      if (isNonNullType(type)) return value(type.ofType, depth, inline);
      if (isListType(type)) {
        const n = Math.floor(rnd() * 4);
        return Array.from({ length: n }, () => value(type.ofType, depth + 1, inline));
      }
      if (isEnumType(type)) {
        const vals = type.getValues().map((v) => v.name);
        return rnd() < 0.9 ? pick(vals) : 'NOT_AN_ENUM';
      }
      if (isInputObjectType(type)) {
        const out: Record<string, unknown> = {};
        if (depth > 4) return out;
        for (const f of Object.values(type.getFields())) {
          if (isNonNullType(f.type) || rnd() < 0.5) out[f.name] = value(f.type, depth + 1, inline);
        }
        if (rnd() < 0.1) out.unknownField = 'x';
        return out;
      }
      if (isScalarType(type)) return scalarValue(type.name, inline);
      return null;
    };

    const literal = (v: unknown, type: GraphQLInputType): string => {
      const named = getNamedType(type);
      if (v === null || v === undefined) return 'null';
      if (Array.isArray(v))
        return `[${v.map((x) => literal(x, isListType(type) ? type.ofType : type)).join(', ')}]`;
      if (typeof v === 'object') {
        return `{ ${Object.entries(v as Record<string, unknown>)
          .map(([k, x]) => {
            const f = isInputObjectType(named) ? named.getFields()[k] : undefined;
            return `${k}: ${literal(x, f ? f.type : type)}`;
          })
          .join(', ')} }`;
      }
      if (typeof v === 'string' && isEnumType(named) && /^[A-Z_]+$/.test(v)) return v;
      return JSON.stringify(v);
    };

    const args = (list: readonly GraphQLArgument[]): string => {
      const parts: string[] = [];
      for (const a of list) {
        if (!isNonNullType(a.type) && rnd() < 0.6) continue;
        if (rnd() < 0.6) {
          const name = `v${varCount++}`;
          variables[name] = value(a.type, 0, false);
          parts.push(`${a.name}: $${name}`);
          (declared as string[]).push(`$${name}: ${String(rnd() < 0.1 ? 'Int' : a.type)}`);
        } else {
          parts.push(`${a.name}: ${literal(value(a.type, 0, true), a.type)}`);
        }
      }
      if (rnd() < 0.05) parts.push(`bogus: 1`);
      return parts.length ? `(${parts.join(', ')})` : '';
    };
    const declared: string[] = [];

    const selection = (type: GraphQLNamedType, depth: number, maxDepth: number): string => {
      if (isUnionType(type)) {
        return `{ __typename ${type
          .getTypes()
          .slice(0, 2)
          .map((t) => `... on ${t.name} ${selection(t, depth + 1, maxDepth)}`)
          .join(' ')} }`;
      }
      if (!isObjectType(type) && !isInterfaceType(type)) return '';
      const fields = Object.values(type.getFields()) as GraphQLField<unknown, unknown>[];
      const n = 1 + Math.floor(rnd() * Math.min(fields.length, depth === 0 ? 3 : 6));
      const chosen: string[] = [];
      for (let i = 0; i < n; i++) {
        if (rnd() < 0.05) {
          chosen.push(
            pick(['nonexistentField', '__schema { types { name } }', '__typename', 'id @skip(if: true)']),
          );
          continue;
        }
        const f = pick(fields);
        const named = getNamedType(f.type);
        const alias = rnd() < 0.15 ? `a${Math.floor(rnd() * 1000)}: ` : '';
        const sub =
          isObjectType(named) || isInterfaceType(named) || isUnionType(named)
            ? depth < maxDepth
              ? selection(named, depth + 1, maxDepth)
              : rnd() < 0.5
                ? ''
                : '{ __typename }'
            : '';
        chosen.push(`${alias}${f.name}${args(f.args)} ${sub}`);
      }
      return `{ ${chosen.join(' ')} }`;
    };

    let query: string;
    if (roll < 0.08) {
      // Syntax garbage and truncations.
      const base = `query { cases(first: 3) { edges { node { id title customer { name } } } } }`;
      query = pick([
        base.slice(0, Math.floor(rnd() * base.length)),
        base.replace('{', pick(['(', '[', '{{', '', '"'])),
        '{'.repeat(1 + Math.floor(rnd() * 5000)),
        pick(NASTY_STRINGS),
        `query ${'q'.repeat(1000)} { __typename }`,
        'subscription { caseUpdated { id } }',
        `{ ${'__typename '.repeat(Math.floor(rnd() * 3000))}}`,
      ]);
    } else {
      const root =
        roll < 0.62
          ? this.schema.getQueryType()!
          : (this.schema.getMutationType() ?? this.schema.getQueryType()!);
      const kw = root === this.schema.getQueryType() ? 'query' : 'mutation';
      const maxDepth = rnd() < 0.1 ? 20 + Math.floor(rnd() * 30) : 2 + Math.floor(rnd() * 4);
      const body = selection(root as GraphQLObjectType, 0, maxDepth);
      query = `${kw} Fuzz${declared.length ? `(${declared.join(', ')})` : ''} ${body}`;
      if (rnd() < 0.05) variables.extra = this.json(rnd, 0);
    }
    return { seed, query, variables, operationName: rnd() < 0.03 ? 'NotThere' : undefined };
  }

  private json(rnd: () => number, depth: number): unknown {
    const r = rnd();
    if (depth > 3 || r < 0.3) return r < 0.1 ? 'x'.repeat(Math.floor(rnd() * 2000)) : Math.floor(rnd() * 100);
    if (r < 0.4) {
      // Deep nesting.
      let v: unknown = 1;
      const levels = Math.floor(rnd() * 80);
      for (let i = 0; i < levels; i++) v = { n: v };
      return v;
    }
    if (r < 0.5)
      return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}');
    if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 5) }, () => this.json(rnd, depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = 0; i < 1 + Math.floor(rnd() * 4); i++) o[`k${i}`] = this.json(rnd, depth + 1);
    return o;
  }
}
