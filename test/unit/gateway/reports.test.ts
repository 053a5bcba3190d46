import { csvCell, isoTimestamp } from '../../../src/gateway/reports.js';

describe('csvCell', () => {
  test.each([
    ['=1+2', "'=1+2"],
    ['+44 20 7946 0000', "'+44 20 7946 0000"],
    ['-5', "'-5"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=cmd', `'\t=cmd`],
    ['\r=cmd', `"'\r=cmd"`],
  ])('defuses a cell a spreadsheet would run: %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  test('quotes commas, quotes and line breaks, and leaves plain text alone', () => {
    expect(csvCell('Savings rate change, May')).toBe('"Savings rate change, May"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('a\nb')).toBe('"a\nb"');
    expect(csvCell('plain 1-2')).toBe('plain 1-2');
    expect(csvCell(null)).toBe('');
    expect(csvCell(38)).toBe('38');
  });
});

describe('isoTimestamp', () => {
  test('a Date and an ISO string both come out in UTC with milliseconds', () => {
    expect(isoTimestamp(new Date(Date.UTC(2026, 11, 4, 15, 44, 24)))).toBe('2026-12-04T15:44:24.000Z');
    expect(isoTimestamp('2026-12-04T16:44:24.5+01:00')).toBe('2026-12-04T15:44:24.500Z');
    expect(isoTimestamp(null)).toBe('');
  });
});
