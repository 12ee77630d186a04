import type { ResolvedConfig } from '../../config/types.ts';
import { PgGateway } from '../../db/postgres/gateway.ts';
import { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { isPossyncError } from '../../errors.ts';
import { hasTable } from './run-log.ts';

/** One recorded conflict, with both versions, as either side stores it (see engine/conflicts.ts). */
export interface ConflictRecord {
  id: number;
  at: string;
  /** push (recorded in the cloud), pull or merge (recorded on this terminal). */
  direction: string;
  table: string;
  key: string;
  policy: string;
  winner: string;
  local: unknown;
  server: unknown;
}

export interface ConflictsReport {
  /** Pull and merge conflicts from the terminal's _possync_conflicts, newest first. */
  terminal: ConflictRecord[];
  /** This terminal's push conflicts from possync.conflicts; null when the cloud cannot be reached. */
  cloud: ConflictRecord[] | null;
  cloudError?: string;
}

type Row = { id: number | string; at: string; direction: string; tbl: string; key: string; policy: string; winner: string; local_row: unknown; server_row: unknown };

const toRecord = (r: Row, parse: boolean): ConflictRecord => ({
  id: Number(r.id),
  at: r.at,
  direction: r.direction,
  table: r.tbl,
  key: r.key,
  policy: r.policy,
  winner: r.winner,
  local: parse && typeof r.local_row === 'string' ? JSON.parse(r.local_row) : r.local_row,
  server: parse && typeof r.server_row === 'string' ? JSON.parse(r.server_row) : r.server_row,
});

/** The control API's GET /conflicts: the newest `limit` conflicts on each side. */
export async function readConflicts(config: ResolvedConfig, limit: number): Promise<ConflictsReport> {
  const sqlite = SqliteGateway.open(config.sqlitePath, { readonly: true });
  let terminal: ConflictRecord[];
  try {
    terminal = hasTable(sqlite.db, '_possync_conflicts')
      ? (sqlite.db.prepare(`SELECT id, at, direction, tbl, key, policy, winner, local_row, server_row FROM _possync_conflicts ORDER BY id DESC LIMIT ?`).all(limit) as Row[]).map((r) => toRecord(r, true))
      : [];
  } finally {
    sqlite.close();
  }
  let pg: PgGateway | undefined;
  try {
    pg = await PgGateway.open(config);
    const [exists] = await pg.query<{ ok: boolean }>(`SELECT to_regclass('possync.conflicts') IS NOT NULL AS ok`);
    const rows = exists?.ok
      ? await pg.query<Row>(
          `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, direction, tbl, key, policy, winner, local_row, server_row
             FROM possync.conflicts WHERE terminal_id = $1 ORDER BY id DESC LIMIT $2`,
          [config.terminalId, limit],
        )
      : [];
    return { terminal, cloud: rows.map((r) => toRecord(r, false)) };
  } catch (err) {
    if (!isPossyncError(err) || err.code !== 'PG_UNREACHABLE') throw err;
    return { terminal, cloud: null, cloudError: err.message };
  } finally {
    await pg?.close();
  }
}

/**
 * Who won the newest `count` conflicts of one table and step (the metrics' `outcome`): a run holds
 * the terminal lock, so right after it the newest rows for this terminal are that run's.
 */
export function conflictWinners(rows: ReadonlyArray<{ winner: string }>, count: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows.slice(0, count)) out.set(r.winner, (out.get(r.winner) ?? 0) + 1);
  const missing = count - Math.min(rows.length, count);
  if (missing > 0) out.set('unknown', (out.get('unknown') ?? 0) + missing);
  return out;
}
