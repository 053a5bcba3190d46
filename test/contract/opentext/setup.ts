/**
 * Shared setup of the OpenText contract tests: a fake on port 0 with the demo domain, and the
 * connectors built from the same settings a deployment would use (loadConfig), with small
 * resilience durations so that backoff and half-open take milliseconds, not seconds.
 */
import { loadConfig } from '../../../src/config/index.js';
import { createOpenTextUpstreams, type OpenTextUpstreams } from '../../../src/upstreams/opentext/index.js';
import { DEMO_CLIENT, DEMO_DOMAIN, seedDemo } from '../../support/opentext/demo.js';
import { startOpenTextFake, type OpenTextFake } from '../../support/opentext/server.js';

export const FAST = {
  OPENTEXT_TIMEOUT_MS: '2000',
  OPENTEXT_MAX_ATTEMPTS: '3',
  OPENTEXT_BACKOFF_MS: '1',
  OPENTEXT_BACKOFF_MAX_MS: '5',
  OPENTEXT_BREAKER_THRESHOLD: '3',
  OPENTEXT_BREAKER_HALF_OPEN_MS: '50',
};

/** A clock the fake and the token provider share; tests move it instead of sleeping. */
export class TestClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export async function startDemoFake(clock = new TestClock()): Promise<OpenTextFake> {
  const fake = await startOpenTextFake({ now: clock.now });
  seedDemo(fake);
  return fake;
}

export function connect(
  fake: OpenTextFake,
  env: Record<string, string> = {},
  clock?: TestClock,
): OpenTextUpstreams {
  const config = loadConfig({ ...fake.settings(DEMO_CLIENT, DEMO_DOMAIN), ...FAST, ...env });
  return createOpenTextUpstreams(config.opentext, { now: clock?.now });
}

/** Polls `check` until it stops throwing (a condition, not a fixed sleep); rethrows after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export const TOKEN = /\/oauth2\/token$/;

/** Data that satisfies the demo `tpl_policy_pack` schema. */
export const POLICY_DATA = {
  policyNumber: 'POL-1',
  productName: 'Home',
  startDate: '2025-01-01',
  endDate: '2025-12-31',
  annualPremium: 100,
  currency: 'EUR',
  coverSummary: ['Buildings'],
};

/** A driver document as the contract defines it: `{customer, data, case, issuedAt}`. */
export const driver = (data: Record<string, unknown> = POLICY_DATA) => ({
  customer: { id: 'cus_1', name: 'Ada Lovelace' },
  data,
  case: { id: 'case_1' },
  issuedAt: '2025-01-01T00:00:00.000Z',
});
