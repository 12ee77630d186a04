import type { RunContext } from '../context.ts';
import type { TablePlan } from '../plan/types.ts';
import { emptyTableResult, type TableResult } from '../result.ts';
import { isPgRetryable } from '../../db/postgres/errors.ts';
import { recordRetry } from '../retries.ts';
import { runTableStep } from '../step.ts';
import { isQuiet, markPulled, probeTables, pullTable, settleDeferredPull } from './table.ts';
import { PRUNE_DUE_SQL, PRUNED_BELOW_SQL, pruneChangeLog, registerPull } from '../retention.ts';
import { changeLogName } from '../../db/postgres/possync-schema.ts';
import { isRecoveryConflict, standbySnapshot } from '../../db/postgres/read-replica.ts';
import { recoverPushedBatch } from '../push/recover.ts';
import { firstLine, openReadSource, primarySource, recordReadAfter, standbyFailed, type ReadSource } from './read-source.ts';

export interface PullSummary {
  fence: string | undefined;
  /** Committed changes the fence holds back because an older transaction is still open. */
  heldBackByOpenTransaction: boolean;
  /** No terminal pruned the change log lately: this one tries after its pull. */
  pruneDue: boolean;
}

/**
 * Every table of one pull reads from one REPEATABLE READ snapshot, so a child never arrives
 * without the parent committed with it. The fence is that snapshot's xmin: every transaction with
 * a smaller id has finished, so nothing can later commit behind the new checkpoints.
 */
export async function pullAll(ctx: RunContext, tables: TablePlan[], results: Map<TablePlan, TableResult>): Promise<PullSummary> {
  // A push batch committed by a run that stopped before its local step is finished first, on the
  // primary: its entries must not look like pending local changes to this pull.
  for (const t of tables) await recoverPushedBatch(ctx, t);
  let source = await openReadSource(ctx);
  ctx.pullServer = source.server;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await pullOnce(ctx, source, tables, results);
      } catch (err) {
        // A standby that cancels the pull (recovery conflict) or goes away: the primary redoes it.
        // Batches it applied keep their (standby) checkpoints: the primary's snapshot includes them.
        // (Not when the run is being stopped: the watchdog cuts the standby's connections too.)
        if (!ctx.signal?.aborted && standbyFailed(source, err)) {
          // An idle session in the way of replay is ended rather than cancelled: pg then only sees the socket close.
          const why = isRecoveryConflict(err) ? `cancelled it on a recovery conflict (${firstLine(err)})` : `ended its session (a recovery conflict, or the standby stopped): ${firstLine(source.gateway.lostReason ?? err)}`;
          await source.close();
          source = primarySource(ctx, `the standby at ${source.server.url} ${why}`);
          ctx.pullServer = source.server;
          attempt = 0;
        } else if (!isPgRetryable(err) || attempt >= 3) throw err;
        else recordRetry('pull', err);
        resetForRetry(ctx, results);
        await new Promise((r) => setTimeout(r, 100 * attempt + Math.random() * 200));
      }
    }
  } finally {
    await source.close();
  }
}

function resetForRetry(ctx: RunContext, results: Map<TablePlan, TableResult>): void {
  // Batches the failed attempt applied are committed locally with their checkpoints and are
  // not applied again, so their counts stay (a dry run committed nothing: it starts afresh).
  // Statuses, held rows and reasons are redone by the next attempt.
  for (const r of results.values()) {
    const kept = ctx.dryRun ? {} : { inserted: r.inserted, updated: r.updated, deleted: r.deleted, unchanged: r.unchanged, conflicts: r.conflicts };
    Object.assign(r, { ...emptyTableResult(r.table, r.label, r.step), ...kept, durationMs: r.durationMs });
  }
}

