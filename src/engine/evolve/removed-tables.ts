import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { forgetBaseTable } from '../../db/sqlite/base-copy.ts';
import { dropSqliteCapture } from '../../db/sqlite/capture.ts';
import { checkpointKey } from '../checkpoints.ts';
import type { SyncPlan } from '../plan/types.ts';

/** A table this till synced before and the config no longer names. */
export interface RemovedTable {
  /** Config (Postgres) name, when this till recorded it; undefined for a table only its triggers tell of. */
  name: string | undefined;
  /** The SQLite table the capture triggers are on, when there are any. */
  sqliteName: string | undefined;
}

/**
 * Tables taken out of the config: recorded in _possync_synced_columns, or carrying possync's
 * capture triggers, and not in the plan. Their triggers would go on filling _possync_changes
 * with changes nobody pushes, for good.
 */
export function removedTables(db: SqliteDb, plan: SyncPlan): RemovedTable[] {
  const names = new Set(plan.tables.map((t) => t.name));
  const sqliteNames = new Set(plan.tables.map((t) => t.sqliteName));
  const recorded = (db.prepare(`SELECT tbl FROM _possync_synced_columns`).all() as Array<{ tbl: string }>).map((r) => r.tbl).filter((n) => !names.has(n));
  const triggered = (
    db.prepare(`SELECT DISTINCT tbl_name FROM sqlite_schema WHERE type = 'trigger' AND name = '_possync_' || tbl_name || '_ins'`).all() as Array<{ tbl_name: string }>
  )
    .map((r) => r.tbl_name)
    .filter((n) => !sqliteNames.has(n));
  const out: RemovedTable[] = recorded.map((name) => ({ name, sqliteName: triggered.includes(name) ? name : undefined }));
  for (const s of triggered) if (!out.some((r) => r.sqliteName === s)) out.push({ name: undefined, sqliteName: s });
  return out;
}

/**
 * Lets go of removed tables on the till, in the caller's transaction: their capture triggers go,
 * with their unpushed change-log entries, in-flight marker, held rows, pull checkpoint and column
 * record. Adding the table back later is then a first sync (a full scan each way), which is what
 * it needs: changes made while it was out of the config were not captured. The cloud's capture
 * triggers stay while other tills sync the table; once none does, a run removes them and the
 * table's cloud log entries (orphaned-capture.ts). The push checkpoint lives in Postgres and is
 * cleared by the caller.
 */
export function forgetTables(db: SqliteDb, terminalId: string, removed: readonly RemovedTable[]): string[] {
  const notes: string[] = [];
  for (const r of removed) {
    let dropped = 0;
    if (r.sqliteName) {
      dropSqliteCapture(db, r.sqliteName);
      dropped = db.prepare(`DELETE FROM _possync_changes WHERE tbl = ?`).run(r.sqliteName).changes;
      db.prepare(`DELETE FROM _possync_inflight WHERE tbl = ?`).run(r.sqliteName);
    }
    if (r.name && r.sqliteName) forgetBaseTable(db, r.sqliteName, r.name);
    if (r.name) {
      db.prepare(`DELETE FROM _possync_held WHERE tbl = ?`).run(r.name);
      db.prepare(`DELETE FROM _possync_resync WHERE tbl = ?`).run(r.name);
      db.prepare(`DELETE FROM system_settings WHERE setting_key = ?`).run(checkpointKey(terminalId, 'pull', r.name));
      db.prepare(`DELETE FROM _possync_synced_columns WHERE tbl = ?`).run(r.name);
    }
    const label = r.name ?? r.sqliteName!;
    notes.push(
      `${label} is no longer in the config: possync removed its capture triggers on this till${dropped > 0 ? ` and ${dropped} unpushed change${dropped === 1 ? '' : 's'}` : ''}, and its checkpoints, so adding it back syncs it in full`,
    );
  }
  return notes;
}
