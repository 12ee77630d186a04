import { canCopy, bulkCopyScan } from './bulk-copy.ts';
import { sqliteIdent } from '../../db/quote.ts';
import { orderedScan } from '../../db/sqlite/ordered-scan.ts';
import type { RawRow } from '../../db/sqlite/rows.ts';
import { readPullCheckpoint, type PullSnapshot, type PushCheckpoint } from '../checkpoints.ts';
import { pendingLocalKeys } from '../pull/apply.ts';
import { checkAborted, type RunContext } from '../context.ts';
import type { TablePlan } from '../plan/types.ts';
import type { TableResult } from '../result.ts';
import { localColumns, localKeyString, prepareRows } from './prepare.ts';
import { pushBatch, type BatchOptions } from './table.ts';
import { skipUnkeyed } from './cloud-keys.ts';

/** Full scans move at least this many rows per transaction: few, large transactions are much faster. */
export const FULL_SCAN_BATCH = 10_000;

/**
 * The first push of a table (and the first after a reset): every local row, in key order, with
 * the scan position checkpointed in Postgres after each batch. Into an empty Postgres table the
 * rows go by COPY, the fastest path there is, logging one 'table reloaded' entry instead of every
 * key (other terminals then resync the table by key ranges). If COPY meets anything it cannot
 * take (a row another writer inserted meanwhile, a missing parent, a bad value), that batch falls
 * back to the row-by-row decision path inside the same transaction.
 */
export async function pushFullScan(
  ctx: RunContext,
  t: TablePlan,
  cp: PushCheckpoint,
  options: { pullFence: PullSnapshot | undefined; held: ReadonlySet<string> },
  result: TableResult,
): Promise<void> {
  const size = Math.max(ctx.config.batchSize, FULL_SCAN_BATCH);
  // How many rows the scan has in all, for progress a person can plan by (one count, ~50 ms per 1M rows).
  const total = ctx.onProgress ? ctx.sqlite.read(() => countLocalRows(ctx, t)) : undefined;
  const report = () => ctx.onProgress?.({ step: 'push', table: t.name, rows: result.inserted + result.updated + result.unchanged + result.rejected + result.deferred, total });
  const read = skipUnkeyed(ctx, t, agreedOnly(ctx, t, localReader(ctx, t)));
  const batch = (): BatchOptions => ({ pullFence: options.pullFence, checkpoint: undefined, gcSeq: undefined, held: options.held });
  /** One batch the row-by-row way: read, decide, write, checkpoint. */
  const slowBatch = async () => {
    const rows = read(cp.scan === 'done' ? null : cp.scan.after, size);
    const prepared = prepareRows(ctx.sqlite.db, ctx.plan, t, rows);
    const options = { ...batch(), checkpoint: nextCheckpoint(cp.seq, rows, size) };
    await pushBatch(ctx, t, prepared, options, result);
    cp.scan = options.checkpoint.scan;
  };
  if (!ctx.dryRun && (await canCopy(ctx, t, options.pullFence))) {
    await bulkCopyScan(ctx, t, cp, read, { pullFence: options.pullFence, batch, report }, result);
  }
  while (cp.scan !== 'done') {
    checkAborted(ctx);
    await slowBatch();
    report();
  }
}

function countLocalRows(ctx: RunContext, t: TablePlan): number {
  return (ctx.sqlite.db.prepare(`SELECT count(*) AS n FROM ${sqliteIdent(t.sqliteName)}`).get() as { n: number }).n;
}

/** Local rows in scan order after `after` (exclusive), up to `upTo` (inclusive) when given. */
export type Reader = (after: readonly string[] | null, limit: number, upTo?: readonly string[]) => Array<{ lkey: string; raw: RawRow; pos: string[]; agreed?: boolean; skip?: boolean }>;

/**
 * Local rows in table order after a position (exclusive). Rowid tables are read in rowid order:
 * a sequential walk of the table's b-tree, several times faster than following a text primary key
 * index. Rows inserted during the scan are in the change log anyway (the triggers came first).
 */
function localReader(ctx: RunContext, t: TablePlan): Reader {
  const db = ctx.sqlite.db;
  const cols = localColumns(t);
  const byRowid = !t.sqlite.withoutRowid;
  const order = byRowid ? ['rowid'] : t.localKey.map(sqliteIdent);
  const scan = orderedScan(db, sqliteIdent(t.sqliteName), [...(byRowid ? ['rowid'] : []), ...cols.map(sqliteIdent)], order);
  const offset = byRowid ? 1 : 0;
  return (after, limit, upTo) => {
    return scan.page(after, upTo, limit).map((a) => {
      const raw: RawRow = {};
      for (let i = 0; i < cols.length; i++) raw[cols[i]!] = a[i + offset] ?? null;
      const lkey = localKeyString(t, raw);
      return { lkey, raw, pos: byRowid ? [String(a[0])] : (JSON.parse(lkey) as string[]) };
    });
  };
}

/**
 * After this terminal has pulled the table, every local row without a logged change is what it
 * last agreed with Postgres (a pull overwrote or confirmed it, and possync has captured every edit
 * since). Such rows are marked agreed; rows with a logged change are left to the change-log phase
 * of this same run, which pushes them as the edits they are.
 */
function agreedOnly(ctx: RunContext, t: TablePlan, read: Reader): Reader {
  if (readPullCheckpoint(ctx.sqlite.db, ctx.plan.terminalId, t.name) === undefined) return read;
  return (after, limit, upTo) => {
    const rows = read(after, limit, upTo);
    const pending = pendingLocalKeys(ctx, t, rows.map((r) => r.lkey));
    return rows.map((r) => ({ ...r, agreed: !pending.has(r.lkey), skip: pending.has(r.lkey) }));
  };
}

function nextCheckpoint(seq: number, rows: ReadonlyArray<{ pos: string[] }>, size: number): PushCheckpoint {
  const last = rows.at(-1);
  return { seq, scan: rows.length < size || !last ? 'done' : { after: last.pos } };
}
