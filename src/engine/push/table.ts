import { setTimeout as sleep } from 'node:timers/promises';
import { isPgLockTimeout, isPgRetryable } from '../../db/postgres/errors.ts';
import { RowLockWaits } from '../../db/postgres/row-locks.ts';
import type { PgClient } from '../../db/postgres/gateway.ts';
import { withCaptureSuppressed } from '../../db/sqlite/rows.ts';
import { pulledSnapshot, pushCheckpointSetting, type PullSnapshot, type PushCheckpoint } from '../checkpoints.ts';
import { writeSettings } from '../../db/postgres/settings.ts';
import { recordPushConflicts } from '../conflicts.ts';
import { checkAborted, DryRunRollback, type RunContext } from '../context.ts';
import { keepLocalSpelling, wireRowsToLocal } from '../convert.ts';
import { heldKeys, linkPendingKeys, recordHeld, releaseHeld, settleDeferred } from '../held.ts';
import { parseKey } from '../keys.ts';
import { pgTable, sqliteIdent } from '../../db/quote.ts';
import { writeLocal, type LocalOp } from '../local-write.ts';
import type { TablePlan } from '../plan/types.ts';
import { addReason, MAX_REASONS, type TableResult } from '../result.ts';
import { applyPushBatch, type PushOutcome } from './apply.ts';
import { adoptNaturalKeys } from './natural-key.ts';
import { assignCloudKeys, deferUnkeyedReferences, keyWaitingRows } from './cloud-keys.ts';
import { preparePush, presentLocally, readLocalVersions, type LocalChange, type Prepared } from './prepare.ts';
import { pushFullScan } from './scan.ts';
import { recordRetry } from '../retries.ts';
import { applyNext, mergeTokenSetting, newToken, stageNext } from '../merge/base.ts';
import { recoverPushedBatch } from './recover.ts';
import { readOpen } from '../manual/open-conflicts.ts';
import { decidedChanges, finishPartial, finishResolved, recordAside } from '../manual/push.ts';

// Deadlocks are detected after deadlock_timeout (1 s by default): allow several, backing off.
const MAX_ATTEMPTS = 8;


/**
 * Pushes one table from its checkpoint as stored (`stored`): first the rows held back last time, then (once) a full scan of the table,
 * then the change log in commit order. Each batch commits in Postgres together with its
 * checkpoint; the local change log is trimmed only after that commit.
 */
export async function pushTable(ctx: RunContext, t: TablePlan, result: TableResult, stored: PushCheckpoint | undefined): Promise<void> {
  const db = ctx.sqlite.db;
  await recoverPushedBatch(ctx, t);
  // assignKey "cloud": rows the till created take their keys from the cloud's sequence first.
  await keyWaitingRows(ctx, t);
  // Read for all tables at the start of the step; only this table's own batches write it.
  const cp: PushCheckpoint = stored ? { ...stored } : { seq: 0, scan: { after: null } };
  const pullFence = pulledSnapshot(db, ctx.plan.terminalId, t.name);
  const batchSize = ctx.config.batchSize;

  const heldSet = await retryHeldPush(ctx, t, pullFence, undefined, result);
  // conflict "manual": carry out what an admin decided (possync conflicts resolve).
  const decided = ctx.dryRun ? [] : decidedChanges(db, t);
  for (let i = 0; i < decided.length; i += batchSize) {
    const prepared = ctx.sqlite.read(() => preparePush(db, ctx.plan, t, decided.slice(i, i + batchSize)));
    await pushBatch(ctx, t, prepared, { pullFence, checkpoint: undefined, gcSeq: undefined, held: heldSet }, result);
  }

  // Rows that existed before possync's triggers: one pass over the whole table, in key order.
  if (cp.scan !== 'done') await pushFullScan(ctx, t, cp, { pullFence, held: heldSet }, result);

  // The change log, up to what existed when this table started (a busy till cannot keep us here).
  const { maxSeq } = db.prepare(`SELECT coalesce(max(seq), 0) AS maxSeq FROM _possync_changes WHERE tbl = ?`).get(t.sqliteName) as { maxSeq: number };
  const read = db.prepare(`SELECT seq, lkey, op, skey, at FROM _possync_changes WHERE tbl = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`);
  while (cp.seq < maxSeq) {
    checkAborted(ctx);
    const entries = read.all(t.sqliteName, cp.seq, maxSeq, batchSize) as Array<{ seq: number; lkey: string; op: 'U' | 'D'; skey: string | null; at: string | null }>;
    if (entries.length === 0) break;
    // Coalesce: the last entry of a key decides (an insert then a delete pushes only the delete).
    const last = new Map<string, LocalChange>();
    for (const e of entries) {
      last.delete(e.lkey);
      last.set(e.lkey, { lkey: e.lkey, op: e.op, skey: e.skey, at: e.at });
    }
    const seq = entries.at(-1)!.seq;
    const prepared = ctx.sqlite.read(() => preparePush(db, ctx.plan, t, [...last.values()]));
    await pushBatch(ctx, t, prepared, { pullFence, checkpoint: { seq, scan: 'done' }, gcSeq: seq, held: heldSet }, result);
    cp.seq = seq;
  }
  await settleDeferredPush(ctx, t, pullFence, result);
}

