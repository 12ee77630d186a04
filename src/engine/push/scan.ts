import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { copyRows } from '../../db/postgres/copy.ts';
import type { PgClient } from '../../db/postgres/gateway.ts';
import { changeLogName } from '../../db/postgres/possync-schema.ts';
import { pgTable, sqliteIdent } from '../../db/quote.ts';
import type { RawRow, RawValue } from '../../db/sqlite/rows.ts';
import { readPullCheckpoint, writePushCheckpoint, type PushCheckpoint } from '../checkpoints.ts';
import { pendingLocalKeys } from '../pull/apply.ts';
import { recordPushConflicts } from '../conflicts.ts';
import { checkAborted, type RunContext } from '../context.ts';
import type { TablePlan } from '../plan/types.ts';
import type { TableResult } from '../result.ts';
import { applyPushBatch, type PushOutcome } from './apply.ts';
import { localColumns, localKeyString, prepareRows, type Prepared } from './prepare.ts';
import { beforeCommit, finishBatch, pushBatch, tally, withRetries, type BatchOptions } from './table.ts';

/** Full scans move at least this many rows per transaction: few, large transactions are much faster. */
export const FULL_SCAN_BATCH = 10_000;
/** Rows read, converted and streamed at a time inside a COPY, so Postgres parses while we read. */
const SLICE = 1_000;

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
  options: { pullFence: string | undefined; held: ReadonlySet<string> },
  result: TableResult,
): Promise<void> {
  const size = Math.max(ctx.config.batchSize, FULL_SCAN_BATCH);
  const read = agreedOnly(ctx, t, localReader(ctx, t));
  let bulk = !ctx.dryRun && (await canCopy(ctx, t, options.pullFence));
  while (cp.scan !== 'done') {
    checkAborted(ctx);
    const after = cp.scan.after;
    const batch: BatchOptions = { pullFence: options.pullFence, checkpoint: undefined, gcSeq: undefined, held: options.held };
    if (bulk) {
      const { outcome, prepared, next, copied } = await withRetries(() => copyBatch(ctx, t, read, after, size, cp.seq, options.pullFence));
      finishBatch(ctx, t, prepared, outcome, batch);
      tally(result, prepared, outcome);
      bulk = copied;
      cp.scan = next.scan;
    } else {
      const rows = read(after, size);
      const prepared = prepareRows(ctx.sqlite.db, ctx.plan, t, rows);
      batch.checkpoint = nextCheckpoint(cp.seq, rows, size);
      await pushBatch(ctx, t, prepared, batch, result);
      cp.scan = batch.checkpoint.scan;
    }
    ctx.onProgress?.({ step: 'push', table: t.name, rows: result.inserted + result.updated + result.unchanged });
  }
}

