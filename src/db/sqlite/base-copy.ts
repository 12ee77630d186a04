import { sqliteIdent, sqliteLiteral } from '../quote.ts';
import type { SqliteDb } from './gateway.ts';

/**
 * Column merge needs the base of a row: the values the till and the cloud last agreed on. It is
 * kept only for rows the till has changed since then, in a shadow table per merged table
 * (`_possync_base_<table>`) with the same columns and no declared types, so SQLite stores each
 * value exactly as the app's table held it. The update trigger copies the row's OLD values in on
 * the first local change after an agreement (a row with no pending change is, by definition, what
 * both sides last agreed on); possync deletes the copy once the two agree again. So the cost is
 * one insert per row the till edits, never a second copy of the whole table.
 */
export interface BaseCopySpec {
  /** The app's SQLite table. */
  table: string;
  /** Config name of the table (the `tbl` of push rows held in _possync_held). */
  heldTbl: string;
  localKey: readonly string[];
  /** Every column the base holds (the local key and the synced columns), with the app table's declared type, so values get the same affinity. */
  columns: ReadonlyArray<{ name: string; type: string }>;
}

export function baseTableName(table: string): string {
  return `_possync_base_${table}`;
}

/** Creates the shadow table, or recreates it when the synced columns changed (its copies are then lost: those rows merge per row once). */
export function ensureBaseTable(db: SqliteDb, spec: BaseCopySpec): void {
  const name = baseTableName(spec.table);
  const have = db.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(name) as Array<{ name: string; type: string }>;
  if (have.length === spec.columns.length && have.every((c, i) => c.name === spec.columns[i]!.name && c.type === spec.columns[i]!.type)) return;
  if (have.length > 0) db.exec(`DROP TABLE ${sqliteIdent(name)}`);
  const cols = spec.columns.map((c) => `${sqliteIdent(c.name)} ${typeOnly(c.type)}`).join(', ');
  db.exec(`CREATE TABLE ${sqliteIdent(name)} (${cols}, PRIMARY KEY (${spec.localKey.map(sqliteIdent).join(', ')}))`);
}

/**
 * A table that no longer keeps bases (merge turned off, or it left the config) loses its shadow
 * table and staged bases: kept, they would be stale the day merge is turned on again, and counter
 * deltas would be worked out against them. `heldTbl` is the table's config name.
 */
export function forgetBaseTable(db: SqliteDb, table: string, heldTbl: string): void {
  const name = baseTableName(table);
  if (db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(name) === undefined) return;
  // Staged bases first: a stop in between leaves the table, and the next run finishes the job.
  db.prepare(`DELETE FROM _possync_base_next WHERE tbl = ?`).run(heldTbl);
  db.exec(`DROP TABLE ${sqliteIdent(name)}`);
}

/**
 * The statement the update trigger runs before it logs the change: the OLD row becomes the base,
 * unless the row already has a pending change (logged, or held back on push). Then the base was
 * taken earlier, or the row was created here and never agreed on at all (no base: row merge).
 */
export function captureBaseSql(spec: BaseCopySpec, oldKeyJson: string): string {
  const cols = spec.columns.map((c) => sqliteIdent(c.name)).join(', ');
  const olds = spec.columns.map((c) => `OLD.${sqliteIdent(c.name)}`).join(', ');
  return `INSERT OR IGNORE INTO ${sqliteIdent(baseTableName(spec.table))} (${cols}) SELECT ${olds}
    WHERE NOT EXISTS (SELECT 1 FROM _possync_changes WHERE tbl = ${sqliteLiteral(spec.table)} AND lkey = ${oldKeyJson})
      AND NOT EXISTS (SELECT 1 FROM _possync_held WHERE side = 'push' AND tbl = ${sqliteLiteral(spec.heldTbl)} AND key = ${oldKeyJson});`;
}

/** A declared type as a bare type name (letters, digits, spaces, parentheses and commas only), so it can be written into DDL; anything else gets no type. */
function typeOnly(type: string): string {
  return /^[A-Za-z0-9_ (),]*$/.test(type) ? type : '';
}