/**
 * Retries this table's held rows (all of them, or only the deferred ones). Returns the keys that
 * were held before the retry, so later batches can release any of them that go through.
 */
export async function retryHeldPush(ctx: RunContext, t: TablePlan, pullFence: PullSnapshot | undefined, kind: 'deferred' | undefined, result: TableResult): Promise<Set<string>> {
  const db = ctx.sqlite.db;
  const held = heldKeys(db, 'push', t.name).filter((h) => kind === undefined || h.kind === kind);
  const heldSet = new Set(heldKeys(db, 'push', t.name).map((h) => h.key));
  for (let i = 0; i < held.length; i += ctx.config.batchSize) {
    const slice = held.slice(i, i + ctx.config.batchSize);
    const back = ctx.sqlite.read(() => presentLocally(db, t, slice.map((h) => h.key)));
    const changes = slice.map((h): LocalChange => {
      // A held delete carries what the change log said (the local row is gone); other details
      // (LINK_PENDING) describe an upsert. A delete whose row is back (the app wrote it again, or
      // a pull did) is no longer the till's word on that row: the row is, whether or not the
      // change log still holds its re-insert (a run killed after its COMMIT trims it unreleased).
      const d = h.detail ? (JSON.parse(h.detail) as { op?: 'D'; skey: string | null; at: string | null }) : undefined;
      return d?.op === 'D' && !back.has(h.key) ? { lkey: h.key, op: 'D', skey: d.skey, at: d.at } : { lkey: h.key, op: 'U', skey: null, at: null };
    });
    const prepared = ctx.sqlite.read(() => preparePush(db, ctx.plan, t, changes));
    await pushBatch(ctx, t, prepared, { pullFence, checkpoint: undefined, gcSeq: undefined, held: heldSet }, result);
  }
  return heldSet;
}

/** Retries rows deferred earlier in this run while that makes progress (see settleDeferred). */
export async function settleDeferredPush(ctx: RunContext, t: TablePlan, pullFence: PullSnapshot | undefined, result: TableResult): Promise<void> {
  if (ctx.dryRun) return;
  await settleDeferred(ctx.sqlite.db, 'push', t.name, () => retryHeldPush(ctx, t, pullFence, 'deferred', result).then(() => {}), result, MAX_REASONS);
}

export interface BatchOptions {
  /** What this terminal last pulled of the table (undefined before its first completed pull). */
  pullFence: PullSnapshot | undefined;
  /** Written in the batch's Postgres transaction; undefined for retries of held rows. */
  checkpoint: PushCheckpoint | undefined;
  /** Change-log entries up to this seq are covered by the batch and trimmed after the commit. */
  gcSeq: number | undefined;
  /** Local keys of this table's held rows: the ones that go through are released. */
  held: ReadonlySet<string>;
}

export async function pushBatch(ctx: RunContext, t: TablePlan, prepared: Prepared, given: BatchOptions, result: TableResult): Promise<void> {
  const db = ctx.sqlite.db;
  // Rows the till created in a table whose keys the cloud assigns get one (the run's first
  // pass did most; these were inserted since). Then new rows that are an existing cloud row
  // under another key (naturalKey) take that key, and rows whose parent has no key yet wait.
  const keyed = await assignCloudKeys(ctx, t, prepared);
  const adopted = await adoptNaturalKeys(ctx, t, prepared, result);
  deferUnkeyedReferences(ctx, t, prepared);
  const renamed = new Map([...keyed].map(([from, to]) => [from, adopted.get(to) ?? to]));
  for (const [from, to] of adopted) if (!renamed.has(from)) renamed.set(from, to);
  const options = renamed.size === 0 ? given : { ...given, held: new Set([...given.held].map((k) => renamed.get(k) ?? k)) };
  if (prepared.items.length === 0 && !options.checkpoint && prepared.held.length === 0) {
    if (!ctx.dryRun) ctx.sqlite.immediate(() => releaseHeld(db, 'push', t.name, prepared.gone.filter((k) => options.held.has(k))));
    return;
  }
  if (t.fks.length > 0) {
    // Rows insert-then-link already wrote without a link: this batch may complete their insert.
    const pending = linkPendingKeys(db, 'push', t.name, prepared.items.map((i) => i.lkey));
    for (const i of prepared.items) if (pending.has(i.lkey)) i.linkPending = true;
  }
  // Open manual conflicts of these rows: they stay set aside, or a decision is carried out.
  const open = readOpen(db, t.name, prepared.items.map((i) => i.keyStr));
  const outcome = await withRetries(ctx, t, () => applyInPostgres(ctx, t, prepared, options, (client) => applyPushBatch(client, ctx.plan, t, prepared.items, options.pullFence, open)));
  if (!ctx.dryRun) finishBatch(ctx, t, prepared, outcome, options);
  tally(result, prepared, outcome);
  ctx.onProgress?.({ step: 'push', table: t.name, rows: result.inserted + result.updated + result.deleted + result.unchanged });
}

