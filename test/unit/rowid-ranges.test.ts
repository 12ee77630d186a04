import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import { rowidRanges } from '../../src/db/sqlite/rowid-ranges.ts';
import { createSqliteFile, openSqlite, tempDir } from '../support/db.ts';

// Range ends by rowid arithmetic for the bulk push: ranges must partition the rowid space (every
// row in exactly one range, whatever happens to the table meanwhile) and never hold more than
// `step` rows; sparse tables are refused so ranges do not shrink to a row or two.
describe('rowidRanges', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database.Database;

  beforeEach(() => {
    tmp = tempDir();
    const file = path.join(tmp.dir, 't.sqlite');
    createSqliteFile(file, `CREATE TABLE t (v TEXT)`);
    db = openSqlite(file);
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  const fill = (rowids: number[]) => {
    const ins = db.prepare(`INSERT INTO t (rowid, v) VALUES (?, 'x')`);
    db.transaction(() => rowids.forEach((r) => ins.run(r)))();
  };
  /** Walks the ranges as the bulk push does and returns the rowids each range holds. */
  const ranges = (next: (after: readonly string[] | null) => string[] | undefined, onRange?: (i: number) => void) => {
    const out: number[][] = [];
    let after: string[] | null = null;
    for (let i = 0; ; i++) {
      onRange?.(i);
      const upTo = next(after);
      const rows = db
        .prepare(`SELECT rowid AS r FROM t WHERE (? IS NULL OR rowid > ?) AND (? IS NULL OR rowid <= ?) ORDER BY rowid`)
        .pluck()
        .all(after?.[0] ?? null, after?.[0] ?? null, upTo?.[0] ?? null, upTo?.[0] ?? null) as number[];
      out.push(rows);
      if (upTo === undefined) return out;
      after = upTo;
    }
  };
  const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

  it('a dense table: full ranges of `step` rows, the last one runs to the end', () => {
    fill(range(1, 2_500));
    const next = rowidRanges(db, 't', 1_000)!;
    expect(next).toBeDefined();
    expect(ranges(next).map((r) => [r[0], r.at(-1), r.length])).toEqual([
      [1, 1_000, 1_000],
      [1_001, 2_000, 1_000],
      [2_001, 2_500, 500],
    ]);
  });

  it('gaps: each range starts at a row that exists, holds at most `step` rows, and all rows come once', () => {
    // Rowids 1..10,000 with every fifth one deleted, plus a hole of 1,500 in the middle.
    const rowids = range(1, 10_000).filter((r) => r % 5 !== 0 && (r < 4_000 || r > 5_500));
    fill(rowids);
    const next = rowidRanges(db, 't', 1_000)!;
    expect(next).toBeDefined();
    const got = ranges(next);
    expect(got.flat()).toEqual(rowids);
    for (const r of got) expect(r.length).toBeGreaterThan(0);
    for (const r of got) expect(r.length).toBeLessThanOrEqual(1_000);
    // At most 2 × rows / step + 1 ranges while at least half of min..max is in use.
    expect(got.length).toBeLessThanOrEqual(Math.floor((2 * rowids.length) / 1_000) + 1);
  });

  it('sparse rowids are refused (the caller walks the rows instead); an empty table too', () => {
    expect(rowidRanges(db, 't', 1_000)).toBeUndefined();
    fill([1, 2, 3, 1_000_000, 5_000_000_000]);
    expect(rowidRanges(db, 't', 1_000)).toBeUndefined();
  });

  it('rows inserted and deleted while the ranges are walked still fall in exactly one range', () => {
    fill(range(1, 5_000));
    const next = rowidRanges(db, 't', 1_000)!;
    const got = ranges(next, (i) => {
      if (i === 2) {
        db.prepare(`DELETE FROM t WHERE rowid BETWEEN 2500 AND 4999`).run();
        fill(range(5_001, 5_600));
        db.prepare(`INSERT INTO t (v) VALUES ('appended')`).run();
      }
    });
    const all = got.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual([...range(1, 2_000), ...range(2_001, 2_499), ...range(5_000, 5_601)]);
  });

  it('rowids near the ends of the 64-bit range', () => {
    fill([-(2 ** 53), -(2 ** 53) + 1, -(2 ** 53) + 2]);
    const next = rowidRanges(db, 't', 2)!;
    expect(ranges(next).flat()).toEqual([-(2 ** 53), -(2 ** 53) + 1, -(2 ** 53) + 2]);
    db.prepare(`DELETE FROM t`).run();
    db.prepare(`INSERT INTO t (rowid, v) VALUES (9223372036854775806, 'a'), (9223372036854775807, 'b')`).run();
    const top = rowidRanges(db, 't', 1_000)!;
    expect(top(null)).toBeUndefined();
  });
});
