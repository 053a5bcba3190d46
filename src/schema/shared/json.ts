import { GraphQLScalarType } from 'graphql';
import { JSONResolver } from 'graphql-scalars';
import { badInput } from '../../errors/index.js';
import { jsonProblem, type JsonLimits } from '../../validation/index.js';

/**
 * The ceiling for any JSON value reaching a subgraph, whatever field it is for. Each field's own
 * (smaller) limits are checked afterwards by validateArgs, which can name the field; a scalar
 * cannot (graphql-js puts the path only into the message), so this catches just what no field
 * allows: values that are not plain JSON, absurd nesting and absurd size.
 */
export const JSON_CEILING: JsonLimits = { maxBytes: 1024 * 1024, maxDepth: 64 };

function accept(value: unknown): unknown {
  // Reserved keys, control characters and the like are left to validateArgs, which names the field.
  const problem = jsonProblem(value, JSON_CEILING, { shapeOnly: true });
  if (problem) {
    throw badInput(`JSON${problem.path ? ` at ${problem.path.replace(/^\./, '')}` : ''}: ${problem.message}`);
  }
  return value;
}

/**
 * graphql-scalars' JSON (same name, description and output), refusing oversized, over-deep and
 * non-plain values on input. graphql-js copies the thrown error's extensions onto the variable
 * error it reports, so the refusal reaches the client as BAD_USER_INPUT.
 */
export const SafeJSONScalar = new GraphQLScalarType({
  ...JSONResolver.toConfig(),
  parseValue: accept,
  parseLiteral: (ast, variables) => accept(JSONResolver.parseLiteral(ast, variables)),
});
