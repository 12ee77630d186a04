import { sqliteIdent } from '../../db/quote.ts';
import { withCaptureSuppressed } from '../../db/sqlite/rows.ts';
import { writePullCheckpoint, type PullCheckpoint, type ScanState } from '../checkpoints.ts';
import type { RunContext } from '../context.ts';
import { writeLocal } from '../local-write.ts';
import type { TablePlan } from '../plan/types.ts';
import { localKeyString } from '../push/prepare.ts';
import { pendingLocalKeys } from './apply.ts';
import type { TableResult } from '../result.ts';
import type { SqliteValue } from '../values/codec.ts';

/**
 * A full resync remembers which keys the terminal had when it began (in _possync_resync, with the
 * scan checkpoint, in one transaction). Each batch ticks off the keys Postgres still has; at the
 * end, what is left was deleted in Postgres and is deleted here too, unless the till still has
 * something to settle on it (pendingLocalKeys). An empty terminal table costs nothing.
 */
export function startResync(ctx: RunContext, t: TablePlan, scan: ScanState & { fence: string }): boolean {
  const db = ctx.sqlite.db;
  const keyCols = t.key.map((k) => k.sqlite);
  // Same encoding as keyString() of wire keys for canonical key values (uuid text, integers, text).
  const key = `json_array(${keyCols.map((c) => `CAST(${sqliteIdent(c)} AS TEXT)`).join(', ')})`;
  const notNull = keyCols.map((c) => `${sqliteIdent(c)} IS NOT NULL`).join(' AND ');
  return ctx.sqlite.immediate(() => {
    db.prepare(`DELETE FROM _possync_resync WHERE tbl = ?`).run(t.name);
    // Rows without a shared key yet were never pushed: they are not candidates for the sweep.
    const listed = db.prepare(`INSERT OR IGNORE INTO _possync_resync (tbl, key) SELECT ?, ${key} FROM ${sqliteIdent(t.sqliteName)} WHERE ${notNull}`).run(t.name).changes;
    writePullCheckpoint(db, ctx.plan.terminalId, t.name, { xid: undefined, scan });
    return listed > 0;
  });
}

/** Whether a resync that was interrupted still has local keys waiting to be ticked off. */
export function pendingSweep(ctx: RunContext, t: TablePlan): boolean {
  return ctx.sqlite.db.prepare(`SELECT 1 FROM _possync_resync WHERE tbl = ? LIMIT 1`).get(t.name) !== undefined;
}

/** Deletes local rows the resync did not find in Postgres, and completes the checkpoint with it. */
export function sweepUnseen(ctx: RunContext, t: TablePlan, result: TableResult, final: PullCheckpoint): void {
  if (ctx.dryRun) return;
  const db = ctx.sqlite.db;
  const keyCols = t.key.map((k) => k.sqlite);
  const cols = [...new Set([...t.localKey, ...keyCols])];
  ctx.sqlite.immediate(() =>
    withCaptureSuppressed(db, () => {
      writePullCheckpoint(db, ctx.plan.terminalId, t.name, final);
      const unseen = db.prepare(`SELECT key FROM _possync_resync WHERE tbl = ?`).all(t.name) as { key: string }[];
      if (unseen.length === 0) return;
      const on = keyCols.map((c, i) => `t.${sqliteIdent(c)} = (j.value ->> ${i})`).join(' AND ');
      const rows = db
        .prepare(`SELECT ${cols.map((c) => `t.${sqliteIdent(c)} AS ${sqliteIdent(c)}`).join(', ')} FROM json_each(?) AS j CROSS JOIN ${sqliteIdent(t.sqliteName)} AS t ON ${on}`)
        .safeIntegers(true)
        .all(JSON.stringify(unseen.map((u) => JSON.parse(u.key) as unknown))) as Record<string, SqliteValue>[];
      // Not a row the till still has to settle: a pending change, a held row, an open manual
      // conflict (whose till version is the till's word on the row, not yet in the cloud).
      const lkeys = rows.map((r) => localKeyString(t, r));
      const pending = pendingLocalKeys(ctx, t, lkeys);
      const ops = lkeys.filter((lkey) => !pending.has(lkey)).map((lkey) => ({ kind: 'delete' as const, lkey }));
      writeLocal(db, t, ops);
      result.deleted += ops.length;
      db.prepare(`DELETE FROM _possync_resync WHERE tbl = ?`).run(t.name);
    }),
  );
}
