import type { PgGateway } from '../db/postgres/gateway.ts';
import type { SqliteGateway } from '../db/sqlite/gateway.ts';
import type { RunResult } from './result.ts';

/**
 * Every run is recorded on both sides: in the terminal database (so `possync status` and
 * `possync logs` work offline) and in possync.sync_logs (so the cloud sees every terminal).
 * Recording is best effort: a lost log line must never turn a good sync into a failure.
 */
export async function recordRun(pg: PgGateway, sqlite: SqliteGateway, result: RunResult, retentionDays: number): Promise<void> {
  const json = JSON.stringify(result);
  // After a run stopped on a side, that side's copy is skipped: it would wait out another busy or
  // connect timeout on a database known to be locked or gone, and the other copy says what happened.
  if (result.errorCode !== 'LOCKED') recordLocally(sqlite, result, json, retentionDays);
  if (result.errorCode === 'PG_UNREACHABLE' || result.errorCode === 'TIMEOUT') return;
  try {
    await pg.query(
      `INSERT INTO possync.sync_logs (run_id, terminal_id, started_at, finished_at, direction, status, result, error) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)`,
      [result.runId, result.terminalId, result.startedAt, result.finishedAt, result.direction, result.status, json, result.error ?? null],
    );
  } catch {
    // best effort
  }
}

function recordLocally(sqlite: SqliteGateway, result: RunResult, json: string, retentionDays: number): void {
  try {
    // The till keeps retentionDays of run logs and conflict records, like the cloud does.
    const cutoff = new Date(Date.now() - retentionDays * 86_400_000).toISOString();
    sqlite.immediate(() => {
      sqlite.db
        .prepare(`INSERT INTO _possync_sync_logs (run_id, started_at, finished_at, direction, status, dry_run, result, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(result.runId, result.startedAt, result.finishedAt, result.direction, result.status, result.dryRun ? 1 : 0, json, result.error ?? null);
      sqlite.db.prepare(`DELETE FROM _possync_sync_logs WHERE started_at < ?`).run(cutoff);
      sqlite.db.prepare(`DELETE FROM _possync_conflicts WHERE at < ?`).run(cutoff);
    });
  } catch {
    // best effort
  }
}
