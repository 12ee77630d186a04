import { selectByKeys, type RawRow, type RawValue } from '../../db/sqlite/rows.ts';
import { withCaptureSuppressed } from '../../db/sqlite/rows.ts';
import { writePullCheckpoint, type PullCheckpoint } from '../checkpoints.ts';
import { recordPullConflicts, type ConflictEntry } from '../conflicts.ts';
import type { RunContext } from '../context.ts';
import { describeRow, keepLocalSpelling, localRowsToWire, wireRowsToLocal } from '../convert.ts';
import { decide, type Decision, type WireRow } from '../decide.ts';
import { LINK_PENDING, linkPendingKeys, recordHeld, releaseHeld, type HeldRow } from '../held.ts';
import { displayKey, keyString, type Key } from '../keys.ts';
import { writeLocal, type LocalOp } from '../local-write.ts';
import type { TablePlan } from '../plan/types.ts';
import { addReason, type TableResult } from '../result.ts';
import { localKeyString } from '../push/prepare.ts';
import { moveUnkeyedAside } from './make-room.ts';
import { fromSqlite } from '../values/codec.ts';
import { deleteBases, readBases, writeBases } from '../merge/base.ts';
import { isMerge, mergeColumns, type ColumnMerge } from '../merge/column-merge.ts';
import { rowsEqual } from '../decide.ts';
import { refuseImmutable } from '../merge/immutable.ts';
import { closeConflicts, readOpen, setAside, type AsideEntry } from '../manual/open-conflicts.ts';
import { differingColumns, settle, splitClash } from '../manual/settle.ts';

export interface PullBatch {
  /** Every key this batch is about (changed, deleted, or held). */
  keys: Key[];
  /** The current Postgres version of those keys that still exist (and are in scope). */
  rows: WireRow[];
  /** Delete times from the change log, for keys deleted in Postgres. */
  deletedAt: Map<string, string>;
}

export interface PullBatchOptions {
  /** Written in the same SQLite transaction as the rows. */
  checkpoint?: PullCheckpoint | undefined;
  /** Full resync with local rows to sweep: mark these keys as seen in _possync_resync. */
  resync?: boolean;
  /** Keys of this table's held pull rows: the ones that go through are released. */
  held?: ReadonlySet<string>;
}

interface LocalVersion {
  lkey: string;
  row: WireRow;
  raw: RawRow;
}

/**
 * Applies one pull batch to the terminal database: compare each incoming version with the local
 * row, let local changes that are not pushed yet contest it (conflict policy), hold back rows whose
 * parent is not here yet, and write everything with the checkpoint in one IMMEDIATE transaction.
 */
export function applyPullBatch(ctx: RunContext, t: TablePlan, batch: PullBatch, options: PullBatchOptions, result: TableResult): void {
  inPullTransaction(ctx, () => applyPullRows(ctx, t, batch, options, result));
}

/** An IMMEDIATE transaction with capture suppressed; in a dry run, the same work rolled back. */
export function inPullTransaction(ctx: RunContext, run: () => void): void {
  const db = ctx.sqlite.db;
  if (ctx.dryRun) {
    // Same work, rolled back: the counts are what a real run would do.
    try {
      ctx.sqlite.immediate(() => {
        withCaptureSuppressed(db, run);
        throw new DryRun();
      });
    } catch (err) {
      if (!(err instanceof DryRun)) throw err;
    }
    return;
  }
  ctx.sqlite.immediate(() => withCaptureSuppressed(db, run));
}

