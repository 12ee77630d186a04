import type { ResolvedConfig } from '../../config/types.ts';
import { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { recentRuns, type LoggedRun } from './run-log.ts';

/** `possync logs --json` and the control API's GET /logs: the last `limit` runs, newest first, dry runs included. */
export function readRunLog(config: ResolvedConfig, limit: number): LoggedRun[] {
  const sqlite = SqliteGateway.open(config.sqlitePath, { readonly: true });
  try {
    return recentRuns(sqlite.db, limit, { includeDryRuns: true });
  } finally {
    sqlite.close();
  }
}
