import type { RenderableVersion, RenderSnapshot } from '../src/datasources/communications/engine/types.js';
import { SEED_TEMPLATES } from '../src/datasources/communications/seed/templates.js';

/** The batch benches' customers' names (Unicode, as in production), cycled with a number. */
export const NAMES = [
  'Łukasz Żółć',
  'Ștefan Ionescu',
  'Zoë Ångström',
  'José Núñez',
  'Anaïs Lefèvre',
  'Jürgen Groß',
  'Siobhán Ó Ceallaigh',
  'Oliver Bennett',
];

export const STATEMENT = SEED_TEMPLATES.find((t) => t.id === 'tpl_account_statement')!;

/** The one-page account statement, as a version the renderer takes. */
export const STATEMENT_VERSION: RenderableVersion = {
  id: 'tpl_account_statement_v1',
  content: STATEMENT.content,
  dataSchema: STATEMENT.dataSchema,
  templateId: STATEMENT.id,
  templateName: STATEMENT.name,
};

/** The snapshot the batch renders for its i-th customer (same name, address, locale and brand). */
export function statementSnapshot(i: number, issuedAt = new Date().toISOString()): RenderSnapshot {
  return {
    customer: {
      id: `bench_${String(i).padStart(6, '0')}`,
      name: `${NAMES[i % NAMES.length]} ${i}`,
      email: null,
      phone: null,
      address: { line1: `${i} Harbour Street`, city: 'Dublin', postcode: 'D02 XK83', country: 'IE' },
      locale: i % 2 ? 'pl-PL' : 'en-IE',
      brand: i % 2 ? 'contoso' : 'northwind',
      segments: ['bench'],
    },
    data: STATEMENT.sampleData,
    case: { id: 'case_bench', title: 'Batch benchmark' },
    issuedAt,
  };
}
