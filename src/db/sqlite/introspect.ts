import { sqliteIdent } from '../quote.ts';
import type { SqliteDb } from './gateway.ts';

export interface SqliteColumn {
  name: string;
  declaredType: string;
  notNull: boolean;
  defaultValue: string | null;
  /** Position in the primary key (1-based), 0 when not part of it. */
  pkPosition: number;
  /** Generated (virtual or stored) columns are never written. */
  generated: boolean;
}

export interface SqliteForeignKey {
  columns: string[];
  refTable: string;
  /** Empty when the FK names the parent's primary key implicitly. */
  refColumns: string[];
}

export interface SqliteTableInfo {
  name: string;
  columns: SqliteColumn[];
  primaryKey: string[];
  foreignKeys: SqliteForeignKey[];
  /** INTEGER PRIMARY KEY: the key is the rowid, SQLite assigns it when inserted as NULL. */
  rowidPk: boolean;
  withoutRowid: boolean;
}

export function sqliteTableNames(db: SqliteDb): string[] {
  return (db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((r) => r.name);
}

export function introspectSqlite(db: SqliteDb, table: string): SqliteTableInfo | undefined {
  const row = db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(table) as { sql: string } | undefined;
  if (!row) return undefined;
  const xinfo = db.prepare(`PRAGMA table_xinfo(${sqliteIdent(table)})`).all() as {
    name: string; type: string; notnull: number; dflt_value: string | null; pk: number; hidden: number;
  }[];
  const columns: SqliteColumn[] = xinfo
    .filter((c) => c.hidden !== 1) // hidden 1 = virtual-table hidden column; 2/3 = generated
    .map((c) => ({
      name: c.name,
      declaredType: c.type,
      notNull: c.notnull === 1,
      defaultValue: c.dflt_value,
      pkPosition: c.pk,
      generated: c.hidden === 2 || c.hidden === 3,
    }));
  const primaryKey = columns.filter((c) => c.pkPosition > 0).sort((a, b) => a.pkPosition - b.pkPosition).map((c) => c.name);
  const fkRows = db.prepare(`PRAGMA foreign_key_list(${sqliteIdent(table)})`).all() as { id: number; seq: number; table: string; from: string; to: string | null }[];
  const byId = new Map<number, SqliteForeignKey>();
  for (const fk of fkRows.sort((a, b) => a.id - b.id || a.seq - b.seq)) {
    let entry = byId.get(fk.id);
    if (!entry) {
      entry = { columns: [], refTable: fk.table, refColumns: [] };
      byId.set(fk.id, entry);
    }
    entry.columns.push(fk.from);
    if (fk.to) entry.refColumns.push(fk.to);
  }
  const withoutRowid = /\)\s*WITHOUT\s+ROWID\s*;?\s*$/i.test(row.sql);
  const only = primaryKey.length === 1 ? columns.find((c) => c.name === primaryKey[0]) : undefined;
  const rowidPk = !withoutRowid && only !== undefined && only.declaredType.toUpperCase() === 'INTEGER';
  return { name: table, columns, primaryKey, foreignKeys: [...byId.values()], rowidPk, withoutRowid };
}
