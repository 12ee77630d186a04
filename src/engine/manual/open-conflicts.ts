import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import type { WireRow } from '../decide.ts';

/** What an admin decided for an open conflict (`possync conflicts resolve`). */
export type ManualDecision = 'till' | 'cloud' | 'set';

/** A row both sides changed: its key and each side's version (null: that side deleted the row). */
interface BothVersions {
  /** Shared key (JSON array of wire values). */
  key: string;
  lkey: string | null;
  display: string;
  till: WireRow | null;
  cloud: WireRow | null;
  /** The columns that differ (a column merge: only the clashing ones). */
  columns: string[];
}

/**
 * A row both sides changed, set aside by conflict "manual" (the till's _possync_open_conflicts).
 * `till` / `cloud` are each side's version as last seen.
 */
export interface OpenConflict extends BothVersions {
  table: string;
  firstSeen: string;
  lastSeen: string;
  decision: ManualDecision | null;
  /** decision 'set': the values set on top of the cloud's version. */
  setValues: WireRow | null;
  decidedAt: string | null;
}

interface Row {
  tbl: string;
  key: string;
  lkey: string | null;
  display: string;
  till_row: string | null;
  cloud_row: string | null;
  columns: string;
  first_seen: string;
  last_seen: string;
  decision: ManualDecision | null;
  set_values: string | null;
  decided_at: string | null;
}

const parse = (text: string | null): WireRow | null => (text === null ? null : (JSON.parse(text) as WireRow));
const json = (row: WireRow | null | undefined): string | null => (row ? JSON.stringify(row) : null);

function toOpen(r: Row): OpenConflict {
  return {
    table: r.tbl,
    key: r.key,
    lkey: r.lkey,
    display: r.display,
    till: parse(r.till_row),
    cloud: parse(r.cloud_row),
    columns: JSON.parse(r.columns) as string[],
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    decision: r.decision,
    setValues: parse(r.set_values),
    decidedAt: r.decided_at,
  };
}

export function hasOpenConflictsTable(db: SqliteDb): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '_possync_open_conflicts'`).get() !== undefined;
}

/** Whether the table has open conflicts (false on a till whose bookkeeping predates version 4: a dry run installs nothing). */
function anyOpen(db: SqliteDb, table: string): boolean {
  try {
    return db.prepare(`SELECT 1 FROM _possync_open_conflicts WHERE tbl = ? LIMIT 1`).get(table) !== undefined;
  } catch (err) {
    if (err instanceof Error && /no such table/.test(err.message)) return false;
    throw err;
  }
}

/** The open conflicts of one table among `keys` (shared keys), by key. One cheap probe when the table has none. */
export function readOpen(db: SqliteDb, table: string, keys: readonly string[]): Map<string, OpenConflict> {
  const out = new Map<string, OpenConflict>();
  if (keys.length === 0 || !anyOpen(db, table)) return out;
  const rows = db.prepare(`SELECT * FROM _possync_open_conflicts WHERE tbl = ? AND key IN (SELECT value FROM json_each(?))`).all(table, JSON.stringify(keys)) as Row[];
  for (const r of rows) out.set(r.key, toOpen(r));
  return out;
}

/** The conflicts of a table an admin has decided and the next push carries out. */
export function readDecided(db: SqliteDb, table: string): OpenConflict[] {
  if (!anyOpen(db, table)) return [];
  return (db.prepare(`SELECT * FROM _possync_open_conflicts WHERE tbl = ? AND decision IS NOT NULL ORDER BY first_seen, key`).all(table) as Row[]).map(toOpen);
}

/** Every open conflict (all tables, or one), oldest first. */
export function listOpen(db: SqliteDb, table?: string): OpenConflict[] {
  if (!hasOpenConflictsTable(db)) return [];
  return (db.prepare(`SELECT * FROM _possync_open_conflicts WHERE (? IS NULL OR tbl = ?) ORDER BY first_seen, tbl, key`).all(table ?? null, table ?? null) as Row[]).map(toOpen);
}

/** Open conflicts per table (config name). */
export function countOpen(db: SqliteDb): Map<string, number> {
  if (!hasOpenConflictsTable(db)) return new Map();
  const rows = db.prepare(`SELECT tbl, count(*) AS n FROM _possync_open_conflicts GROUP BY tbl`).all() as Array<{ tbl: string; n: number }>;
  return new Map(rows.map((r) => [r.tbl, r.n]));
}

/** A row set aside now: both versions as this step saw them. */
export interface AsideEntry extends BothVersions {
  /** A side changed the row again after an admin's decision: the decision no longer holds. */
  reopen: boolean;
  /** A column merge that clashed: what the history records (both rows as met, the base, the merged row written). */
  merge?: { local: WireRow; server: WireRow; base: WireRow; result: WireRow } | undefined;
}

/**
 * Opens conflicts, or updates open ones with the versions seen now (first_seen stays; last_seen
 * moves; a decision stays unless `reopen`). Runs inside the caller's SQLite transaction. Returns
 * the keys that were not open before (new conflicts, to be recorded in the history once).
 */
export function setAside(db: SqliteDb, table: string, entries: readonly AsideEntry[], at: string): Set<string> {
  if (entries.length === 0) return new Set();
  const known = new Set(openKeys(db, table, entries.map((e) => e.key)));
  const opened = new Set(entries.map((e) => e.key).filter((k) => !known.has(k)));
  const upsert = db.prepare(
    `INSERT INTO _possync_open_conflicts (tbl, key, lkey, display, till_row, cloud_row, columns, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tbl, key) DO UPDATE SET lkey = coalesce(excluded.lkey, lkey), display = excluded.display, till_row = excluded.till_row, cloud_row = excluded.cloud_row,
       columns = excluded.columns, last_seen = excluded.last_seen,
       decision = CASE WHEN ? THEN NULL ELSE decision END, set_values = CASE WHEN ? THEN NULL ELSE set_values END, decided_at = CASE WHEN ? THEN NULL ELSE decided_at END`,
  );
  for (const e of entries) {
    const r = e.reopen ? 1 : 0;
    upsert.run(table, e.key, e.lkey, e.display, json(e.till), json(e.cloud), JSON.stringify(e.columns), at, at, r, r, r);
  }
  return opened;
}

/** The admin's decision (`possync conflicts resolve`); the next push carries it out. */
export function writeDecision(db: SqliteDb, table: string, key: string, decision: ManualDecision, setValues: WireRow | null, at: string): void {
  db.prepare(`UPDATE _possync_open_conflicts SET decision = ?, set_values = ?, decided_at = ? WHERE tbl = ? AND key = ?`).run(decision, json(setValues), at, table, key);
}

export function closeConflicts(db: SqliteDb, table: string, keys: readonly string[]): void {
  if (keys.length === 0) return;
  db.prepare(`DELETE FROM _possync_open_conflicts WHERE tbl = ? AND key IN (SELECT value FROM json_each(?))`).run(table, JSON.stringify(keys));
}

/** Of these shared keys, those with an open conflict (one query for the batch). */
function openKeys(db: SqliteDb, table: string, keys: readonly string[]): string[] {
  return (db.prepare(`SELECT key FROM _possync_open_conflicts WHERE tbl = ? AND key IN (SELECT value FROM json_each(?))`).all(table, JSON.stringify(keys)) as Array<{ key: string }>).map((r) => r.key);
}