/** The body of applyPullBatch, for callers that already hold the transaction. */
export function applyPullRows(ctx: RunContext, t: TablePlan, batch: PullBatch, options: PullBatchOptions, result: TableResult): void {
  const db = ctx.sqlite.db;
  const plan = ctx.plan;
  const incoming = new Map(batch.rows.map((r) => [keyString(t.key.map((k) => r[k.pg] ?? '')), r]));
  // A row this till created under the same number as this cloud row is another row: it moves aside.
  moveUnkeyedAside(ctx, t, batch.keys);

  {
    // Local versions of these keys.
    const sharedCols = t.key.map((k) => k.sqlite);
    const cols = [...new Set([...t.localKey, ...t.columns.map((c) => c.sqlite)])];
    const raws = selectByKeys(db, t.sqliteName, sharedCols, cols, batch.keys);
    const asWire = localRowsToWire(db, plan, t, raws);
    const local = new Map<string, LocalVersion>();
    raws.forEach((raw, i) => {
      const conv = asWire[i]!;
      const keyRaw = t.key.map((k) => raw[k.sqlite] ?? null);
      const key = keyString(t.key.map((k, j) => fromSqlite(k.codec, keyRaw[j] ?? null) ?? ''));
      local.set(key, { lkey: localKeyString(t, raw), row: conv.ok ? conv.row : {}, raw });
    });

    // Local changes not pushed yet contest incoming versions.
    const pending = pendingLocalKeys(ctx, t, [...local.values()].map((l) => l.lkey));
    const pendingDeletes = pendingLocalDeletes(ctx, t, batch.keys.filter((k) => !local.has(keyString(k))));

    // Column merge: a row changed on both sides since they last agreed (its base) is merged per
    // column; what is written locally is the merged row, and the cloud's row becomes the base.
    const bases = readBases(db, plan, t, [...local.values()].map((l) => l.lkey));
    const merges = new Map<string, ColumnMerge>();
    const rebase: Array<{ lkey: string; row: WireRow }> = [];
    const clearBase: string[] = [];
    for (const [ks, loc] of local) {
      const base = bases.get(loc.lkey);
      if (!base) continue;
      const inc = incoming.get(ks);
      if (!pending.has(loc.lkey)) clearBase.push(loc.lkey);
      else if (inc && (!t.deleted || inc[t.deleted.pg] === null) && !rowsEqual(t.columns, inc, loc.row)) merges.set(ks, mergeColumns(t, base, loc.row, inc));
    }
    const rows = merges.size === 0 ? batch.rows : batch.rows.map((r) => merges.get(keyString(t.key.map((k) => r[k.pg] ?? '')))?.row ?? r);
    const toLocal = wireRowsToLocal(db, plan, t, rows);
    const converted = new Map<string, ReturnType<typeof wireRowsToLocal>[number]>();
    rows.forEach((r, i) => converted.set(keyString(t.key.map((k) => r[k.pg] ?? '')), toLocal[i]!));
    const missingParent = missingLocalParents(ctx, t, rows);
    // conflict "manual": rows with an open conflict, and rows set aside now (neither side's row is
    // overwritten; the checkpoint moves on, the open conflict remembers the row).
    const open = readOpen(db, t.name, batch.keys.map(keyString));
    const aside: AsideEntry[] = [];
    const agreed: ConflictEntry[] = [];
    // The local key of a row the till deleted (its delete is pending): prepared once per batch, asked only for such rows.
    const lastDelete = db.prepare(`SELECT lkey FROM _possync_changes WHERE tbl = ? AND op = 'D' AND skey = ? ORDER BY seq DESC LIMIT 1`);
    const deletedLkey = (ks: string) => (lastDelete.get(t.sqliteName, ks) as { lkey: string } | undefined)?.lkey ?? null;
    // Rows insert-then-link wrote earlier without their links: completing one is its insert.
    const linkPending = t.fks.length > 0 ? linkPendingKeys(db, 'pull', t.name, batch.keys.map(keyString)) : new Set<string>();

    const ops: Array<{ key: string; op: LocalOp; display: string }> = [];
    const held: HeldRow[] = [];
    const conflicts: ConflictEntry[] = [];
    const through: string[] = [];
    const superseded: Array<{ lkey: string } | { skey: string }> = [];
    const partial = new Set<string>();
    const notNull = new Set(t.sqlite.columns.filter((c) => c.notNull).map((c) => c.name));
    let unchanged = 0;
    for (const key of batch.keys) {
      const ks = keyString(key);
      const inc = incoming.get(ks);
      const loc = local.get(ks);
      const display = inc ? describeRow(t, inc) : `${t.name}:${displayKey(key)}`;
      const pendingDelete = pendingDeletes.get(ks);
      const contested = loc ? pending.has(loc.lkey) : pendingDelete !== undefined;
      const m = merges.get(ks);
      const oc = open.get(ks);
      if (oc || (m && t.conflict === 'manual' && m.clashing.length > 0)) {
        // Open already (the cloud's version is updated; a pull never carries out a decision, the
        // push does, with the cloud's row locked), or a column merge that clashed.
        const base = loc ? bases.get(loc.lkey) : undefined;
        const settled = oc ? settle(t, oc, pendingDelete !== undefined ? undefined : loc?.row, inc, base) : undefined;
        if (oc && !oc.decision && settled?.kind === 'resolve') {
          // Both sides hold the same row again: the conflict closes, nothing to write.
          agreed.push({ key: ks, winner: 'agreed', local: oc.till, server: oc.cloud, result: inc ?? undefined, columns: oc.columns });
          through.push(ks);
          continue;
        }
        const reopen = settled?.kind === 'aside' && settled.reopen;
        if (m && m.clashing.length > 0 && loc && inc && base) {
          // A column merge that clashed: the till takes the columns one side changed now, keeps
          // its own values in the clashing ones, and its base becomes the cloud's row with the
          // old base there (so its other changes still push, and the clash stays a clash).
          const split = splitClash(m.clashing, m.row, loc.row, base);
          rebase.push({ lkey: loc.lkey, row: splitClash(m.clashing, inc, loc.row, base).base });
          aside.push({ key: ks, lkey: loc.lkey, display, till: split.till, cloud: inc, columns: m.clashing, reopen, merge: { local: loc.row, server: inc, base, result: split.till } });
          const conv = wireRowsToLocal(db, plan, t, [split.till])[0]!;
          if (rowsEqual(t.columns, split.till, loc.row) || !conv.ok || conv.missing.length > 0) through.push(ks);
          else ops.push({ key: ks, op: { kind: 'update', lkey: loc.lkey, values: conv.values }, display });
          continue;
        }
        const columns = m ? m.clashing : differingColumns(t, loc?.row, inc);
        aside.push({ key: ks, lkey: loc?.lkey ?? oc?.lkey ?? deletedLkey(ks), display, till: loc?.row ?? null, cloud: inc ?? null, columns, reopen });
        through.push(ks);
        continue;
      }
      let d: Decision;
      if (m && loc && inc) {
        d = { action: rowsEqual(t.columns, m.row, loc.row) ? 'unchanged' : 'update', conflict: false };
        if (isMerge(m)) conflicts.push({ key: ks, winner: m.winner ?? 'merged', local: loc.row, server: inc, base: bases.get(loc.lkey), result: m.row, columns: m.clashing });
        // Nothing of the local change is left once merged: it must not be pushed again.
        if (rowsEqual(t.columns, m.row, inc)) superseded.push({ lkey: loc.lkey });
        else rebase.push({ lkey: loc.lkey, row: inc });
      } else {
        d = decide(t, 'pull', { row: inc, deletedAt: batch.deletedAt.get(ks) }, { row: loc?.row, deletedAt: pendingDelete }, contested);
        if (d.action === 'aside') {
          aside.push({ key: ks, lkey: loc?.lkey ?? deletedLkey(ks), display, till: loc?.row ?? null, cloud: inc ?? null, columns: differingColumns(t, loc?.row, inc), reopen: false });
          through.push(ks);
          continue;
        }
        if (t.immutable && loc && (d.action === 'update' || d.action === 'delete')) {
          // The till has the row: it is final. The cloud's edit is refused and listed, not
          // applied, and a local edit of it stays pending (the push refuses and lists it too).
          held.push(refuseImmutable(t, 'pull', d.action, ks, display));
          continue;
        }
        if (d.conflict) conflicts.push({ key: ks, winner: d.winner!, local: loc?.row ?? null, server: inc ?? null });
        // The local change lost: it must not be pushed later over the version that won.
        if (d.conflict && d.winner === 'server') superseded.push(loc ? { lkey: loc.lkey } : { skey: ks });
        if (d.action === 'delete' && loc && bases.has(loc.lkey)) clearBase.push(loc.lkey);
      }
      if (d.action === 'unchanged' || d.action === 'keep') {
        if (d.action === 'unchanged' && linkPending.has(ks)) result.inserted++;
        else if (d.action === 'unchanged') unchanged++;
        through.push(ks);
        continue;
      }
      if (d.action === 'delete') {
        ops.push({ key: ks, op: { kind: 'delete', lkey: loc!.lkey }, display });
        continue;
      }
      const conv = converted.get(ks)!;
      if (!conv.ok) {
        held.push({ side: 'pull', table: t.name, key: ks, kind: conv.kind, reason: conv.reason, display, detail: linkPending.has(ks) ? LINK_PENDING : undefined });
        continue;
      }
      const values = d.action === 'insert' ? conv.values : keepLocalSpelling(t, conv.values, m?.row ?? inc!, loc!.row, loc!.raw);
      const missing = [...conv.missing, ...(missingParent.get(ks) ?? [])];
      if (missing.length > 0) {
        // Insert-then-link: a row whose missing parents are all through nullable columns is
        // written without those links now (that breaks FK cycles) and linked when it is retried.
        const linkable = missing.every((m) => !notNull.has(m.sqlite));
        const detail = (linkable && d.action === 'insert') || linkPending.has(ks) ? LINK_PENDING : undefined;
        held.push({ side: 'pull', table: t.name, key: ks, kind: 'deferred', reason: `${display} waits for ${missing.map((m) => m.reason).join(', ')}`, display, detail });
        if (!linkable) continue;
        for (const m of missing) values[m.sqlite] = loc ? (loc.raw[m.sqlite] ?? null) : null;
        partial.add(ks);
      }
      ops.push({ key: ks, op: d.action === 'insert' ? { kind: 'insert', values } : { kind: 'update', lkey: loc!.lkey, values }, display });
    }

    const opened = setAside(db, t.name, aside, new Date().toISOString());
    closeConflicts(db, t.name, agreed.map((c) => c.key));
    recordPullConflicts(db, t, agreed, 'resolve');
    for (const a of aside) {
      if (opened.has(a.key)) conflicts.push({ key: a.key, winner: 'open', local: a.merge?.local ?? a.till, server: a.merge?.server ?? a.cloud, base: a.merge?.base, result: a.merge?.result, columns: a.columns });
    }

    const failures = writeLocal(db, t, ops.map((o) => o.op));
    const failed = new Set(failures.map((f) => f.op));
    for (const o of ops) {
      if (failed.has(o.op)) {
        held.push({ side: 'pull', table: t.name, key: o.key, kind: 'rejected', reason: `${o.display}: ${failures.find((f) => f.op === o.op)!.reason}`, display: o.display, detail: linkPending.has(o.key) ? LINK_PENDING : undefined });
        continue;
      }
      if (partial.has(o.key)) continue; // written without its links: still deferred
      through.push(o.key);
      if (o.op.kind === 'insert' || (o.op.kind === 'update' && linkPending.has(o.key))) result.inserted++;
      else if (o.op.kind === 'update') result.updated++;
      else result.deleted++;
    }
    result.unchanged += unchanged;
    result.conflicts += conflicts.length;
    for (const h of held) {
      if (h.kind === 'deferred') result.deferred++;
      else result.rejected++;
      addReason(result, h.reason);
    }
    recordHeld(db, held, ctx.startedAt);
    if (options.held && options.held.size > 0) releaseHeld(db, 'pull', t.name, through.filter((k) => options.held!.has(k)));
    recordPullConflicts(db, t, conflicts);
    dropLocalChanges(ctx, t, superseded);
    writeBases(db, plan, t, rebase);
    deleteBases(db, t, [...clearBase, ...superseded.flatMap((l) => ('lkey' in l ? [l.lkey] : []))]);
    if (options.resync) {
      const seen = db.prepare(`DELETE FROM _possync_resync WHERE tbl = ? AND key = ?`);
      for (const key of batch.keys) seen.run(t.name, keyString(key));
    }
    if (options.checkpoint) writePullCheckpoint(db, plan.terminalId, t.name, options.checkpoint);
  }
}

