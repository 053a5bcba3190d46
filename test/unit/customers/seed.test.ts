import { SEED_CUSTOMERS } from '../../../src/datasources/customers/seed/customers.js';
import type { SeedCustomer } from '../../../src/datasources/customers/seed/customers.js';

const byId = (id: string): SeedCustomer => {
  const c = SEED_CUSTOMERS.find((x) => x.id === id);
  if (!c) throw new Error(`${id} missing`);
  return c;
};
const isAscii = (s: string) => /^[\x20-\x7e]*$/.test(s);

// Regulator-reserved drama ranges only (see the header of customers.ts).
const FICTIONAL_PHONE = [
  /^\+44 7700 900\d{3}$/, // UK mobile (Ofcom)
  /^\+44 20 7946 0\d{3}$/, // London (Ofcom)
  /^\+49 30 23125 \d{3}$/, // Berlin (Bundesnetzagentur)
  /^\+49 89 99998 \d{3}$/, // Munich (Bundesnetzagentur)
  /^\+353 20 91\d \d{4}$/, // Ireland 020 91xxxxx (ComReg)
];

describe('SEED_CUSTOMERS', () => {
  it('has exactly 60 customers, cus_001..cus_060 in order, ids unique', () => {
    expect(SEED_CUSTOMERS).toHaveLength(60);
    expect(SEED_CUSTOMERS.map((c) => c.id)).toEqual(
      Array.from({ length: 60 }, (_, i) => `cus_${String(i + 1).padStart(3, '0')}`),
    );
    expect(new Set(SEED_CUSTOMERS.map((c) => c.id)).size).toBe(60);
  });

  it('covers both brands, all channels and all locales', () => {
    expect(new Set(SEED_CUSTOMERS.map((c) => c.brand))).toEqual(new Set(['northwind', 'contoso']));
    expect(new Set(SEED_CUSTOMERS.map((c) => c.preferredChannel))).toEqual(
      new Set(['PRINT', 'EMAIL', 'WEB', 'MOBILE']),
    );
    expect(new Set(SEED_CUSTOMERS.map((c) => c.locale))).toEqual(
      new Set(['en-GB', 'en-IE', 'de-DE', 'fr-FR', 'pl-PL', 'ro-RO', 'es-ES']),
    );
  });

  it('gives every customer 1-3 distinct known segments, using all of them', () => {
    const known = [
      'retail',
      'premium',
      'sme',
      'vulnerable',
      'eu-resident',
      'uk-resident',
      'savings',
      'mortgage',
    ];
    for (const c of SEED_CUSTOMERS) {
      expect(c.segments.length).toBeGreaterThanOrEqual(1);
      expect(c.segments.length).toBeLessThanOrEqual(3);
      expect(new Set(c.segments).size).toBe(c.segments.length);
      for (const s of c.segments) expect(known).toContain(s);
    }
    expect(new Set(SEED_CUSTOMERS.flatMap((c) => c.segments))).toEqual(new Set(known));
  });

  it('puts each customer in exactly one residency segment, matching the address country', () => {
    for (const c of SEED_CUSTOMERS) {
      const uk = c.segments.includes('uk-resident');
      expect([uk, c.segments.includes('eu-resident')].filter(Boolean)).toHaveLength(1);
      if (c.address) expect(c.address.country === 'GB').toBe(uk);
    }
  });

  it('has the named demo customers', () => {
    expect(byId('cus_001')).toMatchObject({ name: 'Łukasz Żółć', locale: 'pl-PL' });
    expect(byId('cus_002')).toMatchObject({ name: 'Ștefan Ionescu', locale: 'ro-RO' });
    const names = SEED_CUSTOMERS.map((c) => c.name);
    for (const n of ['Zoë Ångström', 'José Núñez', 'Anaïs Lefèvre', 'Jürgen Groß'])
      expect(names).toContain(n);
    expect(names.filter((n) => !isAscii(n)).length).toBeGreaterThanOrEqual(6);
  });

  it('has cus_003 preferring EMAIL with no email address (the delivery-failure demo)', () => {
    expect(byId('cus_003')).toMatchObject({ preferredChannel: 'EMAIL', email: null });
  });

  it('has at least 5 customers without email, some of them EMAIL-preferring, and some without phone', () => {
    const noEmail = SEED_CUSTOMERS.filter((c) => c.email === null);
    expect(noEmail.length).toBeGreaterThanOrEqual(5);
    expect(noEmail.filter((c) => c.preferredChannel === 'EMAIL').length).toBeGreaterThanOrEqual(2);
    expect(SEED_CUSTOMERS.some((c) => c.phone === null)).toBe(true);
  });

  it('gives every PRINT customer a complete postal address and every MOBILE customer a phone', () => {
    for (const c of SEED_CUSTOMERS.filter((x) => x.preferredChannel === 'PRINT')) {
      expect(c.address).not.toBeNull();
      const a = c.address!;
      for (const f of [a.line1, a.city, a.postcode, a.country]) expect(f.trim()).not.toBe('');
      expect(a.country).toMatch(/^[A-Z]{2}$/);
    }
    for (const c of SEED_CUSTOMERS.filter((x) => x.preferredChannel === 'MOBILE'))
      expect(c.phone).not.toBeNull();
  });

  it('uses only reserved example domains and fictional phone ranges', () => {
    for (const c of SEED_CUSTOMERS) {
      if (c.email !== null) expect(c.email).toMatch(/^[a-z0-9.]+@example\.(com|org)$/);
      if (c.phone !== null) expect(FICTIONAL_PHONE.some((re) => re.test(c.phone!))).toBe(true);
    }
    const emails = SEED_CUSTOMERS.flatMap((c) => (c.email ? [c.email] : []));
    expect(new Set(emails).size).toBe(emails.length);
  });

  it('has non-empty names and no stray whitespace', () => {
    for (const c of SEED_CUSTOMERS) {
      expect(c.name).toBe(c.name.trim());
      expect(c.name.length).toBeGreaterThan(0);
      // Names are stored NFC, so equality and sorting behave the same everywhere.
      expect(c.name).toBe(c.name.normalize('NFC'));
    }
  });
});
