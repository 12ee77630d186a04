import { sqliteIdent } from '../quote.ts';
import type { SqliteDb } from './gateway.ts';

/**
 * How many values of a column are longer than `max` characters (SQLite's length() counts
 * characters of text, and digits of a number), with the longest length. `trimBlanks` sets
 * trailing blanks aside first (char(n) ignores them). Read-only; one scan of the column.
 */
export function valuesLongerThan(db: SqliteDb, table: string, column: string, max: number, trimBlanks: boolean): { count: number; longest: number } {
  const c = sqliteIdent(column);
  const value = trimBlanks ? `rtrim(${c}, ' ')` : c;
  const row = db
    .prepare(`SELECT count(*) AS count, coalesce(max(length(${value})), 0) AS longest FROM ${sqliteIdent(table)} WHERE typeof(${c}) IN ('text', 'integer', 'real') AND length(${value}) > ?`)
    .get(max) as { count: number; longest: number };
  return row;
}
