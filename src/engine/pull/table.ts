import type { PgClient } from '../../db/postgres/gateway.ts';
import { fetchRows, scanPage } from '../../db/postgres/rows.ts';
import { eachRow, lastRow, type CopyPage } from '../../db/postgres/copy-out.ts';
import { pgTable } from '../../db/quote.ts';
import { appliedSnapshot, pulledSnapshot, readPullCheckpoint, readPushCheckpoint, writePullCheckpoint, type PullCheckpoint, type PullSnapshot } from '../checkpoints.ts';
import { checkAborted, type RunContext } from '../context.ts';
import { heldKeys, settleDeferred } from '../held.ts';
import { keyString, parseKey, type Key } from '../keys.ts';
import type { TablePlan } from '../plan/types.ts';
import { MAX_REASONS, type TableResult } from '../result.ts';
import { pgRef, wireFromPgRow, wireFromPgTexts } from '../push/apply.ts';
import { fromPg } from '../values/codec.ts';
import type { WireRow } from '../decide.ts';
import { applyPullBatch } from './apply.ts';
import { bulkInsertRows, canBulkInsert } from './bulk-insert.ts';
import { pendingSweep, sweepUnseen, startResync } from './resync.ts';
import { ChangeWindow, probeWindows, type WindowProbe } from './window.ts';
import { PageSizer } from './page-size.ts';
import { below } from '../retention.ts';

let cursorCounter = 0;

/**
 * Rows per page of a full resync at most (page-size.ts keeps pages of wide rows smaller). Two
 * pages are in memory at once (one written while the next is read). Into an empty table (bulk
 * insert) a page is held as its COPY text (~125 bytes a row for the benchmark's products) and
 * split row by row as it is written. A 1M-row first pull peaked at 112-119 MB with 5,000-row
 * pages, 119-147 MB with 10,000 (the high figures on a machine loaded ~10x past its cores, where
 * V8's background collection lags) and 154 MB with 25,000, for the same CPU time at 5,000 and
 * 10,000; 2,500-row pages of JS arrays before COPY peaked at 135-140 MB.
 * Pages compared with the rows a till already holds carry several objects per row, and there
 * 1,000 was faster than 2,500 (21.9-22.7 s vs 23.5-25.6 s for 1M rows) and peaked lower (140 vs
 * 144-153 MB).
 */
const BULK_PAGE = 5_000;
const COMPARE_PAGE = 1_000;

/**
 * Pulls one table inside the pull's REPEATABLE READ snapshot `snap`: first rows held back last
 * time, then (first run, after a reset, or after a TRUNCATE) a full resync by key ranges, then the
 * change log between the table's checkpoint and this snapshot.
 */
export async function pullTable(ctx: RunContext, client: PgClient, t: TablePlan, snap: PullSnapshot, result: TableResult, probe?: WindowProbe): Promise<void> {
  const db = ctx.sqlite.db;
  const columns = t.columns.map((c) => ({ name: c.pg, castType: c.castType }));
  const scope = t.scope.map((s) => ({ name: s.pg, castType: s.castType, value: s.value }));
  const ref = pgRef(ctx.plan, t);
  const fetch = async (keys: Key[]) => (await fetchRows(client, ref, columns, keys, scope)).map((r) => wireFromPgRow(t, r));

  const held = await retryHeldPull(ctx, client, t, undefined, result);

  let cp: PullCheckpoint = readPullCheckpoint(db, ctx.plan.terminalId, t.name) ?? { xid: undefined, scan: undefined };
  // The table resyncs from scratch when the log cannot tell what happened since it was last read
  // (see logTrustedFrom): someone reloaded the table (a TRUNCATE, another terminal's bulk load,
  // logged without keys), or entries this terminal needs were pruned while it was silent for
  // longer than retentionDays.
  const from = logTrustedFrom(cp);
  if (from && (below(from.fence, ctx.prunedBelow) || (probe ??= await probeOne(ctx, client, t, from, snap)).reloaded)) {
    cp = { xid: undefined, scan: undefined };
  }

  const resynced = cp.xid === undefined || cp.scan !== undefined;
  if (resynced) {
    // A resync begun by an earlier pull goes on in this snapshot; the window after it then covers
    // everything since the snapshot it began in.
    const scan = cp.scan ?? { fence: snap.fence, snapshot: snap.snapshot, after: null };
    await resyncTable(ctx, client, t, scan, held, result);
    cp = { xid: scan.fence, snapshot: scan.snapshot, scan: undefined };
  }

  // The probe was for the checkpoint's window; after a resync the window starts elsewhere.
  const changed = resynced ? undefined : probe?.changed;
  await pullWindow(ctx, client, t, appliedSnapshot(cp), snap, changed, held, fetch, result);

  await settleDeferredPull(ctx, client, t, result);
}

