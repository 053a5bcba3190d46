import path from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/index.js';

/** The environment is validated once, at start, and every problem is reported at once. */
test('defaults give the embedded single-process product on port 4000', () => {
  const c = loadConfig({});
  expect(c).toMatchObject({ port: 4000, gatewayMode: 'inprocess', databaseUrl: undefined, seedDemo: true });
  expect(c.dataDir).toBe(path.resolve('./data'));
  expect(c.correspondenceStages.claim_letter).toEqual(['APPROVAL']);
});

test('all problems are listed together', () => {
  let err: unknown;
  try {
    loadConfig({
      PORT: 'eighty',
      GATEWAY_MODE: 'remote',
      SUBGRAPH_URLS: 'workflow=not a url,payments=http://x',
      CORRESPONDENCE_STAGES: '{"claim_letter":["COMPLIANCE","REVIEW"]}',
    });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const problems = (err as ConfigError).problems;
  expect(problems[0]).toMatch(/^PORT: /);
  expect(problems).toEqual(
    expect.arrayContaining([
      expect.stringContaining('"not a url" is not a URL'),
      expect.stringContaining('"payments=http://x" is not'),
      expect.stringContaining('remote mode needs a URL for customers'),
      expect.stringContaining('CORRESPONDENCE_STAGES.claim_letter'),
    ]),
  );
  expect((err as ConfigError).message).toMatch(/^Invalid configuration:\n {2}- /);
});

test('EXPLORER picks the browser page: GraphiQL by default, Sandbox or none by choice, nothing else', () => {
  expect(loadConfig({}).explorer).toBe('graphiql');
  expect(loadConfig({ EXPLORER: 'sandbox' }).explorer).toBe('sandbox');
  expect(loadConfig({ EXPLORER: 'off' }).explorer).toBe('off');
  expect(() => loadConfig({ EXPLORER: 'playground' })).toThrow(/EXPLORER: /);
});

test('a production store gets no demo data unless SEED_DEMO=true says so', () => {
  const prod = {
    NODE_ENV: 'production',
    AUTH_MODE: 'jwks',
    AUTH_JWKS_URL: 'https://idp.example/jwks',
    AUTH_ISSUER: 'https://idp.example',
    AUTH_AUDIENCE: 'commsgraph',
  };
  expect(loadConfig(prod).seedDemo).toBe(false);
  expect(loadConfig({ ...prod, SEED_DEMO: 'true' }).seedDemo).toBe(true);
  expect(loadConfig({ SEED_DEMO: 'false' }).seedDemo).toBe(false);
});
