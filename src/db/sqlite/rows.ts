import { sqliteIdent } from '../quote.ts';
import type { SqliteDb } from './gateway.ts';

export type RawValue = bigint | number | string | Buffer | null;
export type RawRow = Record<string, RawValue>;

/**
 * `SELECT cols FROM table` for the rows whose `keyCols` match one of `keys` (a JSON array of
 * key arrays bound as one parameter). json_each drives the loop so each key is one index lookup.
 * Values come back with safeIntegers, so integers beyond 2^53 stay exact.
 */
export function selectByKeys(db: SqliteDb, table: string, keyCols: readonly string[], columns: readonly string[], keys: ReadonlyArray<readonly string[]>): RawRow[] {
  if (keys.length === 0) return [];
  const on = keyCols.map((c, i) => `t.${sqliteIdent(c)} = (j.value ->> ${i})`).join(' AND ');
  const cols = columns.map((c) => `t.${sqliteIdent(c)} AS ${sqliteIdent(c)}`).join(', ');
  const sql = `SELECT ${cols} FROM json_each(?) AS j CROSS JOIN ${sqliteIdent(table)} AS t ON ${on}`;
  return db.prepare(sql).safeIntegers(true).all(JSON.stringify(keys)) as RawRow[];
}

/** One page of local keys in key order after `after` (exclusive), for full scans. */
export function scanKeys(db: SqliteDb, table: string, keyCols: readonly string[], after: readonly string[] | null, limit: number): RawRow[] {
  const cols = keyCols.map((c) => sqliteIdent(c)).join(', ');
  const where = after ? `WHERE (${cols}) > (${keyCols.map(() => '?').join(', ')})` : '';
  const sql = `SELECT ${cols} FROM ${sqliteIdent(table)} ${where} ORDER BY ${cols} LIMIT ?`;
  return db.prepare(sql).safeIntegers(true).all(...(after ?? []), limit) as RawRow[];
}

/** Runs `fn` with capture suppressed: rows possync writes are not recorded as local changes. */
export function withCaptureSuppressed<T>(db: SqliteDb, fn: () => T): T {
  const set = db.prepare('UPDATE _possync_state SET applying = ? WHERE id = 1');
  set.run(1);
  try {
    return fn();
  } finally {
    set.run(0);
  }
}