/**
 * Where this table's change log has to be trusted from: its checkpoint, or the snapshot a resync
 * begun by an earlier pull started in (its pages read so far came from there, and the window
 * after it reads the log from there). Nothing for a table never pulled, or a resync that has not
 * written a page yet (it just goes on).
 */
function logTrustedFrom(cp: PullCheckpoint): PullSnapshot | undefined {
  if (cp.scan) return cp.scan.after !== null ? appliedSnapshot(cp.scan) : undefined;
  return cp.xid !== undefined ? appliedSnapshot(cp) : undefined;
}

/**
 * Probes, in one statement, the change-log windows of the tables that have a checkpoint (not a
 * resync in progress). A table whose probe finds nothing, with no held rows and a checkpoint the
 * pruning has not passed, is quiet: its pull is only the new checkpoint (see markPulled).
 */
export async function probeTables(ctx: RunContext, client: PgClient, tables: readonly TablePlan[], snap: PullSnapshot): Promise<Map<TablePlan, WindowProbe>> {
  const plain: Array<{ t: TablePlan; from: PullSnapshot }> = [];
  for (const t of tables) {
    const from = pulledSnapshot(ctx.sqlite.db, ctx.plan.terminalId, t.name);
    // Below the pruned horizon the table resyncs whatever the log says: no probe.
    if (from && !below(from.fence, ctx.prunedBelow)) plain.push({ t, from });
  }
  const probes = await probeWindows(client, ctx.plan.schema, plain.map((p) => ({ table: p.t.name, from: p.from })), snap.fence, ctx.plan.terminalId);
  return new Map(plain.map((p) => [p.t, probes.get(p.t.name)!]));
}

/** One table's probe, for a table probeTables did not cover. */
async function probeOne(ctx: RunContext, client: PgClient, t: TablePlan, from: PullSnapshot, snap: PullSnapshot): Promise<WindowProbe> {
  return (await probeWindows(client, ctx.plan.schema, [{ table: t.name, from }], snap.fence, ctx.plan.terminalId)).get(t.name)!;
}

export function isQuiet(ctx: RunContext, t: TablePlan, probe: WindowProbe | undefined): boolean {
  if (!probe || probe.reloaded || probe.changed) return false;
  return heldKeys(ctx.sqlite.db, 'pull', t.name).length === 0;
}

/** A pull with nothing to apply: the table's checkpoint moves to this snapshot, with no query to Postgres. */
export function markPulled(ctx: RunContext, t: TablePlan, snap: PullSnapshot): void {
  if (ctx.dryRun) return;
  ctx.sqlite.immediate(() => writePullCheckpoint(ctx.sqlite.db, ctx.plan.terminalId, t.name, { xid: snap.fence, snapshot: snap.snapshot, scan: undefined }));
}

/** Retries this table's held pull rows (all, or only the deferred ones) from the pull's snapshot. */
async function retryHeldPull(ctx: RunContext, client: PgClient, t: TablePlan, kind: 'deferred' | undefined, result: TableResult): Promise<Set<string>> {
  const rows = heldKeys(ctx.sqlite.db, 'pull', t.name);
  const held = new Set(rows.map((h) => h.key));
  const retry = rows.filter((h) => kind === undefined || h.kind === kind);
  const columns = t.columns.map((c) => ({ name: c.pg, castType: c.castType }));
  const scope = t.scope.map((s) => ({ name: s.pg, castType: s.castType, value: s.value }));
  for (let i = 0; i < retry.length; i += ctx.config.batchSize) {
    const keys = retry.slice(i, i + ctx.config.batchSize).map((h) => parseKey(h.key));
    const found = (await fetchRows(client, pgRef(ctx.plan, t), columns, keys, scope)).map((r) => wireFromPgRow(t, r));
    applyPullBatch(ctx, t, { keys, rows: found, deletedAt: new Map() }, { held }, result);
  }
  return held;
}

