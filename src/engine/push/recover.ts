import { readPushCheckpoint } from '../checkpoints.ts';
import type { RunContext } from '../context.ts';
import { recoverNext } from '../merge/base.ts';
import type { TablePlan } from '../plan/types.ts';

/**
 * Finishes the local half of a push batch a run committed in Postgres and then stopped before
 * recording (a crash, a kill): the change-log trim, then column merge's staged bases. Both read
 * the primary (the standby of postgres.readUrl may not have replayed the batch yet), and both run
 * before a table's push and before any pull: a pull-only run would otherwise take the batch's
 * untrimmed entries as pending local changes and keep the till's pre-merge row.
 */
export async function recoverPushedBatch(ctx: RunContext, t: TablePlan): Promise<void> {
  await recoverInflight(ctx, t);
  await recoverNext(ctx, ctx.pg.pool, t);
}

/**
 * A crash between the Postgres COMMIT and the local trim leaves an in-flight marker. If Postgres
 * has the batch's checkpoint, the batch is in: trim now. If not, it rolled back: just forget the
 * marker (the entries are still there and will be pushed again).
 */
async function recoverInflight(ctx: RunContext, t: TablePlan): Promise<void> {
  if (ctx.dryRun) return;
  const db = ctx.sqlite.db;
  const inflight = db.prepare(`SELECT seq FROM _possync_inflight WHERE tbl = ?`).get(t.sqliteName) as { seq: number } | undefined;
  if (!inflight) return;
  const cp = await readPushCheckpoint(ctx.pg.pool, ctx.plan.terminalId, t.name);
  ctx.sqlite.immediate(() => {
    if (cp && cp.seq >= inflight.seq) db.prepare(`DELETE FROM _possync_changes WHERE tbl = ? AND seq <= ?`).run(t.sqliteName, inflight.seq);
    db.prepare(`DELETE FROM _possync_inflight WHERE tbl = ?`).run(t.sqliteName);
  });
}