/**
 * One Postgres transaction for a batch: `apply` writes the rows, then conflicts and the checkpoint
 * go in with them, and the SQLite side records what must survive a crash before the COMMIT.
 */
export async function applyInPostgres(ctx: RunContext, t: TablePlan, prepared: Prepared, options: BatchOptions, apply: (client: PgClient) => Promise<PushOutcome>): Promise<PushOutcome> {
  try {
    return await ctx.pg.tx(
      async (client) => {
        const outcome = await apply(client);
        if (ctx.dryRun) throw new DryRunRollback(outcome);
        await recordPushConflicts(client, ctx.plan.terminalId, t, outcome.conflicts);
        if (outcome.next.length > 0) outcome.token = newToken();
        // The checkpoint and column merge's token in one statement.
        await writeSettings(client, [
          ...(options.checkpoint ? [pushCheckpointSetting(ctx.plan.terminalId, t.name, options.checkpoint)] : []),
          ...(outcome.token ? [mergeTokenSetting(ctx.plan.terminalId, t.name, outcome.token)] : []),
        ]);
        beforeCommit(ctx, t, prepared, outcome, options.gcSeq);
        return outcome;
      },
      // A batch with rows starts by locking them, with their total wait bounded (row-locks.ts).
      { origin: ctx.plan.terminalId, lockPhase: prepared.items.length > 0 },
    );
  } catch (err) {
    if (err instanceof DryRunRollback) return err.outcome as PushOutcome;
    throw err;
  }
}

/**
 * Just before the Postgres COMMIT: ids assigned here must survive a crash (a retry reuses them),
 * held rows must not be forgotten, and the in-flight marker lets the next run tell whether the
 * commit happened.
 */
export function beforeCommit(ctx: RunContext, t: TablePlan, prepared: Prepared, outcome: PushOutcome, gcSeq: number | undefined): void {
  const db = ctx.sqlite.db;
  if (prepared.writeBack.length === 0 && prepared.held.length === 0 && outcome.held.length === 0 && gcSeq === undefined && !outcome.token && outcome.aside.length === 0) return;
  ctx.sqlite.immediate(() =>
    withCaptureSuppressed(db, () => {
      writeBack(ctx, t, prepared);
      // Before the trim of the change log: a set-aside row must never be only in the log.
      recordAside(db, t, outcome.aside);
      if (outcome.token) stageNext(db, t, outcome.token, outcome.next);
      recordHeld(db, [...prepared.held, ...outcome.held], ctx.startedAt);
      if (gcSeq !== undefined) db.prepare(`INSERT OR REPLACE INTO _possync_inflight (tbl, seq) VALUES (?, ?)`).run(t.sqliteName, gcSeq);
    }),
  );
}

/** After the Postgres commit: trim the change log, release rows that went through, and write back the winning server version of rows that lost a conflict. */
export function finishBatch(ctx: RunContext, t: TablePlan, prepared: Prepared, outcome: PushOutcome, options: BatchOptions): void {
  const db = ctx.sqlite.db;
  if (options.gcSeq === undefined && options.held.size === 0 && outcome.lost.length === 0 && outcome.refused.length === 0 && !outcome.token && outcome.resolved.length === 0 && outcome.partial.length === 0) return;
  ctx.sqlite.immediate(() =>
    withCaptureSuppressed(db, () => {
      if (options.gcSeq !== undefined) {
        db.prepare(`DELETE FROM _possync_changes WHERE tbl = ? AND seq <= ?`).run(t.sqliteName, options.gcSeq);
        db.prepare(`DELETE FROM _possync_inflight WHERE tbl = ?`).run(t.sqliteName);
      }
      if (options.held.size > 0) releaseHeld(db, 'push', t.name, [...outcome.done.map((i) => i.lkey), ...outcome.refused.map((r) => r.item.lkey), ...prepared.gone].filter((k) => options.held.has(k)));
      writeLostLocally(ctx, t, outcome, options.gcSeq);
      // After the trim and the releases: what is still pending locally now is newer than the batch.
      if (outcome.token) applyNext(db, ctx.plan, t, outcome.token);
      finishPartial(db, ctx.plan, t, outcome.partial, options.gcSeq);
      finishResolved(db, ctx.plan, t, outcome.resolved);
    }),
  );
}

