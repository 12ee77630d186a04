import { sqliteIdent } from '../quote.ts';
import type { SqliteDb } from './gateway.ts';
import { sqliteTableNames } from './introspect.ts';
import type { RawValue } from './rows.ts';

/**
 * Gives a local row a new key in place: its key columns, its pending change-log entries and held
 * rows, and every SQLite row that references it through a declared foreign key (those updates are
 * captured as local changes, so the children are pushed with their new reference). The caller
 * runs this inside a write transaction with capture suppressed for the row itself.
 */
export function rekeyLocalRow(
  db: SqliteDb,
  table: string,
  keyCols: readonly string[],
  oldKey: readonly RawValue[],
  newKey: readonly RawValue[],
  oldLkey: string,
  newLkey: string,
): void {
  const set = keyCols.map((c) => `${sqliteIdent(c)} = ?`).join(', ');
  const where = keyCols.map((c) => `${sqliteIdent(c)} = ?`).join(' AND ');
  db.prepare(`UPDATE ${sqliteIdent(table)} SET ${set} WHERE ${where}`).run(...newKey, ...oldKey);
  db.prepare(`UPDATE _possync_changes SET lkey = ? WHERE tbl = ? AND lkey = ?`).run(newLkey, table, oldLkey);
  db.prepare(`UPDATE OR REPLACE _possync_held SET key = ? WHERE side = 'push' AND tbl = ? AND key = ?`).run(newLkey, table, oldLkey);
}

/** SQLite foreign keys (from any table) that reference exactly `keyCols` of `table`. */
export function referencingColumns(db: SqliteDb, table: string, keyCols: readonly string[]): Array<{ table: string; columns: string[] }> {
  const out: Array<{ table: string; columns: string[] }> = [];
  for (const child of sqliteTableNames(db)) {
    const rows = db.prepare(`PRAGMA foreign_key_list(${sqliteIdent(child)})`).all() as Array<{ id: number; seq: number; table: string; from: string; to: string | null }>;
    const byId = new Map<number, Array<{ seq: number; from: string; to: string | null; table: string }>>();
    for (const r of rows) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    for (const parts of byId.values()) {
      if (parts[0]!.table !== table) continue;
      parts.sort((a, b) => a.seq - b.seq);
      // `to` is NULL when the FK names no columns: it then references the parent's primary key.
      const to = parts.map((p, i) => p.to ?? keyCols[i]);
      if (to.length === keyCols.length && to.every((c, i) => c === keyCols[i])) out.push({ table: child, columns: parts.map((p) => p.from) });
    }
  }
  return out;
}

/** Points children that reference `oldKey` at `newKey` (captured as local changes). */
export function repointChildren(db: SqliteDb, refs: ReadonlyArray<{ table: string; columns: string[] }>, oldKey: readonly RawValue[], newKey: readonly RawValue[]): void {
  for (const r of refs) {
    const set = r.columns.map((c) => `${sqliteIdent(c)} = ?`).join(', ');
    const where = r.columns.map((c) => `${sqliteIdent(c)} = ?`).join(' AND ');
    db.prepare(`UPDATE ${sqliteIdent(r.table)} SET ${set} WHERE ${where}`).run(...newKey, ...oldKey);
  }
}

/** Removes a local row together with its pending change-log entries and held rows (it never reached Postgres). */
export function deleteLocalRow(db: SqliteDb, table: string, keyCols: readonly string[], key: readonly RawValue[], lkey: string): void {
  db.prepare(`DELETE FROM ${sqliteIdent(table)} WHERE ${keyCols.map((c) => `${sqliteIdent(c)} = ?`).join(' AND ')}`).run(...key);
  db.prepare(`DELETE FROM _possync_changes WHERE tbl = ? AND lkey = ?`).run(table, lkey);
  db.prepare(`DELETE FROM _possync_held WHERE side = 'push' AND tbl = ? AND key = ?`).run(table, lkey);
}
