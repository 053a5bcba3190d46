import fs from 'node:fs';
import path from 'node:path';
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
