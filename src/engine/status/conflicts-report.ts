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
  /** Column merges (merge "column"): the base both sides last agreed on, the row written, and the columns that clashed. */
  base?: unknown;
  result?: unknown;
  columns?: string[] | null;
}

/** Which conflicts to read: the newest `limit`, of one table, since a moment (ISO text). */
export interface ConflictFilter {
  limit: number;
  table?: string | undefined;
  since?: string | undefined;
}

export interface ConflictsReport {
  /** Pull and merge conflicts from the terminal's _possync_conflicts, newest first. */
  terminal: ConflictRecord[];
  /** This terminal's push conflicts from possync.conflicts; null when the cloud cannot be reached. */
  cloud: ConflictRecord[] | null;
  cloudError?: string;
}

type Row = {
  id: number | string;
  at: string;
  direction: string;
  tbl: string;
  key: string;
  policy: string;
  winner: string;
  local_row: unknown;
  server_row: unknown;
  base_row?: unknown;
  result_row?: unknown;
  columns?: unknown;
};

const parsed = (v: unknown, parse: boolean): unknown => (parse && typeof v === 'string' ? JSON.parse(v) : (v ?? null));

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
  ...(r.result_row !== undefined && r.result_row !== null
    ? { base: parsed(r.base_row, parse), result: parsed(r.result_row, parse), columns: parsed(r.columns, parse) as string[] | null }
    : {}),
});

/** The control API's GET /conflicts: the newest `limit` conflicts on each side. */
export async function readConflicts(config: ResolvedConfig, limit: number, filter: Omit<ConflictFilter, 'limit'> = {}): Promise<ConflictsReport> {
  const sqlite = SqliteGateway.open(config.sqlitePath, { readonly: true });
  let terminal: ConflictRecord[];
  try {
    if (hasTable(sqlite.db, '_possync_conflicts')) {
      // Tills set up before merges were recorded lack the columns until their next run.
      const merged = (sqlite.db.prepare(`SELECT count(*) AS n FROM pragma_table_info('_possync_conflicts') WHERE name = 'result_row'`).get() as { n: number }).n > 0;
      terminal = (
        sqlite.db
          .prepare(
            `SELECT id, at, direction, tbl, key, policy, winner, local_row, server_row${merged ? ', base_row, result_row, columns' : ''} FROM _possync_conflicts
              WHERE (? IS NULL OR tbl = ?) AND (? IS NULL OR at >= ?) ORDER BY id DESC LIMIT ?`,
          )
          .all(filter.table ?? null, filter.table ?? null, filter.since ?? null, filter.since ?? null, limit) as Row[]
      ).map((r) => toRecord(r, true));
    } else terminal = [];
  } finally {
    sqlite.close();
  }
  let pg: PgGateway | undefined;
  try {
    pg = await PgGateway.open(config);
    const [exists] = await pg.query<{ ok: boolean; merged: boolean }>(
      `SELECT to_regclass('possync.conflicts') IS NOT NULL AS ok,
              EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('possync.conflicts') AND attname = 'result_row' AND NOT attisdropped) AS merged`,
    );
    const rows = exists?.ok
      ? await pg.query<Row>(
          `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, direction, tbl, key, policy, winner, local_row, server_row
                  ${exists.merged ? ', base_row, result_row, to_jsonb(columns) AS columns' : ''}
             FROM possync.conflicts WHERE terminal_id = $1 AND ($3::text IS NULL OR tbl = $3) AND ($4::timestamptz IS NULL OR at >= $4::timestamptz)
            ORDER BY id DESC LIMIT $2`,
          [config.terminalId, limit, filter.table ?? null, filter.since ?? null],
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