type Reader = (after: string[] | null, limit: number) => Array<{ lkey: string; raw: RawRow; pos: string[]; agreed?: boolean; skip?: boolean }>;

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
  const select = `SELECT ${[...(byRowid ? ['rowid'] : []), ...cols.map(sqliteIdent)].join(', ')} FROM ${sqliteIdent(t.sqliteName)}`;
  const first = db.prepare(`${select} ORDER BY ${order.join(', ')} LIMIT ?`).safeIntegers(true).raw(true);
  const rest = db.prepare(`${select} WHERE (${order.join(', ')}) > (${order.map(() => '?').join(', ')}) ORDER BY ${order.join(', ')} LIMIT ?`).safeIntegers(true).raw(true);
  const offset = byRowid ? 1 : 0;
  return (after, limit) => {
    const arrays = (after ? rest.all(...after, limit) : first.all(limit)) as RawValue[][];
    return arrays.map((a) => {
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
  return (after, limit) => {
    const rows = read(after, limit);
    const pending = pendingLocalKeys(ctx, t, rows.map((r) => r.lkey));
    return rows.map((r) => ({ ...r, agreed: !pending.has(r.lkey), skip: pending.has(r.lkey) }));
  };
}

function nextCheckpoint(seq: number, rows: ReadonlyArray<{ pos: string[] }>, size: number): PushCheckpoint {
  const last = rows.at(-1);
  return { seq, scan: rows.length < size || !last ? 'done' : { after: last.pos } };
}

/**
 * COPY skips the per-row decision, so it is only used where every decision would be "insert":
 * the Postgres table is empty and nobody else has changed (deleted) anything in it since this
 * terminal last pulled it; otherwise a row the terminal merely pulled earlier, and another
 * terminal deleted since, would come back.
 */
async function canCopy(ctx: RunContext, t: TablePlan, pullFence: string | undefined): Promise<boolean> {
  const rows = await ctx.pg.query<{ ok: boolean }>(
    `SELECT NOT EXISTS (SELECT 1 FROM ${pgTable(ctx.plan.schema, t.name)})
        AND NOT EXISTS (SELECT 1 FROM possync.changes WHERE tbl = $1 AND xid >= $2::xid8 AND origin IS DISTINCT FROM $3) AS ok`,
    [changeLogName(ctx.plan.schema, t.name), pullFence ?? '0', ctx.plan.terminalId],
  );
  return rows[0]?.ok === true;
}

/**
 * One batch through COPY: rows are read and converted a slice at a time while the previous slices
 * stream to Postgres. Everything (rows, 'T' entry, checkpoint) commits together.
 */
async function copyBatch(ctx: RunContext, t: TablePlan, read: Reader, after: string[] | null, size: number, seq: number, pullFence: string | undefined) {
  return ctx.pg.tx(
    async (client) => {
      const prepared: Prepared = { items: [], held: [], writeBack: [], gone: [] };
      let rows = 0;
      let lastPos: string[] | undefined;
      let cursor = after;
      const columns = [...t.columns.map((c) => c.pg), ...t.constants.map((k) => k.pg)];
      async function* slices() {
        while (rows < size) {
          const slice = read(cursor, Math.min(SLICE, size - rows));
          if (slice.length === 0) return;
          const p = prepareRows(ctx.sqlite.db, ctx.plan, t, slice);
          prepared.items.push(...p.items);
          prepared.held.push(...p.held);
          prepared.writeBack.push(...p.writeBack);
          rows += slice.length;
          lastPos = slice.at(-1)!.pos;
          cursor = lastPos;
          yield p.items.map((i) => [...t.columns.map((c) => i.row![c.pg] ?? null), ...t.constants.map((k) => k.value)]);
          if (slice.length < SLICE) return;
          await yieldToLoop();
        }
      }
      const copied = await tryCopy(ctx, client, t, columns, slices(), () => prepared.items.length > 0);
      let outcome: PushOutcome;
      if (copied) {
        outcome = { inserted: prepared.items.length, updated: 0, deleted: 0, unchanged: 0, conflicts: [], held: [], done: [...prepared.items], lost: [], refused: [] };
      } else {
        // Read the whole batch again and let the decision path sort it out.
        const all = read(after, size);
        const again = prepareRows(ctx.sqlite.db, ctx.plan, t, all);
        Object.assign(prepared, again);
        rows = all.length;
        lastPos = all.at(-1)?.pos;
        outcome = await applyPushBatch(client, ctx.plan, t, prepared.items, pullFence);
        await recordPushConflicts(client, ctx.plan.terminalId, t, outcome.conflicts);
      }
      const next: PushCheckpoint = { seq, scan: rows < size || !lastPos ? 'done' : { after: lastPos } };
      await writePushCheckpoint(client, ctx.plan.terminalId, t.name, next);
      beforeCommit(ctx, t, prepared, outcome, undefined);
      return { outcome, prepared, next, copied };
    },
    { origin: ctx.plan.terminalId },
  );
}

/** COPY inside a savepoint, logging one 'T' entry; false (and everything undone) if Postgres refused any of it. */
async function tryCopy(
  ctx: RunContext,
  client: PgClient,
  t: TablePlan,
  columns: string[],
  rows: AsyncIterable<Array<Array<string | null>>>,
  copiedAny: () => boolean,
): Promise<boolean> {
  await client.query(`SAVEPOINT possync_copy; SET LOCAL possync.bulk = 'on'`);
  try {
    await copyRows(client, ctx.plan.schema, t.name, columns, rows);
    // Other terminals resync a table with a 'T' entry: only worth it when rows actually came.
    if (copiedAny()) {
      await client.query(`INSERT INTO possync.changes (tbl, op, origin, keys) VALUES ($1, 'T', $2, '[]'::jsonb)`, [changeLogName(ctx.plan.schema, t.name), ctx.plan.terminalId]);
    }
    await client.query(`SET LOCAL possync.bulk = 'off'; RELEASE SAVEPOINT possync_copy`);
    return true;
  } catch (err) {
    if (process.env.POSSYNC_DEBUG_COPY) console.error('COPY fell back:', err);
    await client.query(`ROLLBACK TO SAVEPOINT possync_copy; RELEASE SAVEPOINT possync_copy`);
    return false;
  }
}
