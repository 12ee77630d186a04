import { insertStagedTogether, type StagedPart } from '../../db/postgres/insert-together.ts';
import { pulledSnapshot, writePushCheckpoint, type PushCheckpoint } from '../checkpoints.ts';
import type { RunContext } from '../context.ts';
import { heldKeys } from '../held.ts';
import type { TablePlan } from '../plan/types.ts';
import type { TableResult } from '../result.ts';
import type { WriteBack } from './prepare.ts';
import { asRunStopper, stopsRun } from '../step.ts';
import { canCopy, copyEncoder, logReloaded, slices } from './bulk-copy.ts';
import { keyWaitingRows } from './cloud-keys.ts';
import { beforeCommit } from './table.ts';
import { writePathOf } from './write-path.ts';

/**
 * The first push of tables around a foreign-key cycle, into an empty cloud, at COPY speed.
 *
 * Table by table, a cycle whose links are NOT NULL cannot load: each table's COPY fails on the
 * rows of the other, every row is deferred, and the rows meet again only in insertCycleTogether
 * (cycle-insert.ts), after two passes of the row-by-row path. When every table of the cycle is
 * empty in Postgres and has never been pushed, there is nothing to decide: every row is an insert.
 * Then each table's local rows are COPYed into a staging table and ONE statement inserts them all
 * (db/postgres/insert-together.ts insertStagedTogether), which Postgres accepts because it checks
 * the foreign keys at the end of the statement. The scan checkpoints ('done') and one 'table
 * reloaded' entry per table commit with the rows, as after the usual first-push COPY.
 *
 * Anything the statement cannot take (a row that needs a decision, a value Postgres refuses, a
 * parent missing from the cloud and the till alike) rolls it all back and the tables take the usual
 * path, which holds each such row with its reason. Returns the tables it loaded.
 */
export async function loadCycleTogether(ctx: RunContext, group: readonly TablePlan[], checkpoints: Map<string, PushCheckpoint>, results: ReadonlyMap<TablePlan, TableResult>): Promise<Set<TablePlan>> {
  const loaded = new Set<TablePlan>();
  if (ctx.dryRun || !(await allFresh(ctx, group, checkpoints))) return loaded;
  for (const t of group) await keyWaitingRows(ctx, t);
  const writeBacks = new Map<TablePlan, WriteBack[]>(group.map((t) => [t, []]));
  let counts: number[];
  try {
    counts = await ctx.pg.tx(
      async (client) => {
        await client.query(`SET LOCAL possync.bulk = 'on'`);
        const parts: StagedPart[] = group.map((t) => ({
          schema: ctx.plan.schema,
          table: t.name,
          columns: [...t.columns.map((c) => c.pg), ...t.constants.map((k) => k.pg)],
          text: slices(copyEncoder(ctx, t), { after: null, upTo: undefined }, writeBacks.get(t)!, () => {}),
        }));
        const inserted = await insertStagedTogether(client, parts);
        await client.query(`SET LOCAL possync.bulk = 'off'`);
        for (const [n, t] of group.entries()) {
          if (inserted[n]! > 0) await logReloaded(ctx, client, t);
          await writePushCheckpoint(client, ctx.plan.terminalId, t.name, { seq: checkpoints.get(t.name)?.seq ?? 0, scan: 'done' });
          const writeBack = writeBacks.get(t)!;
          if (writeBack.length > 0) beforeCommit(ctx, t, { items: [], held: [], writeBack, gone: [] }, noOutcome(), undefined);
        }
        return inserted;
      },
      { origin: ctx.plan.terminalId },
    );
  } catch (caught) {
    // A lost connection, a full disk, an abort: the run stops as it would anywhere. Anything else
    // (a row that needs a decision, a value or a missing parent Postgres refuses, no TEMPORARY
    // privilege) is left to the table-by-table path, which meets it row by row and says why.
    const err = asRunStopper(ctx, caught);
    if (stopsRun(err)) throw err;
    if (process.env.DEBUG) process.stderr.write(`possync: loading ${group.map((t) => t.name).join(', ')} together fell back to table by table: ${(err as Error).message}\n`);
    return loaded;
  }
  for (const [n, t] of group.entries()) {
    checkpoints.set(t.name, { seq: checkpoints.get(t.name)?.seq ?? 0, scan: 'done' });
    const r = results.get(t)!;
    r.inserted += counts[n]!;
    ctx.onProgress?.({ step: 'push', table: t.name, rows: r.inserted, total: r.inserted });
    loaded.add(t);
  }
  return loaded;
}

/**
 * Every table of the group pushes, COPYs straight into its target (INSERT rules would not route
 * rows inserted inside WITH), has never been scanned, holds no rows, and is empty in Postgres with
 * nothing changed there since this till last pulled it (canCopy).
 */
async function allFresh(ctx: RunContext, group: readonly TablePlan[], checkpoints: ReadonlyMap<string, PushCheckpoint>): Promise<boolean> {
  for (const t of group) {
    const cp = checkpoints.get(t.name);
    if (t.direction === 'pull' || writePathOf(t).copy !== 'direct') return false;
    if (cp && (cp.scan === 'done' || cp.scan.after !== null)) return false;
    if (heldKeys(ctx.sqlite.db, 'push', t.name).length > 0) return false;
  }
  for (const t of group) if (!(await canCopy(ctx, t, pulledSnapshot(ctx.sqlite.db, ctx.plan.terminalId, t.name)))) return false;
  return true;
}

function noOutcome() {
  return { inserted: 0, updated: 0, deleted: 0, unchanged: 0, conflicts: [], held: [], done: [], lost: [], refused: [], next: [], aside: [], partial: [], resolved: [] };
}
