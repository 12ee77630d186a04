import type { Direction } from '../../config/types.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import type { RunResult, RunStatus } from '../result.ts';

/** One row of the terminal's _possync_sync_logs (written by every run, see sync-log.ts). */
export interface LoggedRun {
  id: number;
  runId: string;
  startedAt: string;
  finishedAt: string | null;
  direction: Direction;
  status: RunStatus;
  dryRun: boolean;
  error: string | null;
  /** The full run result (per-table counts), when it could be read back. */
  result: RunResult | null;
}

export function hasTable(db: SqliteDb, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

type Row = { id: number; run_id: string; started_at: string; finished_at: string | null; direction: Direction; status: RunStatus; dry_run: number; result: string | null; error: string | null };

const COLUMNS = 'id, run_id, started_at, finished_at, direction, status, dry_run, result, error';

/** The newest `limit` runs, newest first; empty before possync's first run. */
export function recentRuns(db: SqliteDb, limit: number, options: { includeDryRuns?: boolean } = {}): LoggedRun[] {
  if (!hasTable(db, '_possync_sync_logs')) return [];
  const rows = db.prepare(`SELECT ${COLUMNS} FROM _possync_sync_logs WHERE (? OR dry_run = 0) ORDER BY id DESC LIMIT ?`).all(options.includeDryRuns ? 1 : 0, limit) as Row[];
  return rows.map(toRun);
}

/** The last successful (non-dry) run that included the step: `both` runs count for push and pull. */
export function lastSuccess(db: SqliteDb, step: 'push' | 'pull'): LoggedRun | undefined {
  if (!hasTable(db, '_possync_sync_logs')) return undefined;
  const row = db
    .prepare(`SELECT ${COLUMNS} FROM _possync_sync_logs WHERE status = 'success' AND dry_run = 0 AND direction IN (?, 'both') ORDER BY id DESC LIMIT 1`)
    .get(step) as Row | undefined;
  return row ? toRun(row) : undefined;
}

function toRun(r: Row): LoggedRun {
  return {
    id: r.id,
    runId: r.run_id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    direction: r.direction,
    status: r.status,
    dryRun: r.dry_run === 1,
    error: r.error,
    result: parseResult(r.result),
  };
}

function parseResult(text: string | null): RunResult | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as RunResult;
  } catch {
    return null;
  }
}
