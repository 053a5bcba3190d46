import {
  tableSettings,
  upkeepFor,
  type TableActivity,
  type UpkeepSettings,
} from '../../../src/store/upkeep.js';

/**
 * The embedded store's autovacuum decides as PostgreSQL 18's does ("The Autovacuum Daemon" in
 * its documentation). The thresholds below are worked out by hand from PostgreSQL's defaults.
 */
const defaults: UpkeepSettings = {
  enabled: true,
  vacuumThreshold: 50,
  vacuumScaleFactor: 0.2,
  vacuumMaxThreshold: 100_000_000,
  insertThreshold: 1000,
  insertScaleFactor: 0.2,
  analyzeThreshold: 50,
  analyzeScaleFactor: 0.1,
  freezeMaxAge: 200_000_000,
  multixactFreezeMaxAge: 400_000_000,
};

const quiet: TableActivity = {
  schema: 'communications',
  table: 'deliveries',
  estimatedRows: 1000,
  deadRows: 0,
  insertedSinceVacuum: 0,
  modifiedSinceAnalyze: 0,
  xidAge: 10,
  multixactAge: 0,
  toast: false,
};

describe('upkeepFor: when a table is vacuumed and analyzed', () => {
  test('a quiet table is left alone', () => {
    expect(upkeepFor(quiet, defaults)).toEqual({ vacuum: false, analyze: false });
  });

  test('dead rows past 50 + 20 % of the rows call for a VACUUM (1,000 rows: more than 250)', () => {
    expect(upkeepFor({ ...quiet, deadRows: 250 }, defaults).vacuum).toBe(false);
    expect(upkeepFor({ ...quiet, deadRows: 251 }, defaults).vacuum).toBe(true);
  });

  test('a table never vacuumed (reltuples -1) counts as empty: 51 dead rows are enough', () => {
    expect(upkeepFor({ ...quiet, estimatedRows: -1, deadRows: 51 }, defaults).vacuum).toBe(true);
  });

  test('the dead-row threshold stops at autovacuum_vacuum_max_threshold', () => {
    const huge = { ...quiet, estimatedRows: 1_000_000_000, deadRows: 100_000_001 };
    expect(upkeepFor(huge, defaults).vacuum).toBe(true);
    expect(upkeepFor({ ...huge, deadRows: 100_000_000 }, defaults).vacuum).toBe(false);
  });

  test('inserts past 1,000 + 20 % of the rows call for a VACUUM too (1,000 rows: more than 1,200)', () => {
    expect(upkeepFor({ ...quiet, insertedSinceVacuum: 1200 }, defaults).vacuum).toBe(false);
    expect(upkeepFor({ ...quiet, insertedSinceVacuum: 1201 }, defaults).vacuum).toBe(true);
    expect(
      upkeepFor({ ...quiet, insertedSinceVacuum: 5000 }, { ...defaults, insertThreshold: -1 }).vacuum,
    ).toBe(false);
  });

  test('changes past 50 + 10 % of the rows call for an ANALYZE (1,000 rows: more than 150), never on a TOAST table', () => {
    expect(upkeepFor({ ...quiet, modifiedSinceAnalyze: 150 }, defaults).analyze).toBe(false);
    expect(upkeepFor({ ...quiet, modifiedSinceAnalyze: 151 }, defaults)).toEqual({
      vacuum: false,
      analyze: true,
    });
    expect(upkeepFor({ ...quiet, modifiedSinceAnalyze: 151, toast: true }, defaults).analyze).toBe(false);
  });

  test('past the freeze age a table is vacuumed even with autovacuum off for it', () => {
    const off = { ...defaults, enabled: false };
    expect(upkeepFor({ ...quiet, deadRows: 10_000, modifiedSinceAnalyze: 10_000 }, off)).toEqual({
      vacuum: false,
      analyze: false,
    });
    expect(upkeepFor({ ...quiet, xidAge: 200_000_001 }, off)).toEqual({ vacuum: true, analyze: false });
    expect(upkeepFor({ ...quiet, multixactAge: 400_000_001 }, defaults).vacuum).toBe(true);
  });
});

describe("tableSettings: a table's storage parameters over the server's", () => {
  test('autovacuum_enabled=false and the thresholds a table sets are read', () => {
    const s = tableSettings(defaults, [
      'autovacuum_enabled=false',
      'autovacuum_vacuum_threshold=5',
      'autovacuum_vacuum_scale_factor=0.01',
      'fillfactor=70',
    ]);
    expect(s).toEqual({ ...defaults, enabled: false, vacuumThreshold: 5, vacuumScaleFactor: 0.01 });
  });

  test('a table may lower the freeze age but not raise it', () => {
    expect(tableSettings(defaults, ['autovacuum_freeze_max_age=100000000']).freezeMaxAge).toBe(100_000_000);
    expect(tableSettings(defaults, ['autovacuum_freeze_max_age=900000000']).freezeMaxAge).toBe(200_000_000);
  });

  test('no parameters: the server settings', () => {
    expect(tableSettings(defaults, null)).toEqual(defaults);
  });
});