/** Retries rows deferred earlier in this pull while that makes progress (see settleDeferred). */
export async function settleDeferredPull(ctx: RunContext, client: PgClient, t: TablePlan, result: TableResult): Promise<void> {
  if (ctx.dryRun) return;
  await settleDeferred(ctx.sqlite.db, 'pull', t.name, () => retryHeldPull(ctx, client, t, 'deferred', result).then(() => {}), result, MAX_REASONS);
}

/** The change log between the table's checkpoint and the fence, streamed through a cursor. */
async function pullWindow(
  ctx: RunContext,
  client: PgClient,
  t: TablePlan,
  from: PullSnapshot,
  to: PullSnapshot,
  changed: boolean | undefined,
  held: ReadonlySet<string>,
  fetch: (keys: Key[]) => Promise<WireRow[]>,
  result: TableResult,
): Promise<void> {
  const batchSize = ctx.config.batchSize;
  // No early return when the fence has not moved: a long transaction elsewhere can pin it while
  // other changes commit above it, and those are applied now (the checkpoint's snapshot then
  // keeps the next pull from reading them again). An unknown window (after a resync) is opened:
  // an empty first page costs what an existence check would.
  if (changed === false) return markPulled(ctx, t, to);
  const { window, first } = await ChangeWindow.open(client, ctx.plan.schema, t.name, from, to.fence, ctx.plan.terminalId, ++cursorCounter, batchSize);
  if (first.length === 0) return markPulled(ctx, t, to);
  const done: PullCheckpoint = { xid: to.fence, snapshot: to.snapshot, scan: undefined };
  // A short page is the cursor's last: no round trip to be told so, and no CLOSE (an exhausted
  // cursor holds next to nothing, and the pull's COMMIT closes it).
  let exhausted = first.length < batchSize;
  try {
    let page = first;
    while (page.length > 0) {
      checkAborted(ctx);
      const following = exhausted ? [] : await window.next(batchSize);
      if (following.length < batchSize) exhausted = true;
      const keys = page.map((w) => t.key.map((k, i) => fromPg(k.family, w.key[i] ?? null) ?? ''));
      const deletedAt = new Map<string, string>();
      page.forEach((w, i) => {
        if (w.deletedAt) deletedAt.set(keyString(keys[i]!), fromPg('timestamptz', w.deletedAt)!);
      });
      // The checkpoint moves to the fence with the window's last batch, never before it.
      const checkpoint: PullCheckpoint | undefined = following.length === 0 ? done : undefined;
      applyPullBatch(ctx, t, { keys, rows: await fetch(keys), deletedAt }, { checkpoint, held }, result);
      ctx.onProgress?.({ step: 'pull', table: t.name, rows: result.inserted + result.updated + result.deleted + result.unchanged });
      page = following;
    }
  } finally {
    if (!exhausted) await window.close();
  }
}

/**
 * A full resync by key ranges inside the pull's snapshot, in large pages; the next page is
 * requested before the current one is written, so Postgres reads while SQLite writes.
 */
