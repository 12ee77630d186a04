import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { unkeyedStopsCopy } from './cloud-keys.ts';
import type { PgClient } from '../../db/postgres/gateway.ts';
import { changeLogName, logReload } from '../../db/postgres/possync-schema.ts';
import { pgTable, sqliteIdent } from '../../db/quote.ts';
import { orderedScan } from '../../db/sqlite/ordered-scan.ts';
import { rowidRanges } from '../../db/sqlite/rowid-ranges.ts';
import { NEVER_PULLED, unseenSql, writePushCheckpoint, type PullSnapshot, type PushCheckpoint } from '../checkpoints.ts';
import { recordPushConflicts } from '../conflicts.ts';
import { checkAborted, type RunContext } from '../context.ts';
import type { TablePlan } from '../plan/types.ts';
import type { TableResult } from '../result.ts';
import { applyPushBatch, type PushOutcome } from './apply.ts';
import { sliceEncoder, type SliceEncoder } from './copy-encode.ts';
import { sqlSliceEncoder } from './copy-sql.ts';
import { prepareRows, type Prepared, type WriteBack } from './prepare.ts';
import type { Reader } from './scan.ts';
import { beforeCommit, finishBatch, tally, withRetries, type BatchOptions } from './table.ts';
import { copyRows } from './write-path.ts';

/** Rows per COPY transaction. */
const COPY_BATCH = 50_000;
/** Rows encoded and written to the COPY stream at a time, so Postgres parses while SQLite reads. */
const SLICE = 1_000;
/**
 * COPY transactions in flight at once, each on its own connection. Postgres parses each COPY in
 * one backend; two streams let it use a second core while possync encodes, and one stream keeps
 * flowing while the other commits.
 */
const LANES = 2;
/**
 * A table smaller than LANES full ranges is split into LANES ranges, so both lanes work on it,
 * but no range is smaller than this: below it a second transaction costs more than it saves.
 */
const MIN_RANGE = 5_000;

/**
 * COPY skips the per-row decision, so it is only used where every decision would be "insert":
 * the Postgres table is empty and nobody else has changed (deleted) anything in it since this
 * terminal last pulled it; otherwise a row the terminal merely pulled earlier, and another
 * terminal deleted since, would come back.
 */
export async function canCopy(ctx: RunContext, t: TablePlan, pullFence: PullSnapshot | undefined): Promise<boolean> {
  const since = pullFence ?? NEVER_PULLED;
  const rows = await ctx.pg.query<{ ok: boolean }>(
    `SELECT NOT EXISTS (SELECT 1 FROM ${pgTable(ctx.plan.schema, t.name)})
        AND NOT EXISTS (SELECT 1 FROM possync.changes c WHERE c.tbl = $1 AND ${unseenSql('$2', '$4')} AND c.origin IS DISTINCT FROM $3) AS ok`,
    [changeLogName(ctx.plan.schema, t.name), since.fence, ctx.plan.terminalId, since.snapshot],
  );
  return rows[0]?.ok === true;
}

/** The COPY text of a table's local rows: SQLite encodes it where it can, JavaScript otherwise. */
export function copyEncoder(ctx: RunContext, t: TablePlan): SliceEncoder {
  return unkeyedStopsCopy(ctx, t, sqlSliceEncoder(ctx.sqlite.db, ctx.plan, t) ?? sliceEncoder(ctx.sqlite.db, ctx.plan, t));
}

/** A range of the scan order: rows after `after` up to `upTo` (to the end when undefined). */
export interface Chunk {
  after: string[] | null;
  upTo: string[] | undefined;
}

interface ChunkDone {
  outcome: PushOutcome;
  prepared: Prepared;
  copied: boolean;
}

/**
 * The bulk part of a full scan: ranges of `COPY_BATCH` rows (their bounds found by walking the
 * scan order, so a range is known before it is read), each COPYed in its own transaction on one
 * of `LANES` connections, with SQLite encoding each range a slice at a time as its stream drains.
 *
 * Invariant: a range's transaction writes the scan checkpoint (the end of its range) only after
 * every earlier range has committed, so the checkpoint never passes rows that are not in Postgres;
 * ranges commit in order even though they are sent side by side.
 *
 * Returns as soon as a range needed the row-by-row path (Postgres refused the COPY, or a row needs
 * a decision), leaving the rest of the scan to the caller's row-by-row loop.
 */
