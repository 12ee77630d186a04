import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { describeChanges } from '../evolve/evolve.ts';
import { columnChanges, hasChanges, readSyncedColumns } from '../evolve/synced-columns.ts';
import type { SyncPlan } from '../plan/types.ts';
import { finding, type Finding } from './finding.ts';

/**
 * How each table's synced columns moved since this till's last run recorded them
 * (evolve/synced-columns.ts): columns that join (the next run backfills them), leave, or changed
 * type on a side. The same words the run's notes use, so a CI check sees before a deploy what the
 * next run will do. Read-only: a till that never recorded them (before its first run with this
 * version) has nothing to compare with.
 */
export function evolutionFindings(db: SqliteDb, plan: SyncPlan): Finding[] {
  const recorded = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_possync_synced_columns'`).get();
  if (!recorded) return [];
  const out: Finding[] = [];
  for (const t of plan.tables) {
    const before = readSyncedColumns(db, t.name);
    if (!before) continue;
    const changes = columnChanges(t, before);
    if (!hasChanges(changes)) continue;
    const joined = changes.joined.filter((c) => !t.key.includes(c));
    if (joined.length > 0) {
      const names = joined.map((c) => c.pg).join(', ');
      out.push(
        finding(
          'info',
          t.name,
          'column-joined',
          `${t.name}: ${names} ${joined.length === 1 ? 'joins' : 'join'} the sync: the next run backfills ${joined.length === 1 ? 'its' : 'their'} values for the rows both sides have (NULLs from the other side, differing values by the table's conflict policy) before it pushes or pulls`,
        ),
      );
    }
    for (const note of describeChanges(t, { joined: [], left: changes.left, retyped: [] })) out.push(finding('info', t.name, 'column-left', note));
    for (const note of describeChanges(t, { joined: [], left: [], retyped: changes.retyped })) out.push(finding('info', t.name, 'column-retyped', note));
  }
  return out;
}
