import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { recordHeld } from '../held.ts';
import { displayKey, parseKey } from '../keys.ts';
import type { TablePlan } from '../plan/types.ts';
import { compareVersion, type Wire } from '../values/codec.ts';

/** A difference with what repair needs: the till's local key and both versions' updatedCol. */
export interface RepairItem {
  key: string;
  lkey: string | undefined;
  kind: 'missing' | 'extra' | 'different';
  localVersion?: Wire;
  cloudVersion?: Wire;
}

/**
 * Which side's next run settles a difference. A row only the cloud has is fetched by the next
 * pull; a row only the till has is sent by the next push (on a pull-only table, the next pull
 * finds the cloud has no such row and applies that). A row both have in different versions goes
 * the way the table's policy would send it had both sides changed it: `server-wins` → pull,
 * `client-wins` → push, `lww` → the newer `updatedCol` (ties and tables without one → pull);
 * push-only and pull-only tables can only go their one way.
 */
export function repairSide(t: TablePlan, item: RepairItem): 'push' | 'pull' {
  if (t.direction === 'pull') return 'pull';
  if (t.direction === 'push') return 'push';
  if (item.kind === 'missing') return 'pull';
  if (item.kind === 'extra') return 'push';
  // conflict "version": versions are not read here; the table's fallback settles it.
  const policy = t.conflict === 'version' ? (t.fallback ?? 'server-wins') : t.conflict;
  if (policy === 'client-wins') return 'push';
  if (policy === 'server-wins' || !t.updated) return 'pull';
  return compareVersion(t.updated.codec, item.localVersion ?? null, item.cloudVersion ?? null) > 0 ? 'push' : 'pull';
}

/**
 * Queues rows for the next run and writes nothing else, in one till transaction:
 *  - push: an 'U' entry in _possync_changes for the row's local key, exactly what the capture
 *    trigger writes for an edit, so the next push reads the current row and sends it;
 *  - pull: a held pull row (_possync_held, kind 'deferred'), which every pull fetches from
 *    Postgres by key and applies (or, when the cloud has no such row, deletes locally), releasing
 *    it when it goes through.
 * Neither database's data is touched here; the next `trigger` settles the rows under the table's
 * usual rules (conflicts, held rows and all).
 */
export function queueRepairs(db: SqliteDb, t: TablePlan, items: readonly RepairItem[], runAt: string): { push: number; pull: number } {
  const counts = { push: 0, pull: 0 };
  const change = db.prepare(`INSERT INTO _possync_changes (tbl, lkey, op) VALUES (?, ?, 'U')`);
  db.transaction(() => {
    const pulls = [];
    for (const item of items) {
      const side = repairSide(t, item);
      if (side === 'push' && item.lkey !== undefined) {
        change.run(t.sqliteName, item.lkey);
        counts.push += 1;
      } else if (side === 'pull') {
        const display = `${t.name}:${displayKey(parseKey(item.key))}`;
        pulls.push({ side: 'pull' as const, table: t.name, key: item.key, kind: 'deferred' as const, reason: `${display}: queued by verify-data for the next pull`, display });
        counts.pull += 1;
      }
    }
    recordHeld(db, pulls, runAt);
  })();
  return counts;
}
