import type { SqliteDb } from './gateway.ts';

/**
 * Range ends for a scan in rowid order, found by arithmetic on rowids instead of by walking rows.
 *
 * `next(after)` returns the end (inclusive) of the range that starts at the first rowid after
 * `after` and spans `step` rowid values (or `step(rows)`, from the table's row count), or undefined when that range reaches the last row (the
 * caller's range then runs to the end of the table). Consecutive ranges partition the rowid
 * space whatever the table holds, so rows the till app inserts or deletes meanwhile cannot fall
 * between two ranges; density only decides how many rows a range holds (at most `step`).
 *
 * Returns undefined when the rowids are sparse (fewer than half of min..max in use): ranges would
 * hold few rows each. With at least half in use, the number of ranges is at most 2 × rows / step
 * + 1, each range starting at a row that exists.
 */
/** Below every rowid: `rowid > BEFORE_ALL` matches the first row. */
const BEFORE_ALL = -(2n ** 63n);

export function rowidRanges(db: SqliteDb, from: string, step: number | ((rows: number) => number)): ((after: readonly string[] | null) => string[] | undefined) | undefined {
  const first = db.prepare(`SELECT min(rowid) AS r FROM ${from} WHERE rowid > ?`).safeIntegers(true).pluck(true);
  const last = db.prepare(`SELECT max(rowid) AS r FROM ${from}`).safeIntegers(true).pluck(true);
  // Three statements, not one: SQLite answers a lone min(rowid) or max(rowid) from one end of the
  // b-tree, but with both (and count) in one SELECT it reads every row (1M rows: 133 ms vs 45 ms).
  const lo = first.get(BEFORE_ALL) as bigint | null;
  const hi = last.get() as bigint | null;
  if (lo === null || hi === null) return undefined;
  const n = db.prepare(`SELECT count(*) FROM ${from}`).safeIntegers(true).pluck(true).get() as bigint;
  if (hi - lo + 1n > 2n * n) return undefined;
  const width = BigInt(typeof step === 'number' ? step : step(Number(n)));
  return (after) => {
    const start = first.get(after === null ? BEFORE_ALL : BigInt(after[0]!)) as bigint | null;
    if (start === null) return undefined;
    const end = start + width - 1n;
    const hi = last.get() as bigint | null;
    if (hi === null || end >= hi) return undefined;
    return [String(end)];
  };
}
