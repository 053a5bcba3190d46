import { BRANDS } from '../../../src/datasources/communications/engine/index.js';
import {
  createTemplateEnvironment,
  type TemplateContext,
} from '../../../src/datasources/communications/engine/handlebars.js';
import { LUKASZ, STEFAN } from './fixtures.js';

function context(customer: TemplateContext['customer']): TemplateContext {
  return {
    customer,
    data: { amount: 1 },
    case: null,
    brand: BRANDS.northwind,
    issuedAt: '2025-03-01T09:30:00Z',
    letter: { locale: 'en-GB', dateStyle: null },
  };
}

describe('templates without mustaches', () => {
  // A template of plain text is rendered once and its string reused (handlebars.ts): it must be
  // what Handlebars gives, escaped mustaches and whitespace included, for every context.
  it('render as Handlebars renders them, whatever the context', () => {
    const env = createTemplateEnvironment();
    const cases: Array<[string, string]> = [
      ['Account number', 'Account number'],
      ['', ''],
      ['  Two\n lines  ', '  Two\n lines  '],
      ['Literal \\{{customer.name}} here', 'Literal {{customer.name}} here'],
    ];
    for (const [source, expected] of cases) {
      const template = env.compile(source, 'none', 'test');
      expect(template(context(LUKASZ))).toBe(expected);
      expect(template(context(STEFAN))).toBe(expected);
    }
  });

  it('leave templates with a mustache rendering per context', () => {
    const template = createTemplateEnvironment().compile('Dear {{customer.name}},', 'none', 'test');
    expect(template(context(LUKASZ))).toBe('Dear Łukasz Żółć,');
    expect(template(context(STEFAN))).toBe('Dear Ștefan Ionescu,');
  });
});