function writeLostLocally(ctx: RunContext, t: TablePlan, outcome: PushOutcome, gcSeq: number | undefined): void {
  if (outcome.lost.length === 0) return;
  const db = ctx.sqlite.db;
  const newer = db.prepare(`SELECT 1 FROM _possync_changes WHERE tbl = ? AND lkey = ? AND seq > ? LIMIT 1`);
  const lost = outcome.lost.filter((l) => !newer.get(t.sqliteName, l.item.lkey, gcSeq ?? 0));
  const withRows = lost.filter((l) => l.server);
  const converted = wireRowsToLocal(db, ctx.plan, t, withRows.map((l) => l.server!));
  const local = readLocalVersions(db, ctx.plan, t, withRows.filter((l) => l.item.row).map((l) => l.item.lkey));
  const ops: LocalOp[] = [];
  withRows.forEach((l, i) => {
    const conv = converted[i]!;
    if (!conv.ok) return;
    const mine = local.get(l.item.lkey);
    if (!l.item.row) ops.push({ kind: 'insert', values: conv.values });
    else ops.push({ kind: 'update', lkey: l.item.lkey, values: mine ? keepLocalSpelling(t, conv.values, l.server!, mine.row, mine.raw) : conv.values });
  });
  for (const l of lost.filter((x) => !x.server && x.item.row)) ops.push({ kind: 'delete', lkey: l.item.lkey });
  writeLocal(db, t, ops);
}

export function writeBack(ctx: RunContext, t: TablePlan, prepared: Prepared): void {
  const db = ctx.sqlite.db;
  const where = t.localKey.map((k) => `${sqliteIdent(k)} = ?`).join(' AND ');
  for (const wb of prepared.writeBack) {
    const cols = Object.keys(wb.set);
    db.prepare(`UPDATE ${sqliteIdent(t.sqliteName)} SET ${cols.map((c) => `${sqliteIdent(c)} = ?`).join(', ')} WHERE ${where}`).run(
      ...cols.map((c) => wb.set[c] ?? null),
      ...parseKey(wb.lkey),
    );
  }
}

/**
 * Runs one of a table's push transactions, trying again after a deadlock or serialization
 * failure, and after a wait for locked rows past lockTimeoutSeconds while RowLockWaits says so.
 */
export async function withRetries<T>(ctx: RunContext, t: TablePlan, fn: () => Promise<T>): Promise<T> {
  const locks = new RowLockWaits(ctx.pg, pgTable(ctx.plan.schema, t.name));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (isPgLockTimeout(err)) {
        if (!(await locks.again())) throw Object.assign(err as object, { possyncLockTries: locks.tries });
        // Spread the returning tills out (a second or two, at random, longer each time), so they
        // do not all rejoin the queue at the same moment.
        recordRetry('push', err);
        await sleep(500 * Math.min(locks.tries, 4) + Math.random() * 1_500);
        continue;
      }
      if (!isPgRetryable(err) || attempt >= MAX_ATTEMPTS) throw err;
      // Deadlock or serialization failure: the batch rolled back whole; retry after a short,
      // jittered pause (the apply is idempotent). Counted in the run's result (RunResult.retries).
      recordRetry('push', err);
      await sleep(Math.min(2_000, 20 * 2 ** attempt) + Math.random() * 100);
    }
  }
}

export function tally(result: TableResult, prepared: Prepared, outcome: PushOutcome): void {
  result.inserted += outcome.inserted;
  result.updated += outcome.updated;
  result.deleted += outcome.deleted;
  result.unchanged += outcome.unchanged;
  result.conflicts += outcome.conflicts.length;
  for (const r of outcome.refused) {
    result.refused++;
    result.rejected++;
    addReason(result, r.reason);
  }
  for (const h of [...prepared.held, ...outcome.held]) {
    if (h.kind === 'deferred') result.deferred++;
    else result.rejected++;
    addReason(result, h.reason);
  }
}

