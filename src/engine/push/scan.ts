import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { copyText } from '../../db/postgres/copy.ts';
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
import { localColumns, localKeyString, prepareRows, type Prepared, type WriteBack } from './prepare.ts';
import { sliceEncoder } from './copy-encode.ts';
import { sqlSliceEncoder } from './copy-sql.ts';
import { beforeCommit, finishBatch, pushBatch, tally, withRetries, type BatchOptions } from './table.ts';

/** Full scans move at least this many rows per transaction: few, large transactions are much faster. */
export const FULL_SCAN_BATCH = 10_000;
/** COPY batches are larger still: each commit briefly stalls the pipeline between SQLite and Postgres. */
const COPY_BATCH = 50_000;
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
    await bulkScan(ctx, t, cp, Math.max(size, COPY_BATCH), options.pullFence, batch, slowBatch, read, result);
  }
  while (cp.scan !== 'done') {
    checkAborted(ctx);
    await slowBatch();
    ctx.onProgress?.({ step: 'push', table: t.name, rows: result.inserted + result.updated + result.unchanged });
  }
}

/** A batch encoded for COPY: its text in slices, the scan positions around it, and write-backs. */
interface Chunk {
  after: string[] | null;
  text: string[];
  rows: number;
  writeBack: WriteBack[];
  last: string[] | null;
  /** The scan reached the end of the table with this chunk. */
  end: boolean;
  /** Some row needs a decision: this batch goes the row-by-row way. */
  slow: boolean;
}

/**
 * The COPY path, pipelined: while Postgres ingests one batch, the next is read from SQLite and
 * encoded a slice at a time (yielding to the event loop in between, so the socket keeps flowing).
 * Returns when the scan is done, or as soon as COPY meets something it cannot take, leaving the
 * rest to the row-by-row loop.
 */
async function bulkScan(
  ctx: RunContext,
  t: TablePlan,
  cp: PushCheckpoint,
  size: number,
  pullFence: string | undefined,
  batch: () => BatchOptions,
  slowBatch: () => Promise<void>,
  read: Reader,
  result: TableResult,
): Promise<void> {
  const encoder = sqlSliceEncoder(ctx.sqlite.db, ctx.plan, t) ?? sliceEncoder(ctx.sqlite.db, ctx.plan, t);
  const encode = async (after: string[] | null): Promise<Chunk> => {
    const chunk: Chunk = { after, text: [], rows: 0, writeBack: [], last: after, end: false, slow: false };
    while (chunk.rows < size) {
      const want = Math.min(SLICE, size - chunk.rows);
      const slice = encoder.next(chunk.last, want);
      if (slice === 'end') return { ...chunk, end: true };
      if (slice === undefined) return { ...chunk, slow: true };
      chunk.text.push(slice.text);
      chunk.writeBack.push(...slice.writeBack);
      chunk.rows += slice.rows;
      chunk.last = slice.last ?? chunk.last;
      if (slice.rows < want) return { ...chunk, end: true };
      await yieldToLoop();
    }
    return chunk;
  };
  let next = encode(cp.scan === 'done' ? null : cp.scan.after);
  for (;;) {
    checkAborted(ctx);
    const chunk = await next;
    if (chunk.slow) {
      await slowBatch();
      if (cp.scan === 'done') return;
      next = encode(cp.scan.after);
      continue;
    }
    const checkpoint: PushCheckpoint = { seq: cp.seq, scan: chunk.end ? 'done' : { after: chunk.last! } };
    const sending = withRetries(() => copyChunk(ctx, t, chunk, checkpoint, read, size, pullFence));
    sending.catch(() => {}); // awaited below; never an unhandled rejection while the next chunk encodes
    if (!chunk.end) next = encode(chunk.last);
    const { outcome, prepared, copied } = await sending;
    finishBatch(ctx, t, prepared, outcome, batch());
    tally(result, prepared, outcome);
    cp.scan = checkpoint.scan;
    ctx.onProgress?.({ step: 'push', table: t.name, rows: result.inserted + result.updated + result.unchanged });
    if (chunk.end || !copied) {
      if (!chunk.end) await next.catch(() => undefined); // encoded ahead for nothing: let it finish
      return;
    }
  }
}

/**
 * One chunk in one transaction: COPY (logging one 'T' entry), or, when Postgres refuses it, the
 * row-by-row decision path for the same rows; the checkpoint and write-backs commit with them.
 */
async function copyChunk(ctx: RunContext, t: TablePlan, chunk: Chunk, checkpoint: PushCheckpoint, read: Reader, size: number, pullFence: string | undefined) {
  return ctx.pg.tx(
    async (client) => {
      const columns = [...t.columns.map((c) => c.pg), ...t.constants.map((k) => k.pg)];
      let prepared: Prepared = { items: [], held: [], writeBack: chunk.writeBack, gone: [] };
      let outcome: PushOutcome;
      const copied = chunk.rows > 0 && (await tryCopy(ctx, client, t, columns, chunk.text));
      if (copied || chunk.rows === 0) {
        outcome = { inserted: chunk.rows, updated: 0, deleted: 0, unchanged: 0, conflicts: [], held: [], done: [], lost: [], refused: [] };
      } else {
        prepared = prepareRows(ctx.sqlite.db, ctx.plan, t, read(chunk.after, size));
        outcome = await applyPushBatch(client, ctx.plan, t, prepared.items, pullFence);
        await recordPushConflicts(client, ctx.plan.terminalId, t, outcome.conflicts);
      }
      await writePushCheckpoint(client, ctx.plan.terminalId, t.name, checkpoint);
      beforeCommit(ctx, t, prepared, outcome, undefined);
      return { outcome, prepared, copied };
    },
    { origin: ctx.plan.terminalId },
  );
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

/** COPY inside a savepoint, logging one 'T' entry; false (and everything undone) if Postgres refused any of it. */
async function tryCopy(ctx: RunContext, client: PgClient, t: TablePlan, columns: string[], text: readonly string[]): Promise<boolean> {
  await client.query(`SAVEPOINT possync_copy; SET LOCAL possync.bulk = 'on'`);
  try {
    await copyText(client, ctx.plan.schema, t.name, columns, text);
    // Other terminals resync the table on this entry instead of reading a key per row.
    await client.query(`INSERT INTO possync.changes (tbl, op, origin, keys) VALUES ($1, 'T', $2, '[]'::jsonb)`, [changeLogName(ctx.plan.schema, t.name), ctx.plan.terminalId]);
    await client.query(`SET LOCAL possync.bulk = 'off'; RELEASE SAVEPOINT possync_copy`);
    return true;
  } catch (err) {
    if (process.env.POSSYNC_DEBUG_COPY) console.error('COPY fell back:', err);
    await client.query(`ROLLBACK TO SAVEPOINT possync_copy; RELEASE SAVEPOINT possync_copy`);
    return false;
  }
}
