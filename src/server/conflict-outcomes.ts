import type { ResolvedConfig } from '../config/types.ts';
import { PgGateway } from '../db/postgres/gateway.ts';
import { SqliteGateway } from '../db/sqlite/gateway.ts';
import type { RunResult, Step } from '../engine/result.ts';
import { conflictWinners } from '../engine/status/conflicts-report.ts';

export interface ConflictOutcomeCount {
  table: string;
  step: Step;
  outcome: string;
  count: number;
}

/**
 * Who won the conflicts of a run that had some: the newest N records of each table and step are
 * that run's (it held the terminal lock). Pull conflicts are on the terminal; push conflicts in
 * the cloud, which is asked only when the run had push conflicts.
 */
export async function countConflictOutcomes(config: ResolvedConfig, r: RunResult): Promise<ConflictOutcomeCount[]> {
  const out: ConflictOutcomeCount[] = [];
  const add = (table: string, step: Step, winners: Map<string, number>) => {
    for (const [outcome, count] of winners) out.push({ table, step, outcome, count });
  };
  const pulls = r.tables.filter((t) => t.step === 'pull' && t.conflicts > 0);
  if (pulls.length > 0) {
    const sqlite = SqliteGateway.open(config.sqlitePath, { readonly: true });
    try {
      const q = sqlite.db.prepare(`SELECT winner FROM _possync_conflicts WHERE direction = 'pull' AND tbl = ? ORDER BY id DESC LIMIT ?`);
      for (const t of pulls) add(t.table, 'pull', conflictWinners(q.all(t.table, t.conflicts) as Array<{ winner: string }>, t.conflicts));
    } finally {
      sqlite.close();
    }
  }
  const pushes = r.tables.filter((t) => t.step === 'push' && t.conflicts > 0);
  if (pushes.length > 0) {
    const pg = await PgGateway.open(config);
    try {
      for (const t of pushes) {
        const rows = await pg.query<{ winner: string }>(
          `SELECT winner FROM possync.conflicts WHERE terminal_id = $1 AND direction = 'push' AND tbl = $2 ORDER BY id DESC LIMIT $3`,
          [config.terminalId, t.table, t.conflicts],
        );
        add(t.table, 'push', conflictWinners(rows, t.conflicts));
      }
    } finally {
      await pg.close();
    }
  }
  return out;
}
