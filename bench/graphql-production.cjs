/**
 * A preload for measuring (not for running the product): graphql-js loaded as under
 * NODE_ENV=production, everything else as the process's environment says.
 *
 * graphql-js picks its `instanceOf` once, when it loads: under NODE_ENV=production a plain
 * `instanceof`, otherwise one that also checks for a second copy of graphql-js (5-7 % of a
 * gateway's CPU in the bench). The benches run without NODE_ENV=production, which the Dockerfile
 * sets, because our config refuses the dev signing key in production and the benches sign their
 * tokens with it. This sets NODE_ENV for the moment graphql-js loads and restores it after:
 *
 *   BENCH_TWIN_NODE_ARGS=--require=./bench/graphql-production.cjs node dist/bench/gateways.js
 *
 * Resolved from the working directory, as the process's own `require('graphql')` is (ESM imports
 * of graphql resolve to the same CommonJS module, so they get it too).
 */
const before = process.env.NODE_ENV;
process.env.NODE_ENV = 'production';
try {
  require(require.resolve('graphql', { paths: [process.cwd()] }));
} finally {
  if (before === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = before;
}