async function pullOnce(ctx: RunContext, source: ReadSource, tables: TablePlan[], results: Map<TablePlan, TableResult>): Promise<PullSummary> {
  const summary: PullSummary = { fence: undefined, heldBackByOpenTransaction: false, pruneDue: false };
  const onStandby = source.server.server === 'standby';
  let lsn: string | undefined;
  await source.gateway.tx(
    async (client) => {
      // The pruned horizon is read in the same statement, so from this same snapshot: a prune
      // that commits after it cannot hide entries from this pull (they stay visible in the
      // snapshot), and one that committed before it is seen here, so checkpoints below it resync
      // instead of trusting the log.
      // The WAL position is read after the snapshot was taken, so it covers everything the snapshot
      // sees: a later pull from a standby waits until the standby has replayed this far.
      const { rows } = await client.query<{ snapshot: string; fence: string; xmax: string; pruned_below: string | null; prune_due: boolean; lsn: string | null }>(
        `SELECT pg_current_snapshot()::text AS snapshot, pg_snapshot_xmin(pg_current_snapshot())::text AS fence,
                pg_snapshot_xmax(pg_current_snapshot())::text AS xmax, (${PRUNED_BELOW_SQL}) AS pruned_below, ${PRUNE_DUE_SQL} AS prune_due,
                ${!ctx.config.postgresRead ? 'NULL' : onStandby ? 'pg_last_wal_replay_lsn()' : 'pg_current_wal_insert_lsn()'}::text AS lsn`,
      );
      summary.pruneDue = rows[0]!.prune_due;
      summary.fence = rows[0]!.fence;
      lsn = rows[0]!.lsn ?? undefined;
      // On a standby the snapshot's text lacks its open transactions: rebuilt (read-replica.ts).
      const snapshot = onStandby
        ? await standbySnapshot(client, rows[0]!.fence, rows[0]!.xmax, tables.map((t) => changeLogName(ctx.plan.schema, t.name)))
        : rows[0]!.snapshot;
      const snap = { fence: rows[0]!.fence, snapshot };
      ctx.prunedBelow = rows[0]!.pruned_below ?? undefined;
      summary.heldBackByOpenTransaction = rows[0]!.fence !== rows[0]!.xmax;
      const inSavepoint = async (fn: () => Promise<void>) => {
        await client.query('SAVEPOINT possync_table');
        try {
          // Not released (one round trip less): the next table's savepoint of the same name
          // shadows it, and the COMMIT releases them all.
          await fn();
        } catch (err) {
          await client.query('ROLLBACK TO SAVEPOINT possync_table').catch(() => {});
          throw err;
        }
      };
      const probes = await probeTables(ctx, client, tables, snap);
      for (const t of tables) {
        const result = results.get(t)!;
        const probe = probes.get(t);
        const pull = isQuiet(ctx, t, probe) ? async () => markPulled(ctx, t, snap) : () => inSavepoint(() => pullTable(ctx, client, t, snap, result, probe));
        await runTableStep(ctx, t, result, results, pull, { rethrowRetryable: true, client });
      }
      // FK cycles between tables: a row may wait for a parent in a table pulled after it.
      for (const t of tables) {
        const result = results.get(t)!;
        if (result.status === 'success' && result.deferred > 0) {
          await runTableStep(ctx, t, result, results, () => inSavepoint(() => settleDeferredPull(ctx, client, t, result)), { rethrowRetryable: true, client });
        }
      }
    },
    { isolation: 'repeatable read', readOnly: true },
  );
  recordReadAfter(ctx, lsn);
  if (!ctx.dryRun && summary.fence) {
    // One after the other on one connection (see introspectPg); a prune that misses this
    // registration only keeps more of the log.
    await registerPull(ctx.pg, ctx.sqlite.db, ctx.plan.terminalId, ctx.plan.tables.filter((t) => t.direction !== 'push').map((t) => t.name));
    if (summary.pruneDue) await pruneChangeLog(ctx.pg, ctx.config.retentionDays);
  }
  return summary;
}
