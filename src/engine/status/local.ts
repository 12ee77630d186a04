import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { checkpointKey, readPullCheckpoint, type PullCheckpoint } from '../checkpoints.ts';
import { listHeld, type HeldListing } from '../held.ts';
import { countOpen } from '../manual/open-conflicts.ts';
import { hasTable, lastSuccess, recentRuns, type LoggedRun } from './run-log.ts';

export const ERROR_RATE_WINDOW = 20;

export interface RunHealth {
  /** Runs looked at (the last ERROR_RATE_WINDOW non-dry runs). */
  runs: number;
  success: number;
  partial: number;
  failed: number;
  /** failed / runs (0 when there are no runs). Partial runs (rows waiting) are not errors. */
  errorRate: number;
}

/** Everything `possync status` can tell from the terminal database alone (works offline). */
export interface LocalStatus {
  installed: boolean;
  lastPush: LoggedRun | undefined;
  lastPull: LoggedRun | undefined;
  lastRun: LoggedRun | undefined;
  health: RunHealth;
  /** Local changes captured and not yet pushed, by SQLite table name. */
  pendingChanges: Map<string, number>;
  held: HeldListing[];
  /** Conflicts recorded on this terminal (pull). */
  conflicts: number;
  /** Open conflicts (conflict "manual") waiting for an admin, per table. */
  openConflicts: Map<string, number>;
  pullCheckpoint(table: string): PullCheckpoint | undefined;
  pullCheckpointAt(table: string): string | undefined;
}

export function readLocalStatus(db: SqliteDb, terminalId: string): LocalStatus {
  const installed = hasTable(db, '_possync_state');
  const runs = recentRuns(db, ERROR_RATE_WINDOW);
  const count = (s: string) => runs.filter((r) => r.status === s).length;
  const settings = hasTable(db, 'system_settings');
  const pendingRows = hasTable(db, '_possync_changes') ? (db.prepare(`SELECT tbl, count(*) AS n FROM _possync_changes GROUP BY tbl`).all() as Array<{ tbl: string; n: number }>) : [];
  return {
    installed,
    lastPush: lastSuccess(db, 'push'),
    lastPull: lastSuccess(db, 'pull'),
    lastRun: runs[0],
    health: { runs: runs.length, success: count('success'), partial: count('partial'), failed: count('failed'), errorRate: runs.length === 0 ? 0 : count('failed') / runs.length },
    pendingChanges: new Map(pendingRows.map((r) => [r.tbl, r.n])),
    held: hasTable(db, '_possync_held') ? listHeld(db) : [],
    openConflicts: countOpen(db),
    conflicts: hasTable(db, '_possync_conflicts') ? (db.prepare(`SELECT count(*) AS n FROM _possync_conflicts`).get() as { n: number }).n : 0,
    pullCheckpoint: (table) => (settings ? readPullCheckpoint(db, terminalId, table) : undefined),
    pullCheckpointAt: (table) => (settings ? checkpointTime(db, terminalId, table) : undefined),
  };
}

function checkpointTime(db: SqliteDb, terminalId: string, table: string): string | undefined {
  const row = db.prepare(`SELECT updated_at FROM system_settings WHERE setting_key = ?`).get(checkpointKey(terminalId, 'pull', table)) as { updated_at: string } | undefined;
  return row?.updated_at;
}