class DryRun extends Error {}

/** Local keys with a change not settled yet (in the change log, held back on the push side, or an open manual conflict). */
export function pendingLocalKeys(ctx: RunContext, t: TablePlan, lkeys: string[]): Set<string> {
  if (lkeys.length === 0 || t.direction === 'pull') return new Set();
  const db = ctx.sqlite.db;
  // A row with an open manual conflict counts as pending: the till's side of it is not settled.
  const manual = t.conflict === 'manual' ? `UNION SELECT lkey FROM _possync_open_conflicts WHERE tbl = ? AND lkey IN (SELECT value FROM json_each(?))` : '';
  const rows = db
    .prepare(
      `SELECT lkey FROM _possync_changes WHERE tbl = ? AND lkey IN (SELECT value FROM json_each(?))
       UNION SELECT key FROM _possync_held WHERE side = 'push' AND tbl = ? AND key IN (SELECT value FROM json_each(?)) ${manual}`,
    )
    .all(t.sqliteName, JSON.stringify(lkeys), t.name, JSON.stringify(lkeys), ...(manual ? [t.name, JSON.stringify(lkeys)] : [])) as { lkey: string }[];
  return new Set(rows.map((r) => r.lkey));
}

/** Keys deleted locally whose delete is not pushed yet, with when they were deleted. */
function pendingLocalDeletes(ctx: RunContext, t: TablePlan, keys: Key[]): Map<string, string> {
  if (keys.length === 0 || t.direction === 'pull') return new Map();
  const rows = ctx.sqlite.db
    .prepare(`SELECT skey, max(at) AS at FROM _possync_changes WHERE tbl = ? AND op = 'D' AND skey IN (SELECT value FROM json_each(?)) GROUP BY skey`)
    .all(t.sqliteName, JSON.stringify(keys.map(keyString))) as { skey: string; at: string }[];
  return new Map(rows.map((r) => [r.skey, fromSqlite({ family: 'timestamptz', affinity: 'TEXT' }, r.at) ?? r.at]));
}

