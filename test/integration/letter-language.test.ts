import { startTestGateway, type TestGateway } from '../support/harness.js';

/**
 * Letters in one language, as a customer receives them: Łukasz Żółć (cus_001, locale pl-PL)
 * gets the English account statement of the tour with English dates and amounts throughout,
 * transaction dates included, and no Polish month names or decimal commas.
 */
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t.stop());

const STATEMENT = {
  accountNumber: 'GB29 CTSO 6016 1331 9268 19',
  periodStart: '2025-02-01',
  periodEnd: '2025-02-28',
  openingBalance: 1520.1,
  closingBalance: 1834.55,
  currency: 'GBP',
  transactions: [
    { date: '2025-02-03', description: 'Salary — Fabrikam Ltd', amount: 2450 },
    { date: '2025-02-05', description: 'Rent — Canal Row Lettings', amount: -1650 },
  ],
};

test('a pl-PL customer reads an English statement with English dates and amounts', async () => {
  const svc = await t.token('svc', 'service');
  const customer = await t.gql<{ customer: { locale: string } }>(
    `{ customer(id: "cus_001") { locale } }`,
    {},
    svc,
  );
  expect(customer.data!.customer.locale).toBe('pl-PL');
  const r = await t.gql<{ generateDocument: { id: string; status: string } }>(
    `mutation ($input: GenerateDocumentInput!) { generateDocument(input: $input) { id status } }`,
    {
      input: {
        customerId: 'cus_001',
        templateId: 'tpl_account_statement',
        channel: 'EMAIL',
        data: STATEMENT,
        idempotencyKey: 'letter-language-1',
      },
    },
    svc,
  );
  expect(r.errors).toBeUndefined();
  expect(r.data!.generateDocument.status).toBe('GENERATED');
  const ops = await t.token('olga', 'operations');
  const part = async (name: string) => {
    const res = await fetch(
      t.url.replace('/graphql', `/documents/${r.data!.generateDocument.id}/content?part=${name}`),
      { headers: { authorization: `Bearer ${ops}` } },
    );
    expect(res.status).toBe(200);
    return res.text();
  };
  const subject = await part('subject.txt');
  const text = await part('body.txt');
  const html = await part('body.html');
  expect(subject).toBe('Your statement for the period ending 28 February 2025');
  for (const body of [text, html]) {
    expect(body).toContain('1 February 2025');
    expect(body).toContain('3 February 2025');
    expect(body).toContain('£1,520.10');
    expect(body).toContain('£2,450.00');
    expect(body).toContain('-£1,650.00');
    // Nothing in Polish, and no raw ISO dates.
    expect(body).not.toMatch(/lutego|1520,10|2450,00|\b2025-02-\d\d\b/);
  }
});
