import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CompositionError,
  composeSupergraph,
  composeSupergraphCached,
} from '../../../src/gateway/compose.js';

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';

test('composition errors stop the start with every problem in a readable message', () => {
  const a = `${LINK}\ntype Query { a: Thing }\ntype Thing @key(fields: "id") { id: ID! size: Int }`;
  // Same field, incompatible type, not shareable: two problems at once.
  const b = `${LINK}\ntype Query { b: Thing }\ntype Thing @key(fields: "id") { id: ID! size: String name: String }\ntype Other { x: Int }\ntype Query2 { y: Int }`;
  let error: unknown;
  try {
    composeSupergraph([
      { name: 'a', url: 'http://a', sdl: a },
      { name: 'b', url: 'http://b', sdl: b },
    ]);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CompositionError);
  const err = error as CompositionError;
  expect(err.message).toMatch(/^The subgraphs do not compose into a supergraph:\n {2}- /);
  expect(err.details.length).toBeGreaterThanOrEqual(1);
  expect(err.message).toContain('Thing.size');
});

test('compatible subgraphs compose into a supergraph and an API schema', () => {
  const a = `${LINK}\ntype Query { a: Thing }\ntype Thing @key(fields: "id") { id: ID! size: Int }`;
  const b = `${LINK}\ntype Query { b: Int }\ntype Thing @key(fields: "id") { id: ID! name: String }`;
  const { supergraphSdl, apiSdl } = composeSupergraph([
    { name: 'a', url: 'http://a', sdl: a },
    { name: 'b', url: 'http://b', sdl: b },
  ]);
  expect(supergraphSdl).toContain('@join__graph');
  expect(apiSdl).toMatch(/type Thing \{\s+id: ID!\s+size: Int\s+name: String\s+\}/);
});

describe('the composition cache (a restart with unchanged subgraphs does not compose again)', () => {
  const a = `${LINK}\ntype Query { a: Thing }\ntype Thing @key(fields: "id") { id: ID! size: Int }`;
  const b = `${LINK}\ntype Query { b: Int }\ntype Thing @key(fields: "id") { id: ID! name: String }`;
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'commsgraph-compose-'));
    file = path.join(dir, 'cache', 'supergraph.json');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const subgraphs = (bSdl = b) => [
    { name: 'a', url: 'http://a', sdl: a },
    { name: 'b', url: 'http://b', sdl: bSdl },
  ];

  test('the first start composes and keeps the result; the next one with the same subgraphs reads it', () => {
    const first = composeSupergraphCached(subgraphs(), file);
    expect(first).toEqual(composeSupergraph(subgraphs()));
    // Marked in the file: a second answer with the mark came from the cache, not from composing.
    const kept = JSON.parse(fs.readFileSync(file, 'utf8')) as { supergraphSdl: string };
    fs.writeFileSync(file, JSON.stringify({ ...kept, supergraphSdl: `${kept.supergraphSdl}# cached\n` }));
    expect(composeSupergraphCached(subgraphs(), file).supergraphSdl).toContain('# cached');
  });

  test('a changed subgraph composes again (and replaces the kept result)', () => {
    composeSupergraphCached(subgraphs(), file);
    const changed = `${LINK}\ntype Query { b: Int }\ntype Thing @key(fields: "id") { id: ID! name: String colour: String }`;
    const { apiSdl } = composeSupergraphCached(subgraphs(changed), file);
    expect(apiSdl).toContain('colour: String');
    expect(fs.readFileSync(file, 'utf8')).toContain('colour');
  });

  test('a change that does not compose fails the start as without the cache', () => {
    composeSupergraphCached(subgraphs(), file);
    const broken = `${LINK}\ntype Query { b: Int }\ntype Thing @key(fields: "id") { id: ID! size: String }`;
    expect(() => composeSupergraphCached(subgraphs(broken), file)).toThrow(CompositionError);
  });

  test('an unreadable cache file is composed over', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"key": "trunc');
    expect(composeSupergraphCached(subgraphs(), file)).toEqual(composeSupergraph(subgraphs()));
    expect(() => JSON.parse(fs.readFileSync(file, 'utf8')) as unknown).not.toThrow();
  });
});
