import { sqliteIdent } from '../quote.ts';
import type { SqliteDb } from './gateway.ts';

/**
 * assignKey "cloud": the local keys of rows the till created that have no key from the cloud yet.
 * The insert capture trigger of such a table adds the row (capture.ts); a push that gives the row
 * the next value of the cloud's sequence removes it, in the same SQLite transaction that re-keys
 * the row (push/cloud-keys.ts). A pulled row never enters it: capture is off while possync writes.
 *
 * `origin` is 'insert' for rows the till app inserted while possync was installed, 'install' for
 * rows that were on a till that had never pulled the table when this was set up (the till's own
 * rows, or a copy of the cloud's: push/cloud-keys.ts tells them apart).
 */
const DDL = `
CREATE TABLE IF NOT EXISTS _possync_new_keys (
  tbl TEXT NOT NULL,
  lkey TEXT NOT NULL,
  origin TEXT NOT NULL DEFAULT 'insert' CHECK (origin IN ('insert', 'install')),
  PRIMARY KEY (tbl, lkey)
) WITHOUT ROWID;
`;

export function installNewKeys(db: SqliteDb): void {
  db.exec(DDL);
}

/** The local keys among `lkeys` of rows in `table` still waiting for a cloud key, with their origin. */
export function newKeysAmong(db: SqliteDb, table: string, lkeys: readonly string[]): Map<string, 'insert' | 'install'> {
  if (lkeys.length === 0) return new Map();
  const rows = db
    .prepare(`SELECT lkey, origin FROM _possync_new_keys WHERE tbl = ? AND lkey IN (SELECT value FROM json_each(?))`)
    .all(table, JSON.stringify(lkeys)) as Array<{ lkey: string; origin: 'insert' | 'install' }>;
  return new Map(rows.map((r) => [r.lkey, r.origin]));
}

export function forgetNewKey(db: SqliteDb, table: string, lkey: string): void {
  db.prepare(`DELETE FROM _possync_new_keys WHERE tbl = ? AND lkey = ?`).run(table, lkey);
}

export function moveNewKey(db: SqliteDb, table: string, oldLkey: string, newLkey: string): void {
  db.prepare(`UPDATE OR REPLACE _possync_new_keys SET lkey = ? WHERE tbl = ? AND lkey = ?`).run(newLkey, table, oldLkey);
}

/** Marks every row of the table as the till's own (see origin 'install' above). */
export function markAllRowsNew(db: SqliteDb, table: string, keyCols: readonly string[]): number {
  const key = `json_array(${keyCols.map((c) => `CAST(${sqliteIdent(c)} AS TEXT)`).join(', ')})`;
  const notNull = keyCols.map((c) => `${sqliteIdent(c)} IS NOT NULL`).join(' AND ');
  return db.prepare(`INSERT OR IGNORE INTO _possync_new_keys (tbl, lkey, origin) SELECT ?, ${key}, 'install' FROM ${sqliteIdent(table)} WHERE ${notNull}`).run(table).changes;
}

/** The largest integer key of the table (0 when empty), for moving a local row out of the way. */
export function maxIntegerKey(db: SqliteDb, table: string, column: string): bigint {
  const row = db.prepare(`SELECT max(CAST(${sqliteIdent(column)} AS INTEGER)) AS m FROM ${sqliteIdent(table)}`).safeIntegers(true).get() as { m: bigint | null };
  return row.m ?? 0n;
}
