import fs from 'node:fs';
import path from 'node:path';
import { buildSchema, findBreakingChanges } from 'graphql';
import { servedApiSchema } from '../../src/gateway/sdl.js';

/**
 * The product contract: the API schema the gateway serves keeps every type,
 * field, argument, input field and enum value of core.graphql, with the same
 * types. `core.graphql` is a copy of the contract kept in the project.
 */
test('the served API schema satisfies the core contract', async () => {
  const contract = buildSchema(fs.readFileSync(path.join(__dirname, 'core.graphql'), 'utf8'));
  const { schema } = await servedApiSchema();
  expect(findBreakingChanges(contract, schema)).toEqual([]);
});

test('the committed api.graphql satisfies the core contract too', () => {
  const contract = buildSchema(fs.readFileSync(path.join(__dirname, 'core.graphql'), 'utf8'));
  const served = buildSchema(
    fs.readFileSync(path.join(__dirname, '../../src/schema/sdl/api.graphql'), 'utf8'),
  );
  expect(findBreakingChanges(contract, served)).toEqual([]);
});
