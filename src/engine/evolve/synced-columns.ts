import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import type { ColumnPlan, TablePlan } from '../plan/types.ts';

/** One column as possync last synced it: its names and declared types on both sides. */
export interface SyncedColumn {
  pg: string;
  sqlite: string;
  pgType: string;
  sqliteType: string;
}

/** How a table's synced columns moved since the last run that recorded them. */
export interface ColumnChanges {
  /** Synced now, not before: added on the second side, out of localOnly, or newly mapped. */
  joined: ColumnPlan[];
  /** Synced before, not now: dropped or renamed on a side, put in localOnly, or unmapped. */
  left: SyncedColumn[];
  /** Still synced, with another declared type on a side (widened, narrowed, changed). */
  retyped: Array<{ column: ColumnPlan; before: SyncedColumn; now: SyncedColumn }>;
}

export function syncedColumnsOf(t: TablePlan): SyncedColumn[] {
  return t.columns.map((c) => {
    const pg = t.pg.columns.find((p) => p.name === c.pg);
    const sqlite = t.sqlite.columns.find((s) => s.name === c.sqlite);
    return { pg: c.pg, sqlite: c.sqlite, pgType: pg?.declaredType ?? c.castType, sqliteType: sqlite?.declaredType ?? '' };
  });
}

/** A column is the same synced column when both of its names are (a new columnMap pair joins). */
const pairOf = (c: { pg: string; sqlite: string }) => JSON.stringify([c.sqlite, c.pg]);

/** What this till recorded for a table, or undefined before possync recorded it (a new table, or a till from before version 2). */
export function readSyncedColumns(db: SqliteDb, table: string): SyncedColumn[] | undefined {
  const row = db.prepare(`SELECT columns FROM _possync_synced_columns WHERE tbl = ?`).get(table) as { columns: string } | undefined;
  return row ? (JSON.parse(row.columns) as SyncedColumn[]) : undefined;
}

export function writeSyncedColumns(db: SqliteDb, table: string, columns: readonly SyncedColumn[]): void {
  db.prepare(
    `INSERT INTO _possync_synced_columns (tbl, columns, updated_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
     ON CONFLICT (tbl) DO UPDATE SET columns = excluded.columns, updated_at = excluded.updated_at`,
  ).run(table, JSON.stringify(columns));
}

/** Forgets tables no longer in the config, so a table added back later is treated as new. */
export function forgetSyncedColumns(db: SqliteDb, keep: readonly string[]): string[] {
  const rows = db.prepare(`SELECT tbl FROM _possync_synced_columns`).all() as Array<{ tbl: string }>;
  const gone = rows.map((r) => r.tbl).filter((t) => !keep.includes(t));
  const del = db.prepare(`DELETE FROM _possync_synced_columns WHERE tbl = ?`);
  for (const t of gone) del.run(t);
  return gone;
}

/** The difference between what was recorded and what the plan syncs now. */
export function columnChanges(t: TablePlan, recorded: readonly SyncedColumn[]): ColumnChanges {
  const now = syncedColumnsOf(t);
  const before = new Map(recorded.map((c) => [pairOf(c), c]));
  const current = new Set(now.map(pairOf));
  const changes: ColumnChanges = { joined: [], left: recorded.filter((c) => !current.has(pairOf(c))), retyped: [] };
  t.columns.forEach((column, i) => {
    const was = before.get(pairOf(column));
    if (!was) changes.joined.push(column);
    else if (was.pgType !== now[i]!.pgType || was.sqliteType !== now[i]!.sqliteType) changes.retyped.push({ column, before: was, now: now[i]! });
  });
  return changes;
}

export function hasChanges(c: ColumnChanges): boolean {
  return c.joined.length > 0 || c.left.length > 0 || c.retyped.length > 0;
}