export async function bulkCopyScan(ctx: RunContext, t: TablePlan, cp: PushCheckpoint, read: Reader, options: { pullFence: PullSnapshot | undefined; batch: () => BatchOptions; report: () => void }, result: TableResult): Promise<void> {
  if (cp.scan === 'done') return;
  const encoder = copyEncoder(ctx, t);
  const order = t.sqlite.withoutRowid ? t.localKey.map(sqliteIdent) : ['rowid'];
  const bounds = orderedScan(ctx.sqlite.db, sqliteIdent(t.sqliteName), order, order);
  // Range ends by rowid arithmetic where rowids are dense (no walk over every row to find them).
  const byRowid = t.sqlite.withoutRowid ? undefined : rowidRanges(ctx.sqlite.db, sqliteIdent(t.sqliteName), (rows) => Math.min(COPY_BATCH, Math.max(MIN_RANGE, Math.ceil(rows / LANES))));
  const rangeEnd = byRowid ?? ((from: string[] | null) => bounds.boundary(from, COPY_BATCH));
  let after: string[] | null = cp.scan.after;
  let previous: Promise<unknown> = Promise.resolve();
  const inFlight: Array<{ chunk: Chunk; done: Promise<ChunkDone> }> = [];
  let refused = false;

  const settle = async () => {
    const { chunk, done } = inFlight.shift()!;
    const { outcome, prepared, copied } = await done;
    finishBatch(ctx, t, prepared, outcome, options.batch());
    tally(result, prepared, outcome);
    cp.scan = chunk.upTo ? { after: chunk.upTo } : 'done';
    options.report();
    if (!copied) refused = true;
  };

  try {
    while (!refused) {
      checkAborted(ctx);
      const chunk: Chunk = { after, upTo: rangeEnd(after) };
      const checkpoint: PushCheckpoint = { seq: cp.seq, scan: chunk.upTo ? { after: chunk.upTo } : 'done' };
      const earlier = previous;
      const done = withRetries(ctx, t, () => copyChunk(ctx, t, encoder, chunk, checkpoint, earlier, read, options.pullFence));
      done.catch(() => {}); // awaited in order by settle(); never an unhandled rejection meanwhile
      previous = done;
      inFlight.push({ chunk, done });
      if (chunk.upTo === undefined) break;
      after = chunk.upTo;
      if (inFlight.length >= LANES) await settle();
    }
    while (inFlight.length > 0) await settle();
  } finally {
    // On an error, let every transaction still in flight finish (they roll back: each waits for
    // the one before it, which failed) before the error leaves this table.
    await Promise.allSettled(inFlight.map((f) => f.done));
  }
}

/**
 * One range in one transaction: COPY (logging one 'T' entry), or, when that cannot be done, the
 * row-by-row decision path for the same rows. The checkpoint and write-backs commit with them,
 * after the range before this one has committed.
 */
async function copyChunk(
  ctx: RunContext,
  t: TablePlan,
  encoder: SliceEncoder,
  chunk: Chunk,
  checkpoint: PushCheckpoint,
  earlier: Promise<unknown>,
  read: Reader,
  pullFence: PullSnapshot | undefined,
): Promise<ChunkDone> {
  return ctx.pg.tx(
    async (client) => {
      const writeBack: WriteBack[] = [];
      let rows = 0;
      const copied = await tryCopy(ctx, client, t, slices(encoder, chunk, writeBack, (n) => (rows += n)), () => rows > 0);
      let prepared: Prepared = { items: [], held: [], writeBack, gone: [] };
      let outcome: PushOutcome = { inserted: rows, updated: 0, deleted: 0, unchanged: 0, conflicts: [], held: [], done: [], lost: [], refused: [], next: [], aside: [], partial: [], resolved: [] };
      if (!copied) {
        prepared = prepareRows(ctx.sqlite.db, ctx.plan, t, read(chunk.after, COPY_BATCH, chunk.upTo));
        outcome = await applyPushBatch(client, ctx.plan, t, prepared.items, pullFence);
        await recordPushConflicts(client, ctx.plan.terminalId, t, outcome.conflicts);
      }
      await earlier; // throws if the range before failed: then this one must not commit either
      await writePushCheckpoint(client, ctx.plan.terminalId, t.name, checkpoint);
      beforeCommit(ctx, t, prepared, outcome, undefined);
      return { outcome, prepared, copied };
    },
    { origin: ctx.plan.terminalId },
  );
}

/** The range's COPY text, a slice at a time; a row that needs a decision stops it with NeedsDecision. */
export async function* slices(encoder: SliceEncoder, chunk: Chunk, writeBack: WriteBack[], count: (n: number) => void): AsyncGenerator<string | Buffer> {
  let after = chunk.after;
  for (;;) {
    const slice = encoder.next(after, SLICE, chunk.upTo);
    if (slice === 'end') return;
    if (slice === undefined) throw new NeedsDecision();
    writeBack.push(...slice.writeBack);
    count(slice.rows);
    yield slice.text;
    if (slice.rows < SLICE || slice.last === undefined) return;
    after = slice.last;
    await yieldToLoop();
  }
}

export class NeedsDecision extends Error {
  constructor() {
    super('a row of this range needs the row-by-row path');
  }
}

/** COPY inside a savepoint, logging one 'T' entry; false (and everything undone) if it could not be done. */
async function tryCopy(ctx: RunContext, client: PgClient, t: TablePlan, text: AsyncIterable<string | Buffer>, copiedAny: () => boolean): Promise<boolean> {
  const columns = [...t.columns.map((c) => c.pg), ...t.constants.map((k) => k.pg)];
  await client.query(`SAVEPOINT possync_copy; SET LOCAL possync.bulk = 'on'`);
  try {
    // Through a staging table when INSERT rules route the rows (COPY would ignore them).
    await copyRows(client, ctx.plan.schema, t, columns, text);
    // Other terminals resync the table on this entry instead of reading a key per row (only
    // worth it when rows actually came).
    if (copiedAny()) await logReloaded(ctx, client, t);
    await client.query(`SET LOCAL possync.bulk = 'off'; RELEASE SAVEPOINT possync_copy`);
    return true;
  } catch (err) {
    if (process.env.DEBUG && !(err instanceof NeedsDecision)) process.stderr.write(`possync: COPY into ${t.name} fell back to row by row: ${(err as Error).message}\n`);
    await client.query(`ROLLBACK TO SAVEPOINT possync_copy; RELEASE SAVEPOINT possync_copy`);
    return false;
  }
}

/** One 'table reloaded' entry in the cloud's change log: other terminals resync the table by key ranges. */
export async function logReloaded(ctx: RunContext, client: PgClient, t: TablePlan): Promise<void> {
  await logReload(client, changeLogName(ctx.plan.schema, t.name), ctx.plan.terminalId);
}
