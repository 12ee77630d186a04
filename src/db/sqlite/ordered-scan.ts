import type { Statement } from 'better-sqlite3';
import type { SqliteDb } from './gateway.ts';
import type { RawValue } from './rows.ts';

/**
 * Pages through a table in a fixed order (rowid, or the key columns), as raw row arrays with
 * safe integers. `order` and `columns` are already-quoted SQL. A page holds the rows after
 * `after` (exclusive) and up to `upTo` (inclusive, when given); positions are the order columns'
 * values as text, which SQLite compares back with the columns' own affinity.
 */
export interface OrderedScan {
  page(after: readonly string[] | null, upTo: readonly string[] | undefined, limit: number): RawValue[][];
  /** The position of the `n`-th row after `after`, or undefined when fewer rows remain. */
  boundary(after: readonly string[] | null, n: number): string[] | undefined;
}

export function orderedScan(db: SqliteDb, from: string, columns: readonly string[], order: readonly string[]): OrderedScan {
  const by = order.join(', ');
  const tuple = `(${by})`;
  const params = `(${order.map(() => '?').join(', ')})`;
  const select = `SELECT ${columns.join(', ')} FROM ${from}`;
  const cache = new Map<string, Statement<unknown[]>>();
  const stmt = (sql: string) => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, (s = db.prepare<unknown[]>(sql).safeIntegers(true).raw(true)));
    return s;
  };
  const where = (after: boolean, upTo: boolean) => {
    const parts = [...(after ? [`${tuple} > ${params}`] : []), ...(upTo ? [`${tuple} <= ${params}`] : [])];
    return parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '';
  };
  return {
    page(after, upTo, limit) {
      const sql = `${select} ${where(after !== null, upTo !== undefined)} ORDER BY ${by} LIMIT ?`;
      return stmt(sql).all(...(after ?? []), ...(upTo ?? []), limit) as RawValue[][];
    },
    boundary(after, n) {
      const sql = `SELECT ${by} FROM ${from} ${where(after !== null, false)} ORDER BY ${by} LIMIT 1 OFFSET ?`;
      const row = stmt(sql).get(...(after ?? []), n - 1) as RawValue[] | undefined;
      return row?.map((v) => String(v));
    },
  };
}
