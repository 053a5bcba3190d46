/**
 * Subscription arguments are input like any other: a cursor or id that is
 * out of range or malformed is refused with BAD_USER_INPUT naming the
 * argument, before anything reads the store, on every subscription field.
 */
import type { GraphQLFormattedError } from 'graphql';
import { startTestGateway, type TestGateway } from '../support/harness.js';
import { wsClient } from '../support/ws.js';

let t: TestGateway;
let admin: string;

beforeAll(async () => {
  t = await startTestGateway();
  admin = await t.token('args.admin', 'admin', 'operations', 'compliance', 'service');
});
afterAll(() => t?.stop());

/**
 * The errors the subscription is refused with. A refusal comes at once; a
 * subscription still open after ACCEPTED_AFTER_MS was accepted (the deadline
 * only makes a failing case fail fast, a passing one never waits for it).
 */
const ACCEPTED_AFTER_MS = 5_000;
async function firstAnswer(query: string): Promise<{ errors: readonly GraphQLFormattedError[] | null }> {
  const client = wsClient(t.url, admin);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise((resolve, reject) => {
      timer = setTimeout(() => resolve({ errors: null }), ACCEPTED_AFTER_MS);
      client.subscribe(
        { query },
        {
          next: (r) => resolve({ errors: r.errors ?? null }),
          error: (e) =>
            Array.isArray(e) ? resolve({ errors: e as GraphQLFormattedError[] }) : reject(e as Error),
          complete: () => resolve({ errors: null }),
        },
      );
    });
  } finally {
    clearTimeout(timer);
    await client.dispose();
  }
}

/** Every subscription field with the id arguments it filters by. */
const FIELDS: Array<[field: string, ids: string[]]> = [
  ['caseUpdated', ['caseId']],
  ['deadlineAlerted', ['caseId']],
  ['deliveryStatusChanged', ['customerId', 'caseId', 'documentId']],
  ['generationExceptionRaised', []],
  ['noticeBatchProgress', ['batchId', 'caseId']],
  ['templateUpdated', ['templateId']],
];

const CURSORS = [
  // One past PostgreSQL's largest bigint (9223372036854775807), and far past it.
  '9223372036854775808',
  '9999999999999999999',
  '99999999999999999999999',
  '-1',
  '1e3',
  ' 12',
  '',
];

test.each(FIELDS.flatMap(([field]) => CURSORS.map((c) => [field, c] as const)))(
  '%s(after: %j) is BAD_USER_INPUT on after',
  async (field, cursor) => {
    const { errors } = await firstAnswer(
      `subscription { ${field}(after: ${JSON.stringify(cursor)}) { __typename } }`,
    );
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  },
);

test.each(FIELDS.flatMap(([field, ids]) => ids.map((id) => [field, id] as const)))(
  '%s(%s) with an id out of format is BAD_USER_INPUT on that argument',
  async (field, id) => {
    for (const value of ['', 'x'.repeat(101), 'case 1', "case'; drop table x; --"]) {
      const { errors } = await firstAnswer(
        `subscription { ${field}(${id}: ${JSON.stringify(value)}) { __typename } }`,
      );
      expect({ value, extensions: errors?.[0]?.extensions }).toMatchObject({
        value,
        extensions: { code: 'BAD_USER_INPUT', field: id },
      });
    }
  },
);
