/**
 * The OpenText HTTP layer and OTDS tokens against the fake: token caching and shared refresh,
 * 401 refresh-and-retry once, the 500-for-expired-token caveat, the circuit breaker opening and
 * closing, Retry-After, and no blind retry of a non-idempotent call (connected-mode contract,
 * "Authentication to OpenText"; issue 10's "Done when").
 */
import { inspect } from 'node:util';
import { OpenTextAuthError, UpstreamUnavailableError } from '../../../src/upstreams/opentext/index.js';
import type { OpenTextFake } from '../../support/opentext/server.js';
import { TOKEN, TestClock, connect, driver, eventually, startDemoFake } from './setup.js';

const RESOURCE = /^\/design\/api\/v1\/resources\/CommsGraphDemo\/tpl_policy_pack$/;
const GENERATE = /\/inputs\/ondemand\/CommsGraphDemo\/generate$/;
const DRIVER = driver();

let fake: OpenTextFake;
let clock: TestClock;

beforeEach(async () => {
  clock = new TestClock();
  fake = await startDemoFake(clock);
});
afterEach(() => fake.close());

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('OTDS tokens', () => {
  test('one token request serves many calls, concurrent or not (tenant JSON form)', async () => {
    const { exstream } = connect(fake, {}, clock);
    await Promise.all(Array.from({ length: 20 }, () => exstream!.design.getResource('tpl_policy_pack')));
    await exstream!.design.getResource('tpl_billing_notice');
    expect(fake.count(TOKEN)).toBe(1);
    expect(fake.count(RESOURCE)).toBe(20);
  });

  test('the OTDS form endpoint works with a scope; a wrong body encoding is refused by the fake', async () => {
    const { exstream } = connect(
      fake,
      { OTDS_TOKEN_URL: `${fake.url}/otdsws/oauth2/token`, OTDS_SCOPE: 'otds:groups' },
      clock,
    );
    expect(await exstream!.design.getResource('tpl_policy_pack')).toMatchObject({ id: 'tpl_policy_pack' });
    const res = await fetch(`${fake.url}/otdsws/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'commsgraph', client_secret: 'x' }),
    });
    expect(res.status).toBe(400);
  });

  test('a token near its expiry is refreshed before use, by one request for all concurrent callers', async () => {
    fake.otds.expiresInSec = 900;
    const { exstream } = connect(fake, {}, clock);
    await exstream!.design.getResource('tpl_policy_pack');
    // 900 s minus the margin (60 s, at most a tenth of the lifetime) has passed.
    clock.advance(841_000);
    await Promise.all(Array.from({ length: 10 }, () => exstream!.design.getResource('tpl_policy_pack')));
    expect(fake.count(TOKEN)).toBe(2);
    // No call was sent with the stale token: none was refused.
    expect(fake.count(RESOURCE)).toBe(11);
  });

  test('a 401 refreshes the token once and repeats the call once; concurrent 401s share the refresh', async () => {
    const { exstream } = connect(fake, {}, clock);
    await exstream!.design.getResource('tpl_policy_pack');
    fake.otds.expireAllTokens();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => exstream!.design.getResource('tpl_policy_pack')),
    );
    expect(results.every((r) => r?.id === 'tpl_policy_pack')).toBe(true);
    expect(fake.count(TOKEN)).toBe(2);
    // 1 before, 5 refused, 5 repeated.
    expect(fake.count(RESOURCE)).toBe(11);
  });

  test('a call still refused after a fresh token fails with OpenTextAuthError and marks the upstream unauthorized', async () => {
    const { exstream, health } = connect(fake, {}, clock);
    // The gateway refuses the client on this route whatever its token.
    fake.faults.add({ path: RESOURCE, kind: 'status', status: 401 });
    const err = await rejection(exstream!.design.getResource('tpl_policy_pack'));
    expect(err).toBeInstanceOf(OpenTextAuthError);
    expect(fake.count(RESOURCE)).toBe(2);
    expect(health.snapshot()['exstream-design']).toBe('unauthorized');
  });

  test('bad client credentials: OpenTextAuthError from otds, secret nowhere in the error', async () => {
    const secret = 'wrong-secret-9f8e7d';
    const { exstream, health } = connect(fake, { OTDS_CLIENT_SECRET: secret }, clock);
    const err = await rejection(exstream!.design.getResource('tpl_policy_pack'));
    expect(err).toBeInstanceOf(OpenTextAuthError);
    expect((err as OpenTextAuthError).upstream).toBe('otds');
    expect((err as OpenTextAuthError).code).toBe('invalid_client');
    expect(inspect(err)).not.toContain(secret);
    expect(JSON.stringify(err)).not.toContain(secret);
    expect(health.snapshot().otds).toBe('unauthorized');
    // The Apigee gateway's fault body is understood too.
    fake.otds.faultStyle = 'apigee';
    const fault = await rejection(exstream!.design.getResource('tpl_policy_pack'));
    expect((fault as OpenTextAuthError).code).toBe('oauth.v2.InvalidClientIdentifier');
  });

  test('Exstream answering 500 for an expired token: refreshed once and repeated once (SDK caveat)', async () => {
    fake.expiredTokenStatus = 500;
    const { exstream } = connect(fake, {}, clock);
    await exstream!.design.getResource('tpl_policy_pack');
    // The token has been in use for over a minute when the fake expires it early.
    clock.advance(61_000);
    fake.otds.expireAllTokens();
    expect(await exstream!.design.getResource('tpl_policy_pack')).toMatchObject({ id: 'tpl_policy_pack' });
    expect(fake.count(TOKEN)).toBe(2);
  });

  test('a 500 with a fresh token is an outage, not a token problem: no refresh', async () => {
    fake.faults.add({ path: RESOURCE, kind: 'status', status: 500, times: 1 });
    const { exstream } = connect(fake, {}, clock);
    const err = await rejection(exstream!.design.getResource('tpl_policy_pack'));
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ reason: 'server-error', status: 500 });
    expect(fake.count(TOKEN)).toBe(1);
  });
});

describe('retries', () => {
  test.each([429, 502, 503, 504])('an idempotent call is retried after %i', async (status) => {
    fake.faults.add({ path: RESOURCE, kind: 'status', status, times: 2 });
    const { exstream } = connect(fake, {}, clock);
    expect(await exstream!.design.getResource('tpl_policy_pack')).toMatchObject({ id: 'tpl_policy_pack' });
    expect(fake.count(RESOURCE)).toBe(3);
  });

  test('a connection reset is retried for an idempotent call', async () => {
    fake.faults.add({ path: RESOURCE, kind: 'reset', times: 1 });
    const { exstream } = connect(fake, {}, clock);
    expect(await exstream!.design.getResource('tpl_policy_pack')).toMatchObject({ id: 'tpl_policy_pack' });
    expect(fake.count(RESOURCE)).toBe(2);
  });

  test('retries stop at the budget: UpstreamUnavailableError with the status', async () => {
    fake.faults.add({ path: RESOURCE, kind: 'status', status: 503 });
    const { exstream } = connect(fake, { OPENTEXT_BREAKER_THRESHOLD: '100' }, clock);
    const err = await rejection(exstream!.design.getResource('tpl_policy_pack'));
    expect(err).toMatchObject({ upstream: 'exstream', reason: 'server-error', status: 503 });
    expect(fake.count(RESOURCE)).toBe(3); // OPENTEXT_MAX_ATTEMPTS
  });

  test('Retry-After is honoured: the retry waits for it', async () => {
    fake.faults.add({ path: RESOURCE, kind: 'status', status: 429, retryAfter: '1', times: 1 });
    const { exstream } = connect(fake, {}, clock);
    const started = Date.now();
    await exstream!.design.getResource('tpl_policy_pack');
    // The backoff alone would be at most OPENTEXT_BACKOFF_MAX_MS = 5 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.count(RESOURCE)).toBe(2);
  });

  test('a Retry-After longer than we wait fails at once and passes the figure on', async () => {
    fake.faults.add({ path: RESOURCE, kind: 'status', status: 503, retryAfter: '120' });
    const { exstream } = connect(fake, {}, clock);
    const err = await rejection(exstream!.design.getResource('tpl_policy_pack'));
    expect(err).toMatchObject({ retryAfterSec: 120 });
    expect(fake.count(RESOURCE)).toBe(1);
    const gql = (err as UpstreamUnavailableError).toGraphQLError();
    expect(gql.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      retryAfter: 120,
      upstream: 'exstream',
    });
  });

  test('a non-idempotent call (generate) is not repeated after a 503 or a reset', async () => {
    const { exstream } = connect(fake, {}, clock);
    const driverDataSource = 'policy_pack_driver';
    fake.faults.add({ path: GENERATE, kind: 'status', status: 503, times: 1 });
    const err = await rejection(
      exstream!.ondemand.generate({ communicationId: 'tpl_policy_pack', driverDataSource, driver: DRIVER }),
    );
    expect(err).toMatchObject({ reason: 'server-error', mayHaveReachedUpstream: true });
    expect(fake.count(GENERATE)).toBe(1);
    fake.faults.add({ path: GENERATE, kind: 'reset', times: 1 });
    const reset = await rejection(
      exstream!.ondemand.generate({ communicationId: 'tpl_policy_pack', driverDataSource, driver: DRIVER }),
    );
    expect(reset).toMatchObject({ reason: 'connection', mayHaveReachedUpstream: true });
    expect(fake.count(GENERATE)).toBe(2);
  });

  test('a non-idempotent call is repeated after a 429: the upstream did not act on it', async () => {
    const { exstream } = connect(fake, {}, clock);
    fake.faults.add({ path: GENERATE, kind: 'status', status: 429, times: 1 });
    const outputs = await exstream!.ondemand.generate({
      communicationId: 'tpl_policy_pack',
      driverDataSource: 'policy_pack_driver',
      driver: DRIVER,
    });
    expect(outputs).toHaveLength(2);
    expect(fake.count(GENERATE)).toBe(2);
    expect(fake.served(GENERATE)).toBe(1);
  });

  test('a slow answer times out: an outage that may have reached the upstream', async () => {
    fake.faults.add({ path: GENERATE, kind: 'slow', delayMs: 500 });
    const { exstream } = connect(fake, { OPENTEXT_TIMEOUT_MS: '100' }, clock);
    const err = await rejection(
      exstream!.ondemand.generate({
        communicationId: 'tpl_policy_pack',
        driverDataSource: 'policy_pack_driver',
        driver: DRIVER,
      }),
    );
    expect(err).toMatchObject({ reason: 'timeout', mayHaveReachedUpstream: true });
    expect(fake.count(GENERATE)).toBe(1);
  });
});

describe('circuit breaker', () => {
  test('opens on repeated outage, refuses without calling, half-opens and closes after recovery', async () => {
    const { exstream, health } = connect(fake, { OPENTEXT_MAX_ATTEMPTS: '1' }, clock);
    await exstream!.design.getResource('tpl_policy_pack');
    expect(health.snapshot()).toEqual({ otds: 'up', exstream: 'unknown', 'exstream-design': 'up' });
    const outage = fake.faults.add({ path: /^\/design\//, kind: 'status', status: 503 });
    for (let i = 0; i < 3; i++) {
      await expect(exstream!.design.getResource('tpl_policy_pack')).rejects.toMatchObject({
        reason: 'server-error',
      });
    }
    expect(exstream!.designClient.circuitState).toBe('open');
    expect(health.snapshot()['exstream-design']).toBe('down');
    const before = fake.count(RESOURCE);
    const refused = await rejection(exstream!.design.getResource('tpl_policy_pack'));
    expect(refused).toMatchObject({ reason: 'circuit-open', mayHaveReachedUpstream: false });
    expect((refused as UpstreamUnavailableError).retryAfterSec).toBeGreaterThanOrEqual(1);
    expect(fake.count(RESOURCE)).toBe(before);

    // Still down when the trial call goes through: the circuit opens again.
    await eventually(async () => {
      const err = await rejection(exstream!.design.getResource('tpl_policy_pack'));
      expect(err).toMatchObject({ reason: 'server-error' });
    });
    expect(exstream!.designClient.circuitState).toBe('open');

    outage();
    const recovered = await eventually(() => exstream!.design.getResource('tpl_policy_pack'));
    expect(recovered).toMatchObject({ id: 'tpl_policy_pack' });
    expect(exstream!.designClient.circuitState).toBe('closed');
    expect(health.snapshot()['exstream-design']).toBe('up');
  });

  test('throttling and considered answers do not open the circuit', async () => {
    const { exstream } = connect(fake, { OPENTEXT_MAX_ATTEMPTS: '1' }, clock);
    fake.faults.add({ path: RESOURCE, kind: 'status', status: 429, times: 5 });
    for (let i = 0; i < 5; i++) {
      await expect(exstream!.design.getResource('tpl_policy_pack')).rejects.toMatchObject({
        reason: 'throttled',
      });
    }
    for (let i = 0; i < 5; i++) expect(await exstream!.design.getResource('no-such-resource')).toBeNull();
    expect(exstream!.designClient.circuitState).toBe('closed');
  });

  test('each upstream has its own circuit: OTDS down does not open Exstream', async () => {
    const { exstream, health } = connect(fake, { OPENTEXT_MAX_ATTEMPTS: '1' }, clock);
    fake.faults.add({ path: TOKEN, kind: 'status', status: 503 });
    for (let i = 0; i < 3; i++) {
      await expect(exstream!.design.getResource('tpl_policy_pack')).rejects.toMatchObject({
        upstream: 'otds',
      });
    }
    expect(health.snapshot()).toEqual({ otds: 'down', exstream: 'unknown', 'exstream-design': 'unknown' });
    expect(exstream!.designClient.circuitState).toBe('closed');
  });

  test('Exstream Design and Orchestration have their own circuits: either down leaves the other working', async () => {
    const { exstream, health } = connect(fake, { OPENTEXT_MAX_ATTEMPTS: '1' }, clock);
    const generate = () =>
      exstream!.ondemand.generate({
        communicationId: 'tpl_policy_pack',
        driverDataSource: 'policy_pack_driver',
        driver: DRIVER,
      });
    // The design service down: its circuit opens, generation still goes through.
    const design = fake.faults.add({ path: /^\/design\//, kind: 'status', status: 503 });
    for (let i = 0; i < 3; i++) {
      await expect(exstream!.design.getResource('tpl_policy_pack')).rejects.toMatchObject({
        reason: 'server-error',
      });
    }
    expect(exstream!.designClient.circuitState).toBe('open');
    expect(await generate()).toHaveLength(2);
    expect(exstream!.client.circuitState).toBe('closed');
    expect(health.snapshot()).toEqual({ otds: 'up', exstream: 'up', 'exstream-design': 'down' });
    design();

    // Generation down: its circuit opens, the design service still answers (once its own
    // circuit lets a call through again).
    fake.faults.add({ path: GENERATE, kind: 'status', status: 503 });
    for (let i = 0; i < 3; i++) await expect(generate()).rejects.toMatchObject({ reason: 'server-error' });
    expect(exstream!.client.circuitState).toBe('open');
    expect(await rejection(generate())).toMatchObject({ reason: 'circuit-open' });
    const resource = await eventually(() => exstream!.design.getResource('tpl_policy_pack'));
    expect(resource).toMatchObject({ id: 'tpl_policy_pack' });
    expect(exstream!.designClient.circuitState).toBe('closed');
    expect(health.snapshot()).toEqual({ otds: 'up', exstream: 'down', 'exstream-design': 'up' });
  });
});