/**
 * Rows whose parent (through a non-translated FK) is neither in the terminal database nor in this
 * batch. Translated FKs are checked while converting (no local id, no row).
 */
export function missingLocalParents(ctx: RunContext, t: TablePlan, rows: readonly WireRow[]): Map<string, Array<{ sqlite: string; reason: string }>> {
  const out = new Map<string, Array<{ sqlite: string; reason: string }>>();
  const db = ctx.sqlite.db;
  // A link around an FK cycle that Postgres enforces is not waited for: the row's parent is in
  // the same snapshot (Postgres would not have committed the row without it) and its table is
  // pulled in this same pull, so it arrives in this run. Waiting would be forever when the links
  // are NOT NULL: each side waits for the other.
  for (const fk of t.fks.filter((f) => !f.translate && !(f.enforced && f.inCycle))) {
    const parent = ctx.plan.byName.get(fk.refTable)!;
    const refCol = parent.columns.find((c) => c.pg === fk.refPg);
    if (!refCol) continue;
    const values = [...new Set(rows.map((r) => r[fk.column.pg]).filter((v): v is string => v !== null && v !== undefined))];
    const found = new Set(selectByKeys(db, parent.sqliteName, [refCol.sqlite], [refCol.sqlite], values.map((v) => [v])).map((r) => fromSqlite(refCol.codec, r[refCol.sqlite] ?? null)));
    const inBatch = fk.refTable === t.name ? new Set(rows.map((r) => r[fk.refPg])) : new Set();
    for (const r of rows) {
      const v = r[fk.column.pg];
      if (v === null || v === undefined || found.has(v) || inBatch.has(v)) continue;
      const ks = keyString(t.key.map((k) => r[k.pg] ?? ''));
      const list = out.get(ks) ?? [];
      list.push({ sqlite: fk.column.sqlite, reason: `${fk.column.pg} → ${fk.refTable}[${v}]` });
      out.set(ks, list);
    }
  }
  return out;
}
/** Forgets local changes that lost a conflict to the server version just written. */
function dropLocalChanges(ctx: RunContext, t: TablePlan, lost: ReadonlyArray<{ lkey: string } | { skey: string }>): void {
  if (lost.length === 0) return;
  const db = ctx.sqlite.db;
  const byLkey = db.prepare(`DELETE FROM _possync_changes WHERE tbl = ? AND lkey = ?`);
  const bySkey = db.prepare(`DELETE FROM _possync_changes WHERE tbl = ? AND op = 'D' AND skey = ?`);
  const heldPush = db.prepare(`DELETE FROM _possync_held WHERE side = 'push' AND tbl = ? AND key = ?`);
  for (const l of lost) {
    if ('lkey' in l) {
      byLkey.run(t.sqliteName, l.lkey);
      heldPush.run(t.name, l.lkey);
    } else bySkey.run(t.sqliteName, l.skey);
  }
}