async function resyncTable(ctx: RunContext, client: PgClient, t: TablePlan, scan: NonNullable<PullCheckpoint['scan']>, held: ReadonlySet<string>, result: TableResult): Promise<void> {
  const columns = t.columns.map((c) => ({ name: c.pg, castType: c.castType }));
  const scope = t.scope.map((s) => ({ name: s.pg, castType: s.castType, value: s.value }));
  const ref = pgRef(ctx.plan, t);
  // Deleting local rows that Postgres lacks is only safe once every local row has been pushed.
  const sweep = t.direction === 'pull' || (await pushScanDone(ctx, client, t));
  const toSweep = scan.after === null && sweep && !ctx.dryRun ? startResync(ctx, t, scan) : pendingSweep(ctx, t);
  const final: PullCheckpoint = { xid: scan.fence, snapshot: scan.snapshot, scan: undefined };
  const bulk = !ctx.dryRun && scan.after === null && canBulkInsert(ctx.sqlite.db, t);
  // Pages are bounded in rows and, for wide rows, in characters (PageSizer).
  const sizer = new PageSizer(Math.max(ctx.config.batchSize, bulk ? BULK_PAGE : COMPARE_PAGE));
  // Into an empty terminal table rows come through COPY as a page of COPY text (no per-row
  // objects; see copy-out.ts).
  const keyIndex = t.key.map((k) => t.columns.indexOf(k));
  type Page = { limit: number; chars: number; last: Key | undefined; keys?: Key[]; rows?: WireRow[]; copy?: CopyPage };
  const load = async (from: string[] | null, limit: number): Promise<Page> => {
    if (bulk) {
      // Only the last key matters here (where the next page starts).
      const copy = await scanPage(client, ref, columns, from, limit, scope);
      const end = lastRow(copy);
      const last = end && keyIndex.map((i, j) => fromPg(t.key[j]!.codec, end[i] ?? null) ?? '');
      // Bytes of COPY text stand for characters: never fewer, so the page budget holds.
      return { limit, copy, chars: copy.data.length, last };
    }
    // Also through COPY: rows are built straight from its text, one object a row.
    const copy = await scanPage(client, ref, columns, from, limit, scope);
    const rows: WireRow[] = [];
    eachRow(copy, (texts) => rows.push(wireFromPgTexts(t, texts)));
    const keys = rows.map((r) => t.key.map((k) => r[k.pg] ?? ''));
    return { limit, rows, keys, chars: copy.data.length, last: keys.at(-1) };
  };
  // Rows to expect, for progress a person can plan by: Postgres' estimate (free), or a count of the
  // table when it has none yet (never analysed); asked only when someone listens.
  const total = ctx.onProgress ? await estimateRows(client, ref) : undefined;
  let after = scan.after;
  let page = load(after, sizer.next);
  for (;;) {
    checkAborted(ctx);
    const { keys, rows, copy, chars, last, limit } = await page;
    const count = copy ? copy.count : rows!.length;
    const done = count < limit;
    after = last ?? after;
    if (!done) {
      sizer.saw(count, chars);
      page = load(after, sizer.next);
      page.catch(() => {}); // observed when awaited; never an unhandled rejection if we stop early
    }
    // With a sweep pending, the final checkpoint is written by the sweep's transaction.
    const next: PullCheckpoint = done && !sweep ? final : { xid: undefined, scan: { ...scan, after } };
    if (copy) bulkInsertRows(ctx, t, copy, next, result);
    else applyPullBatch(ctx, t, { keys: keys!, rows: rows!, deletedAt: new Map() }, { checkpoint: next, resync: toSweep, held }, result);
    ctx.onProgress?.({ step: 'pull', table: t.name, rows: result.inserted + result.updated + result.unchanged + result.rejected + result.deferred, total });
    if (done) {
      if (sweep) sweepUnseen(ctx, t, result, final);
      return;
    }
  }
}

/**
 * Read on the pull's own connection, inside its snapshot (this terminal's pushes committed before
 * the pull began, and no other process pushes for it: the terminal lock). A second connection
 * taken while the pull holds one would wait forever behind a transaction-pooling proxy whose
 * pool the other tills' pulls fill, each waiting the same way.
 */
async function pushScanDone(ctx: RunContext, client: PgClient, t: TablePlan): Promise<boolean> {
  const cp = await readPushCheckpoint(client, ctx.plan.terminalId, t.name);
  return cp?.scan === 'done';
}

/** pg_class.reltuples when Postgres has an estimate (-1 or 0 before the first ANALYZE: then a count). */
async function estimateRows(client: PgClient, ref: { schema: string; table: string }): Promise<number> {
  const relation = pgTable(ref.schema, ref.table);
  const { rows } = await client.query<{ n: string }>(
    `SELECT CASE WHEN c.reltuples > 0 THEN c.reltuples::bigint ELSE (SELECT count(*) FROM ${relation}) END::text AS n FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [relation],
  );
  return Number(rows[0]?.n ?? 0);
}
