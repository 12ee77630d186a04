import type { PgClient } from '../db/postgres/gateway.ts';
import type { SqliteDb } from '../db/sqlite/gateway.ts';
import type { WireRow } from './decide.ts';
import type { TablePlan } from './plan/types.ts';

export interface ConflictEntry {
  key: string;
  /**
   * 'merged': a column merge in which no column clashed (each side changed other columns).
   * conflict "manual": 'open' when a row is set aside; the admin's decision (till, cloud, set)
   * when it is carried out; 'agreed' when both sides came to hold the same row by themselves.
   */
  winner: 'local' | 'server' | 'merged' | 'open' | 'till' | 'cloud' | 'set' | 'agreed';
  local: WireRow | null;
  server: WireRow | null;
  /** Column merge: what both sides last agreed on, the row written, and the columns that clashed. */
  base?: WireRow | undefined;
  result?: WireRow | undefined;
  columns?: string[] | undefined;
}

const json = (row: WireRow | null | undefined) => (row ? JSON.stringify(row) : null);

/**
 * Every conflict is kept with both versions, so an admin can see what was overwritten: push
 * conflicts in possync.conflicts (same Postgres transaction as the batch), pull conflicts in
 * the terminal's _possync_conflicts (same SQLite transaction as the batch).
 */
export async function recordPushConflicts(client: PgClient, terminalId: string, t: TablePlan, conflicts: readonly ConflictEntry[]): Promise<void> {
  if (conflicts.length === 0) return;
  await client.query(
    `INSERT INTO possync.conflicts (terminal_id, direction, tbl, key, policy, winner, local_row, server_row, base_row, result_row, columns)
     SELECT $1, 'push', $2, u.key, $3, u.winner, u.local_row::jsonb, u.server_row::jsonb, u.base_row::jsonb, u.result_row::jsonb,
            CASE WHEN u.columns IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.columns::jsonb)) END
       FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) AS u(key, winner, local_row, server_row, base_row, result_row, columns)`,
    [
      terminalId,
      t.name,
      policyName(t),
      conflicts.map((c) => c.key),
      conflicts.map((c) => c.winner),
      conflicts.map((c) => json(c.local)),
      conflicts.map((c) => json(c.server)),
      conflicts.map((c) => json(c.base)),
      conflicts.map((c) => json(c.result)),
      conflicts.map((c) => (c.columns ? JSON.stringify(c.columns) : null)),
    ],
  );
}

/**
 * `merge`: two local rows found to be one (naturalKey); `server_row` is then the local copy of the cloud row.
 * `resolve`: a manual conflict carried out (winner: the admin's decision; result_row: the row both sides now hold).
 */
export function recordPullConflicts(db: SqliteDb, t: TablePlan, conflicts: readonly ConflictEntry[], direction: 'pull' | 'merge' | 'resolve' = 'pull'): void {
  const insert = db.prepare(
    `INSERT INTO _possync_conflicts (direction, tbl, key, policy, winner, local_row, server_row, base_row, result_row, columns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const c of conflicts) {
    insert.run(direction, t.name, c.key, policyName(t), c.winner, json(c.local), json(c.server), json(c.base), json(c.result), c.columns ? JSON.stringify(c.columns) : null);
  }
}

/** The policy as recorded: `version/server-wins` names the fallback, `lww+column` a column merge. */
function policyName(t: TablePlan): string {
  const policy = t.conflict === 'version' ? `version/${t.fallback ?? 'server-wins'}` : t.conflict;
  return t.merge === 'column' ? `${policy}+column` : policy;
}
