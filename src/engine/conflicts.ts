import type { PgClient } from '../db/postgres/gateway.ts';
import type { SqliteDb } from '../db/sqlite/gateway.ts';
import type { WireRow } from './decide.ts';
import type { TablePlan } from './plan/types.ts';

export interface ConflictEntry {
  key: string;
  winner: 'local' | 'server';
  local: WireRow | null;
  server: WireRow | null;
}

/**
 * Every conflict is kept with both versions, so an admin can see what was overwritten: push
 * conflicts in possync.conflicts (same Postgres transaction as the batch), pull conflicts in
 * the terminal's _possync_conflicts (same SQLite transaction as the batch).
 */
export async function recordPushConflicts(client: PgClient, terminalId: string, t: TablePlan, conflicts: readonly ConflictEntry[]): Promise<void> {
  if (conflicts.length === 0) return;
  await client.query(
    `INSERT INTO possync.conflicts (terminal_id, direction, tbl, key, policy, winner, local_row, server_row)
     SELECT $1, 'push', $2, u.key, $3, u.winner, u.local_row::jsonb, u.server_row::jsonb
       FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) AS u(key, winner, local_row, server_row)`,
    [
      terminalId,
      t.name,
      t.conflict,
      conflicts.map((c) => c.key),
      conflicts.map((c) => c.winner),
      conflicts.map((c) => (c.local ? JSON.stringify(c.local) : null)),
      conflicts.map((c) => (c.server ? JSON.stringify(c.server) : null)),
    ],
  );
}

/** `merge`: two local rows found to be one (naturalKey); `server_row` is then the local copy of the cloud row. */
export function recordPullConflicts(db: SqliteDb, t: TablePlan, conflicts: readonly ConflictEntry[], direction: 'pull' | 'merge' = 'pull'): void {
  const insert = db.prepare(
    `INSERT INTO _possync_conflicts (direction, tbl, key, policy, winner, local_row, server_row) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const c of conflicts) {
    insert.run(direction, t.name, c.key, t.conflict, c.winner, c.local ? JSON.stringify(c.local) : null, c.server ? JSON.stringify(c.server) : null);
  }
}
