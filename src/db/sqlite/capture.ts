import { sqliteIdent, sqliteLiteral } from '../quote.ts';
import type { SqliteDb } from './gateway.ts';
import { captureBaseSql, type BaseCopySpec } from './base-copy.ts';

export interface SqliteCaptureSpec {
  /** SQLite table name (also the `tbl` value in _possync_changes). */
  table: string;
  /** Columns identifying a row locally (pk or localPk). */
  localKey: readonly string[];
  /** Columns holding the shared key (pk columns, or serverIdCol). */
  sharedKey: readonly string[];
  /** Synced columns: updates touching none of them are not captured. */
  columns: readonly string[];
  /**
   * assignKey "cloud": inserts are also recorded in _possync_new_keys (the row needs a key from
   * the cloud), and a delete or key change of such a row logs no shared key, so the push never
   * deletes the cloud row that happens to have the same number.
   */
  newKeys?: boolean;
  /** Column merge: the first local update after an agreement copies the OLD row as its base (base-copy.ts). */
  base?: BaseCopySpec | undefined;
}

type TriggerSuffix = 'ins' | 'upd' | 'del';
const triggerName = (table: string, suffix: TriggerSuffix) => `_possync_${table}_${suffix}`;

/** A trigger's SQL as SQLite stored it, or undefined when there is no such trigger. */
function storedTriggerSql(db: SqliteDb, name: string): string | undefined {
  return (db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?`).get(name) as { sql: string } | undefined)?.sql;
}

const json = (alias: 'NEW' | 'OLD', cols: readonly string[]) =>
  `json_array(${cols.map((c) => `CAST(${alias}.${sqliteIdent(c)} AS TEXT)`).join(', ')})`;

/** The three AFTER triggers that record local changes. Skipped while possync itself applies rows. */
export function sqliteCaptureTriggers(spec: SqliteCaptureSpec): Array<{ name: string; sql: string }> {
  const t = sqliteIdent(spec.table);
  const tbl = sqliteLiteral(spec.table);
  const when = `WHEN (SELECT applying FROM _possync_state WHERE id = 1) = 0`;
  const updateOf = [...new Set([...spec.columns, ...spec.localKey])].map(sqliteIdent).join(', ');
  const keyMoved = spec.localKey.map((k) => `OLD.${sqliteIdent(k)} IS NOT NEW.${sqliteIdent(k)}`).join(' OR ');
  const name = (suffix: TriggerSuffix) => triggerName(spec.table, suffix);
  const base = spec.base ? `\n  ${captureBaseSql(spec.base, json('OLD', spec.localKey))}` : '';
  if (spec.newKeys) return newKeyTriggers(spec, { t, tbl, when, updateOf, keyMoved, name, base });
  return [
    {
      name: name('ins'),
      sql: `CREATE TRIGGER ${sqliteIdent(name('ins'))} AFTER INSERT ON ${t} ${when}
BEGIN
  INSERT INTO _possync_changes (tbl, lkey, op) VALUES (${tbl}, ${json('NEW', spec.localKey)}, 'U');
END`,
    },
    {
      name: name('upd'),
      sql: `CREATE TRIGGER ${sqliteIdent(name('upd'))} AFTER UPDATE OF ${updateOf} ON ${t} ${when}
BEGIN${base}
  INSERT INTO _possync_changes (tbl, lkey, op, skey) SELECT ${tbl}, ${json('OLD', spec.localKey)}, 'D', ${json('OLD', spec.sharedKey)} WHERE ${keyMoved};
  INSERT INTO _possync_changes (tbl, lkey, op) VALUES (${tbl}, ${json('NEW', spec.localKey)}, 'U');
END`,
    },
    {
      name: name('del'),
      sql: `CREATE TRIGGER ${sqliteIdent(name('del'))} AFTER DELETE ON ${t} ${when}
BEGIN
  INSERT INTO _possync_changes (tbl, lkey, op, skey) VALUES (${tbl}, ${json('OLD', spec.localKey)}, 'D', ${json('OLD', spec.sharedKey)});
END`,
    },
  ];
}

/** The capture triggers of an assignKey "cloud" table (see SqliteCaptureSpec.newKeys). */
function newKeyTriggers(
  spec: SqliteCaptureSpec,
  p: { t: string; tbl: string; when: string; updateOf: string; keyMoved: string; name: (suffix: TriggerSuffix) => string; base: string },
): Array<{ name: string; sql: string }> {
  const isNew = (alias: 'OLD' | 'NEW') => `EXISTS (SELECT 1 FROM _possync_new_keys WHERE tbl = ${p.tbl} AND lkey = ${json(alias, spec.localKey)})`;
  const skey = `CASE WHEN ${isNew('OLD')} THEN NULL ELSE ${json('OLD', spec.sharedKey)} END`;
  return [
    {
      name: p.name('ins'),
      sql: `CREATE TRIGGER ${sqliteIdent(p.name('ins'))} AFTER INSERT ON ${p.t} ${p.when}
BEGIN
  INSERT INTO _possync_changes (tbl, lkey, op) VALUES (${p.tbl}, ${json('NEW', spec.localKey)}, 'U');
  INSERT OR IGNORE INTO _possync_new_keys (tbl, lkey) VALUES (${p.tbl}, ${json('NEW', spec.localKey)});
END`,
    },
    {
      name: p.name('upd'),
      sql: `CREATE TRIGGER ${sqliteIdent(p.name('upd'))} AFTER UPDATE OF ${p.updateOf} ON ${p.t} ${p.when}
BEGIN${p.base}
  INSERT INTO _possync_changes (tbl, lkey, op, skey) SELECT ${p.tbl}, ${json('OLD', spec.localKey)}, 'D', ${skey} WHERE ${p.keyMoved};
  UPDATE OR REPLACE _possync_new_keys SET lkey = ${json('NEW', spec.localKey)} WHERE tbl = ${p.tbl} AND lkey = ${json('OLD', spec.localKey)} AND (${p.keyMoved});
  INSERT INTO _possync_changes (tbl, lkey, op) VALUES (${p.tbl}, ${json('NEW', spec.localKey)}, 'U');
END`,
    },
    {
      name: p.name('del'),
      sql: `CREATE TRIGGER ${sqliteIdent(p.name('del'))} AFTER DELETE ON ${p.t} ${p.when}
BEGIN
  INSERT INTO _possync_changes (tbl, lkey, op, skey) VALUES (${p.tbl}, ${json('OLD', spec.localKey)}, 'D', ${skey});
  DELETE FROM _possync_new_keys WHERE tbl = ${p.tbl} AND lkey = ${json('OLD', spec.localKey)};
END`,
    },
  ];
}

export type TriggerState = 'ok' | 'missing' | 'stale';

/** Whether any possync capture trigger (of any version) is on the table. */
export function captureInstalled(db: SqliteDb, table: string): boolean {
  return (['ins', 'upd', 'del'] as const).some((suffix) => storedTriggerSql(db, triggerName(table, suffix)) !== undefined);
}

/** Compares installed triggers with the expected SQL. */
export function sqliteTriggerState(db: SqliteDb, spec: SqliteCaptureSpec): TriggerState {
  let state: TriggerState = 'ok';
  for (const t of sqliteCaptureTriggers(spec)) {
    const sql = storedTriggerSql(db, t.name);
    if (sql === undefined) return 'missing';
    if (sql !== t.sql) state = 'stale';
  }
  return state;
}

/** Installs (or replaces stale) capture triggers; returns true when anything changed. */
export function installSqliteCapture(db: SqliteDb, spec: SqliteCaptureSpec): boolean {
  if (sqliteTriggerState(db, spec) === 'ok') return false;
  for (const t of sqliteCaptureTriggers(spec)) {
    db.exec(`DROP TRIGGER IF EXISTS ${sqliteIdent(t.name)}`);
    db.exec(t.sql);
  }
  return true;
}

/**
 * Runs `fn` with the table's insert-capture trigger taken out, and puts the identical trigger
 * (its stored SQL) back before returning. For possync's own bulk inserts, which capture must skip
 * anyway: the trigger's WHEN test alone costs about a tenth of a first pull. Only inside the
 * caller's transaction, so no other connection ever sees the table without its trigger: the DROP
 * takes the write lock, which keeps the till app's inserts out until the commit, and the DDL
 * commits or rolls back with the rows. On an error the trigger is put back too (the rollback
 * would restore it anyway), and the work's error is the one reported.
 */
export function withoutInsertCapture<T>(db: SqliteDb, table: string, fn: () => T): T {
  if (!db.inTransaction) throw new Error('withoutInsertCapture needs an open transaction');
  const name = triggerName(table, 'ins');
  const sql = storedTriggerSql(db, name);
  if (sql === undefined) return fn();
  db.exec(`DROP TRIGGER ${sqliteIdent(name)}`);
  let out: T;
  try {
    out = fn();
  } catch (err) {
    try {
      db.exec(sql);
    } catch {
      // the rollback that follows restores it
    }
    throw err;
  }
  db.exec(sql);
  return out;
}

export function dropSqliteCapture(db: SqliteDb, table: string): void {
  for (const suffix of ['ins', 'upd', 'del'] as const) db.exec(`DROP TRIGGER IF EXISTS ${sqliteIdent(triggerName(table, suffix))}`);
}
