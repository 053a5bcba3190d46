import fs from 'node:fs';
import path from 'node:path';
import {
  Kind,
  parse,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
  type TypeNode,
} from 'graphql';
import { SDL_DIR, sdlFiles } from '../../../src/gateway/sdl.js';

/** The committed SDL under src/schema/sdl is what the code builds; run `npm run schema:print` when this fails. */
test('the committed SDL files are up to date', async () => {
  const files = await sdlFiles();
  expect(Object.keys(files).sort()).toEqual([
    'api.graphql',
    'communications.graphql',
    'customers.graphql',
    'supergraph.graphql',
    'workflow.graphql',
  ]);
  for (const [name, text] of Object.entries(files)) {
    const committed = fs.readFileSync(path.resolve(__dirname, '../../..', SDL_DIR, name), 'utf8');
    expect({ name, text: committed }).toEqual({ name, text });
  }
});

test('each subgraph declares only its own entities as owner and extends the others by key', () => {
  const read = (n: string) =>
    fs.readFileSync(path.resolve(__dirname, '../../..', SDL_DIR, `${n}.graphql`), 'utf8');
  // customers resolves Case.customer from the case's customerId, which workflow owns.
  expect(read('customers')).toMatch(/customer: Customer @requires\(fields: "customerId"\)/);
  expect(read('customers')).toMatch(/customerId: ID @external/);
  // communications adds documents and exceptions to Case and documents to Customer.
  expect(read('communications')).toMatch(
    /type Case\s+@key\(fields: "id"\)\s*\{\s*id: ID!\s*documents: \[Document!\]!\s*exceptions: \[GenerationException!\]!/,
  );
  expect(read('workflow')).toMatch(/type Customer\s+@key\(fields: "id"\)\s*\{\s*id: ID!\s*cases\(/);
});

/**
 * The resume contract the gateway relies on to carry a subscription over a lost socket to a
 * subgraph service (src/gateway/upstream-subscriptions.ts): every subscription field of every
 * subgraph takes `after`, and its payload is an object type with `eventId`.
 */
test('every subscription field takes after, and its payload has eventId', () => {
  let checked = 0;
  for (const n of ['communications', 'customers', 'workflow']) {
    const doc = parse(fs.readFileSync(path.resolve(__dirname, '../../..', SDL_DIR, `${n}.graphql`), 'utf8'));
    const objects = doc.definitions.filter(
      (d): d is ObjectTypeDefinitionNode | ObjectTypeExtensionNode =>
        d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION,
    );
    const fieldsOf = (type: string) =>
      objects.filter((d) => d.name.value === type).flatMap((d) => (d.fields ?? []).map((f) => f.name.value));
    for (const field of objects
      .filter((d) => d.name.value === 'Subscription')
      .flatMap((d) => d.fields ?? [])) {
      let type: TypeNode = field.type;
      while (type.kind !== Kind.NAMED_TYPE) type = type.type;
      expect({
        field: `${n}: ${field.name.value}`,
        after: field.arguments?.some((a) => a.name.value === 'after'),
        eventId: fieldsOf(type.name.value).includes('eventId'),
      }).toEqual({ field: `${n}: ${field.name.value}`, after: true, eventId: true });
      checked++;
    }
  }
  expect(checked).toBeGreaterThanOrEqual(7);
});
