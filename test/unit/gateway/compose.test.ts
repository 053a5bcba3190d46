import { CompositionError, composeSupergraph } from '../../../src/gateway/compose.js';

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
