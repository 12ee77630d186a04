import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { selectByKeys } from '../../db/sqlite/rows.ts';
import { recordPullConflicts, type ConflictEntry } from '../conflicts.ts';
import { localRowsToWire, wireRowsToLocal } from '../convert.ts';
import type { WireRow } from '../decide.ts';
import { keyString } from '../keys.ts';
import { writeLocal, type LocalOp } from '../local-write.ts';
import { deleteBases, writeBases } from '../merge/base.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import type { PushOutcome } from '../push/apply.ts';
import { localColumns, localKeyString, presentLocally, type LocalChange } from '../push/prepare.ts';
import { closeConflicts, readDecided, setAside, type AsideEntry } from './open-conflicts.ts';
import { differingColumns, sameVersion } from './settle.ts';

/**
 * The local changes that make a push carry out the conflicts an admin decided: the row as the
 * till holds it now (a delete when the till deleted it). The push then settles each one in its
 * Postgres transaction (push/apply.ts), with the cloud's row locked.
 */
export function decidedChanges(db: SqliteDb, t: TablePlan): LocalChange[] {
  const decided = readDecided(db, t.name);
  if (decided.length === 0) return [];
  const present = presentLocally(db, t, decided.map((oc) => oc.lkey ?? oc.key));
  return decided.map((oc): LocalChange => {
    const lkey = oc.lkey ?? oc.key;
    return present.has(lkey) ? { lkey, op: 'U', skey: null, at: null } : { lkey, op: 'D', skey: oc.key, at: oc.decidedAt };
  });
}

/** Before the Postgres COMMIT: the rows this batch set aside become (or stay) open conflicts. */
export function recordAside(db: SqliteDb, t: TablePlan, aside: readonly AsideEntry[]): void {
  setAside(db, t.name, aside, new Date().toISOString());
}

/**
 * After the Postgres COMMIT (same transaction as finishResolved): a column merge that clashed
 * left the merged columns in the cloud; the till takes them too, keeping its own values in the
 * clashing columns, and the base moves to what both now agree on. When the till changed the row
 * again since the batch read it, its row stays as it is, and the base is the pushed row with the
 * old base in the clashing columns (the cloud's merged columns then come as the cloud's changes).
 */
export function finishPartial(db: SqliteDb, plan: SyncPlan, t: TablePlan, partial: PushOutcome['partial'], gcSeq: number | undefined): void {
  if (partial.length === 0) return;
  const newer = db.prepare(`SELECT 1 FROM _possync_changes WHERE tbl = ? AND lkey = ? AND seq > ? LIMIT 1`);
  const bases: Array<{ lkey: string; row: WireRow }> = [];
  const ops: LocalOp[] = [];
  for (const { item, till, base, clashing } of partial) {
    if (newer.get(t.sqliteName, item.lkey, gcSeq ?? 0)) {
      const row = { ...item.row! };
      for (const c of clashing) row[c] = item.base![c] ?? null;
      bases.push({ lkey: item.lkey, row });
      continue;
    }
    bases.push({ lkey: item.lkey, row: base });
    if (sameVersion(t, item.row, till)) continue;
    const local = wireRowsToLocal(db, plan, t, [till])[0]!;
    if (local.ok && local.missing.length === 0) ops.push({ kind: 'update', lkey: item.lkey, values: local.values });
  }
  writeLocal(db, t, ops);
  writeBases(db, plan, t, bases);
}

/**
 * After the Postgres COMMIT (inside the SQLite transaction that finishes the batch, capture
 * suppressed): the till takes the decided row too, its pending changes of the row are dropped
 * (they are settled), the conflict closes and the history records the decision. A till edit made
 * between the push's read and now is a new edit after the decision: the conflict opens again,
 * against what the cloud now holds.
 */
export function finishResolved(db: SqliteDb, plan: SyncPlan, t: TablePlan, resolved: PushOutcome['resolved']): void {
  if (resolved.length === 0) return;
  const shared = t.key.map((k) => k.sqlite);
  const cols = localColumns(t);
  const reopen: AsideEntry[] = [];
  const closed: string[] = [];
  const settled: string[] = [];
  const records: ConflictEntry[] = [];
  const dropChanges = db.prepare(`DELETE FROM _possync_changes WHERE tbl = ? AND (lkey = ? OR (op = 'D' AND skey = ?))`);
  const dropHeld = db.prepare(`DELETE FROM _possync_held WHERE side = 'push' AND tbl = ? AND key = ?`);
  for (const r of resolved) {
    const raw = selectByKeys(db, t.sqliteName, shared, cols, [r.item.key])[0];
    const conv = raw ? localRowsToWire(db, plan, t, [raw])[0] : undefined;
    const current: WireRow | undefined = conv?.ok ? conv.row : undefined;
    if (!sameVersion(t, current, r.item.row)) {
      reopen.push({ key: r.item.keyStr, lkey: r.item.lkey, display: r.item.display, till: current ?? null, cloud: r.target ?? null, columns: differingColumns(t, current, r.target), reopen: true });
      continue;
    }
    const lkey = raw ? localKeyString(t, raw) : r.item.lkey;
    if (!sameVersion(t, current, r.target)) {
      let op: LocalOp | undefined;
      if (!r.target) op = { kind: 'delete', lkey };
      else {
        const local = wireRowsToLocal(db, plan, t, [r.target])[0]!;
        if (local.ok && local.missing.length === 0) op = current ? { kind: 'update', lkey, values: local.values } : { kind: 'insert', values: local.values };
      }
      // A row the till cannot take (a local constraint, a parent it lacks): the decision stays, and the next run tries again.
      if (!op || writeLocal(db, t, [op]).length > 0) continue;
    }
    dropChanges.run(t.sqliteName, lkey, keyString(r.item.key));
    dropHeld.run(t.name, lkey);
    settled.push(lkey);
    closed.push(r.item.keyStr);
    const c = r.conflict;
    records.push({ key: c.key, winner: c.decision ?? 'agreed', local: c.till, server: c.cloud, result: r.target, columns: c.columns });
  }
  // Once for the batch: the bases go, the conflicts close, the history records each decision.
  deleteBases(db, t, settled);
  closeConflicts(db, t.name, closed);
  recordPullConflicts(db, t, records, 'resolve');
  setAside(db, t.name, reopen, new Date().toISOString());
}
