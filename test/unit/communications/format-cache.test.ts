import {
  formatDate,
  formatMoney,
  parseIsoDate,
  postalCountry,
  supportedLanguage,
} from '../../../src/datasources/communications/engine/format.js';

// format.ts remembers what ICU answered (languages, countries, amounts, long dates, parsed
// dates): asking twice, in either order, must give what ICU gives the first time.
describe('remembered formatting', () => {
  it('tells -0 from 0 in amounts, in either order', () => {
    for (let round = 0; round < 2; round++) {
      expect(formatMoney(0, 'EUR', 'en-GB')).toBe('€0.00');
      expect(formatMoney(-0, 'EUR', 'en-GB')).toBe('-€0.00');
      expect(formatMoney('1234.5', 'EUR', 'en-GB')).toBe('€1,234.50');
      expect(formatMoney(1234.5, 'GBP', 'en-GB')).toBe('£1,234.50');
    }
  });

  it('gives the same long dates, countries and languages the second time', () => {
    for (let round = 0; round < 2; round++) {
      expect(formatDate('2025-03-01T09:30:00Z', 'long', 'en-GB')).toBe('1 March 2025');
      expect(formatDate('2025-03-01T23:30:00-02:00', 'long', 'en-GB')).toBe('2 March 2025');
      expect(formatDate('2025-03-01', 'iso', 'en-GB')).toBe('2025-03-01');
      expect(postalCountry('ie')).toBe('IRELAND');
      expect(postalCountry('Dublin')).toBe('Dublin');
      expect(supportedLanguage('en-gb')).toBe('en-GB');
      expect(supportedLanguage('not a tag')).toBeNull();
    }
  });

  it('hands out a fresh Date for a remembered string and still refuses bad ones', () => {
    const first = parseIsoDate('2025-03-01T09:30:00Z', 'issuedAt');
    first.setUTCFullYear(1999);
    expect(parseIsoDate('2025-03-01T09:30:00Z', 'issuedAt').toISOString()).toBe('2025-03-01T09:30:00.000Z');
    for (let round = 0; round < 2; round++) {
      expect(() => parseIsoDate('2025-02-30', 'date')).toThrow('is not an ISO date');
      expect(() => parseIsoDate('2025-03-01T09:30:00', 'date')).toThrow('is not an ISO date');
    }
  });
});
