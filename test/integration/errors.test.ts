import { sql } from 'kysely';
import { configureLogger } from '../../src/logger.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * Unexpected errors are masked for clients (INTERNAL_SERVER_ERROR with a
 * correlation id) and logged in full under that id; readiness follows the store.
 */
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t.stop());

test('an internal fault reaches the client masked, and the log has it in full under the same id', async () => {
  const token = await t.token('auditor', 'auditor');
  // Break the store under the running server: the next read fails inside a resolver.
  await sql`alter table workflow.cases rename to cases_gone`.execute(t.gateway.store!.db);
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  configureLogger({ level: 'error' });
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  let r;
  try {
    r = await t.gql<{ case: unknown }>(`{ case(id: "case_x") { id } }`, {}, token);
  } finally {
    process.stderr.write = write;
    await sql`alter table workflow.cases_gone rename to cases`.execute(t.gateway.store!.db);
  }
  const err = r.errors?.[0];
  expect(err?.message).toBe('Internal server error');
  expect(err?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  const id = err?.extensions?.correlationId as string;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(JSON.stringify(r)).not.toMatch(/does not exist|workflow\.|stack|\bat /i);
  const logged = lines.find((l) => l.includes(id));
  expect(logged).toBeDefined();
  expect(logged).toMatch(/relation .*cases.* does not exist/);
});

test('readiness is 503 while the store does not answer, 200 again when it does', async () => {
  const base = t.url.replace('/graphql', '');
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  const pool = t.gateway.store!.pool;
  // Hold the store's only connection: a ping cannot get through.
  const client = await pool.connect();
  try {
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
  } finally {
    client.release();
  }
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
});
