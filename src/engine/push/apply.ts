import { inLockPhase } from '../../db/postgres/row-locks.ts';
import type { PgClient } from '../../db/postgres/gateway.ts';
import { NEVER_PULLED, unseenSql, type PullSnapshot } from '../checkpoints.ts';
import { lockRows, missingParents, type PgTableRef } from '../../db/postgres/rows.ts';
import { changeLogName } from '../../db/postgres/possync-schema.ts';
import { decide, mergeForUpdate, rowsEqual, type Decision, type WireRow } from '../decide.ts';
import { LINK_PENDING, type HeldRow } from '../held.ts';
import { applyIsolated } from '../isolate.ts';
import { keyString } from '../keys.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import { compareVersion, fromPg, type Wire } from '../values/codec.ts';
import { below, PRUNED_BELOW_SQL } from '../retention.ts';
import type { PushItem } from './prepare.ts';
import { rowWriter } from './write-path.ts';
import { outsideFkReason } from './outside-fk-reason.ts';
import type { ConflictEntry } from '../conflicts.ts';
import { keepsBase, type NextBase } from '../merge/base.ts';
import { refuseImmutable } from '../merge/immutable.ts';
import { isMerge, mergeColumns, type ColumnMerge } from '../merge/column-merge.ts';
import type { AsideEntry, OpenConflict } from '../manual/open-conflicts.ts';
import { differingColumns, settle, splitClash } from '../manual/settle.ts';

export interface ConflictRecord extends ConflictEntry {
  display: string;
}

export interface PushOutcome {
  inserted: number;
  updated: number;
  deleted: number;
  unchanged: number;
  conflicts: ConflictRecord[];
  held: HeldRow[];
  /** Items Postgres now agrees with (applied, unchanged, or lost to a newer server version). */
  done: PushItem[];
  /** Items that lost a conflict: the server version, to be written back locally. */
  lost: Array<{ item: PushItem; server: WireRow | undefined }>;
  /** Items refused for good (another scope's row): reported once, never retried. */
  refused: Array<{ item: PushItem; reason: string }>;
  /** Column merge: the next base of each row Postgres now agrees with (engine/merge/base.ts). */
  next: NextBase[];
  /** Set when `next` is staged: the token the batch's transaction stores. */
  token?: string | undefined;
  /** conflict "manual": rows set aside (nothing written), recorded as open conflicts on the till. */
  aside: AsideEntry[];
  /**
   * Column merges that clashed under conflict "manual": the cloud took the merged columns; after
   * the commit the till takes them too (`till`) and `base` becomes what both agree on (manual/push.ts).
   */
  partial: Array<{ item: PushItem; till: WireRow; base: WireRow; clashing: string[] }>;
  /** Open conflicts an admin decided, carried out in Postgres: both sides now end with `target`. */
  resolved: Array<{ item: PushItem; conflict: OpenConflict; target: WireRow | undefined }>;
}

export function pgRef(plan: SyncPlan, t: TablePlan): PgTableRef {
  return { schema: plan.schema, table: t.name, key: t.key.map((k) => ({ name: k.pg, castType: k.castType })) };
}

export function wireFromPgRow(t: TablePlan, row: Record<string, string | null>): WireRow {
  const out: WireRow = {};
  for (const c of t.columns) out[c.pg] = fromPg(c.codec, row[c.pg] ?? null);
  return out;
}

/** The same from column texts in `t.columns` order (a row of COPY text), starting at `at`. */
export function wireFromPgTexts(t: TablePlan, texts: ReadonlyArray<string | null>, at = 0): WireRow {
  const out: WireRow = {};
  t.columns.forEach((c, i) => (out[c.pg] = fromPg(c.codec, texts[at + i] ?? null)));
  return out;
}

/**
 * Applies one push batch inside the caller's Postgres transaction: lock the current rows in key
 * order, decide per row (insert / update / delete / unchanged / conflict), hold back rows whose
 * parent is missing, then write with one statement per kind, isolating rows Postgres refuses.
 */
export async function applyPushBatch(
  client: PgClient,
  plan: SyncPlan,
  t: TablePlan,
  batch: readonly PushItem[],
  pullFence: PullSnapshot | undefined,
  open: ReadonlyMap<string, OpenConflict> = new Map(),
): Promise<PushOutcome> {
  let items = batch;
  const out: PushOutcome = { inserted: 0, updated: 0, deleted: 0, unchanged: 0, conflicts: [], held: [], done: [], lost: [], refused: [], next: [], aside: [], partial: [], resolved: [] };
  if (items.length === 0) return out;
  const ref = pgRef(plan, t);
  const columns = t.columns.map((c) => ({ name: c.pg, castType: c.castType }));
  const scope = t.scope.map((s) => ({ name: s.pg, castType: s.castType, value: s.value }));
  const constants = t.constants.map((k) => ({ name: k.pg, castType: k.castType, value: k.value }));
  // Plain tables upsert; rules, inheritance and some partitioned tables update-then-insert.
  const writer = rowWriter(client, t, ref, columns, constants);
  // The transaction began in its lock phase (applyInPostgres): the locks' total wait is bounded.
  const existingRows = await inLockPhase(client, async () => {
    await writer.lockKeys(items.map((i) => i.key));
    return lockRows(client, ref, columns, items.map((i) => i.key), scope);
  });
  const existing = new Map<string, WireRow>();
  const foreign = new Set<string>();
  for (const r of existingRows) {
    const w = wireFromPgRow(t, r);
    const key = keyString(t.key.map((k) => w[k.pg] ?? ''));
    existing.set(key, w);
    if (r.possync_in_scope === false) foreign.add(key);
  }
  // A row of another scope (another store's) is never overwritten or deleted by this terminal.
  // It is refused for good (not retried): the next pull makes the terminal's copy follow the cloud.
  const ownItems = items.filter((i) => {
    if (!foreign.has(i.keyStr)) return true;
    out.refused.push({ item: i, reason: `${i.display} belongs to another scope in Postgres: this terminal's change was refused` });
    return false;
  });
  items = ownItems;
  // Only rows that differ (or are gone) can be contested; identical ones need no history lookup.
  const candidates = items.filter((i) => {
    const server = existing.get(i.keyStr);
    return !server || !i.row || !rowsEqual(t.columns, i.row, server);
  });
  const contested = candidates.length > 0 ? await contestedKeys(client, plan, t, candidates, pullFence) : new Map<string, { deletedAt: string | undefined }>();

  const decisions = new Map<PushItem, Decision>();
  const merges = new Map<PushItem, ColumnMerge>();
  const immutableRefused = new Set<PushItem>();
  // conflict "manual": rows set aside, and decided rows with the row both sides end with.
  const aside = new Set<PushItem>();
  const targets = new Map<PushItem, { conflict: OpenConflict; target: WireRow | undefined }>();
  // Column merges that clashed: the merged columns are written now, the clashing ones wait.
  const partials = new Map<PushItem, { m: ColumnMerge; reopen: boolean }>();
  const mergeable = (item: PushItem, server: WireRow | undefined): server is WireRow =>
    keepsBase(t) && !!item.base && !!item.row && !!server && !rowsEqual(t.columns, item.row, server) && (!t.deleted || server[t.deleted.pg] === null);
  const partly = (item: PushItem, server: WireRow, m: ColumnMerge, reopen: boolean) => {
    merges.set(item, m);
    partials.set(item, { m, reopen });
    decisions.set(item, { action: rowsEqual(t.columns, m.row, server) ? 'unchanged' : 'update', conflict: false });
  };
  const setAside = (item: PushItem, server: WireRow | undefined, columns: string[], reopen: boolean) => {
    aside.add(item);
    out.aside.push({ key: item.keyStr, lkey: item.lkey, display: item.display, till: item.row ?? null, cloud: server ?? null, columns, reopen });
  };
  for (const item of items) {
    const server = existing.get(item.keyStr);
    const c = contested.get(item.keyStr);
    const oc = open.get(item.keyStr);
    if (oc) {
      // An open manual conflict: set aside until decided; a decision is carried out here, unless
      // the losing side changed the row again since (then it is open again).
      const s = settle(t, oc, item.row, server, keepsBase(t) ? item.base : undefined);
      if (s.kind === 'aside') {
        const m = keepsBase(t) && item.base && item.row && server ? mergeColumns(t, item.base, item.row, server) : undefined;
        if (m && m.clashing.length > 0 && mergeable(item, server)) partly(item, server, m, s.reopen);
        else setAside(item, server, m ? m.clashing : differingColumns(t, item.row, server), s.reopen);
        continue;
      }
      targets.set(item, { conflict: oc, target: s.target });
      const action = s.target ? (server ? (rowsEqual(t.columns, s.target, server) ? 'unchanged' : 'update') : 'insert') : server && !item.row ? 'delete' : 'unchanged';
      decisions.set(item, { action, conflict: false });
      continue;
    }
    if (mergeable(item, server)) {
      // Column merge against what both last agreed on: only columns both changed are contested.
      const m = mergeColumns(t, item.base!, item.row!, server);
      if (t.conflict === 'manual' && m.clashing.length > 0) {
        partly(item, server, m, false);
        continue;
      }
      merges.set(item, m);
      decisions.set(item, { action: rowsEqual(t.columns, m.row, server) ? 'unchanged' : 'update', conflict: isMerge(m), ...(m.winner ? { winner: m.winner } : {}) });
      continue;
    }
    if (!item.row && server && t.deleted && server[t.deleted.pg] !== null) {
      // Already a tombstone. A newer delete still moves the tombstone's version forward, so an
      // update made between the two deletes cannot win against it later.
      decisions.set(item, { action: newerThanRow(t, item.deletedAt, server) ? 'delete' : 'unchanged', conflict: false });
      continue;
    }
    if (item.agreed && item.row && ((server && !rowsEqual(t.columns, item.row, server)) || (!server && c?.deletedAt !== undefined))) {
      // Stale, not an edit: Postgres' version stands, and is written back to the till. Not on an
      // immutable table: there the cloud's change of a synced row is one the pull refuses (and
      // lists), so the till's copy is left as it is for the pull to judge.
      decisions.set(item, { action: t.immutable ? 'unchanged' : 'keep', conflict: false });
      continue;
    }
    if (t.immutable && server && (!item.row || !rowsEqual(t.columns, item.row, server))) {
      // The cloud has the row: it is final. Neither this update nor this delete goes through.
      out.held.push(refuseImmutable(t, 'push', item.row ? 'update' : 'delete', item.lkey, item.display, item.detail));
      immutableRefused.add(item);
      continue;
    }
    const d = decide(t, 'push', { row: item.row, deletedAt: item.deletedAt }, { row: server, deletedAt: server ? undefined : c?.deletedAt }, c !== undefined);
    if (d.action === 'aside') setAside(item, server, differingColumns(t, item.row, server), false);
    else decisions.set(item, d);
  }
  if (immutableRefused.size > 0 || aside.size > 0) items = items.filter((i) => !immutableRefused.has(i) && !aside.has(i));

  const writes = items.filter((i) => {
    const a = decisions.get(i)!.action;
    return a === 'insert' || a === 'update';
  });
  const rowOf = (i: PushItem): WireRow => targets.get(i)?.target ?? merges.get(i)?.row ?? i.row!;
  const deferred = await deferOrphans(client, plan, t, writes, rowOf);
  for (const item of items) {
    const d = decisions.get(item)!;
    const server = existing.get(item.keyStr);
    if (deferred.has(item)) {
      // Written now without its missing links (a new row), or already so: its insert completes later.
      const linked = item.linkPending || (d.action === 'insert' && deferred.get(item)!.unlink !== undefined);
      out.held.push({ side: 'push', table: t.name, key: item.lkey, kind: 'deferred', reason: deferred.get(item)!.reason, display: item.display, detail: item.detail ?? (linked ? LINK_PENDING : undefined) });
      continue;
    }
    const m = merges.get(item);
    if (m && d.conflict) {
      out.conflicts.push({ key: item.keyStr, display: item.display, winner: m.winner ?? 'merged', local: item.row ?? null, server: server ?? null, base: item.base, result: m.row, columns: m.clashing });
      continue;
    }
    if (d.conflict) out.conflicts.push({ key: item.keyStr, display: item.display, winner: d.winner!, local: item.row ?? null, server: server ?? null });
    if (d.action === 'keep') out.lost.push({ item, server });
  }

  // Writes: inserts and updates in one upsert; deletes as DELETE, or as a tombstone update when
  // the table soft-deletes (deletedCol), so other terminals learn of the delete.
  // Rows whose only missing parents are through nullable columns are written without those
  // links (insert-then-link): that breaks FK cycles between tables. They stay deferred, and the
  // retry once the parent exists writes the link.
  const upserts = writes.filter((i) => !deferred.has(i) || deferred.get(i)!.unlink !== undefined);
  const deletes = items.filter((i) => decisions.get(i)!.action === 'delete');
  const tombstones = t.deleted ? deletes.map((i) => ({ item: i, row: tombstone(t, existing.get(i.keyStr)!, i.deletedAt) })) : [];
  const hardDeletes = t.deleted ? [] : deletes;
  // A delete of a row Postgres no longer has changes nothing, but it is still the newest word on
  // that row: log it, so an older update pushed later by another terminal loses to it.
  await logDeletes(
    client,
    plan,
    t,
    items.filter((i) => !i.row && !existing.has(i.keyStr)),
  );

  const toRow = (row: WireRow) => t.columns.map((c) => row[c.pg] ?? null);
  const rowToWrite = (i: PushItem) => {
    const server = existing.get(i.keyStr);
    const row = server ? mergeForUpdate(t.columns, rowOf(i), server) : { ...rowOf(i) };
    for (const col of deferred.get(i)?.unlink ?? []) row[col] = server ? (server[col] ?? null) : null;
    return toRow(row);
  };
  // Inserts go in key order, so terminals inserting the same new keys take their locks in the
  // same order; one that finds a key inserted meanwhile retries the whole batch and decides again.
  const byKey = (a: PushItem, b: PushItem) => (a.keyStr < b.keyStr ? -1 : a.keyStr > b.keyStr ? 1 : 0);
  const inserts = upserts.filter((i) => !existing.has(i.keyStr)).sort(byKey);
  const updates = upserts.filter((i) => existing.has(i.keyStr));
  const refusedInserts = await applyIsolated(client, inserts, async (batch) => {
    if (!(await writer.insert(batch.map(rowToWrite)))) throw new ConcurrentInsert();
  });
  const refusedUpdates = await applyIsolated(client, updates, async (batch) => {
    const rows = batch.map(rowToWrite);
    const changed = new Set(t.columns.filter((c, ci) => batch.some((item, r) => !sameText(existing.get(item.keyStr)![c.pg], rows[r]![ci]))).map((c) => c.pg));
    await writer.update(rows, changed);
  });
  const refusedUpserts = [...refusedInserts, ...refusedUpdates];
  const refusedTombstones = await applyIsolated(client, tombstones, async (batch) => {
    await writer.update(batch.map((b) => toRow(b.row)));
  });
  const refusedDeletes = await applyIsolated(client, hardDeletes, async (batch) => {
    await writer.delete(batch.map((i) => ({ key: i.key, at: i.deletedAt ?? null })), { tbl: changeLogName(plan.schema, t.name), origin: plan.terminalId });
  });

  const refused = new Set<PushItem>();
  for (const r of [...refusedUpserts, ...refusedDeletes]) refused.add(r.item);
  for (const r of refusedTombstones) refused.add(r.item.item);
  for (const r of [...refusedUpserts, ...refusedDeletes, ...refusedTombstones.map((x) => ({ item: x.item.item, error: x.error }))]) {
    const fk = r.error.code === '23503';
    out.held.push({
      side: 'push',
      table: t.name,
      key: r.item.lkey,
      kind: fk ? 'deferred' : 'rejected',
      reason: outsideFkReason(t, plan.byName, r.item.display, r.error) ?? `${r.item.display}: ${r.error.message}`,
      display: r.item.display,
      detail: r.item.detail ?? (r.item.linkPending ? LINK_PENDING : undefined),
    });
  }
  for (const item of items) {
    if (deferred.has(item) || refused.has(item)) continue;
    const a = decisions.get(item)!.action;
    // A row insert-then-link wrote earlier without its links is new: completing it is its insert.
    if (a === 'insert' || (item.linkPending && (a === 'update' || a === 'unchanged'))) out.inserted++;
    else if (a === 'update') out.updated++;
    else if (a === 'delete') out.deleted++;
    else if (a === 'unchanged') out.unchanged++;
    out.done.push(item);
  }
  const doneKeys = new Set(out.done.map((i) => i.keyStr));
  out.conflicts = out.conflicts.filter((c) => doneKeys.has(c.key));
  for (const item of out.done) {
    const r = targets.get(item);
    if (r) out.resolved.push({ item, ...r });
  }
  const done = new Set(out.done);
  for (const [item, { m, reopen }] of partials) {
    const server = existing.get(item.keyStr);
    if (!done.has(item)) {
      // Not written (deferred, refused): set aside whole, as the sides hold it.
      out.aside.push({ key: item.keyStr, lkey: item.lkey, display: item.display, till: item.row ?? null, cloud: server ?? null, columns: m.clashing, reopen });
      continue;
    }
    const split = splitClash(m.clashing, m.row, item.row!, item.base!);
    out.aside.push({ key: item.keyStr, lkey: item.lkey, display: item.display, till: split.till, cloud: m.row, columns: m.clashing, reopen, merge: { local: item.row!, server: server!, base: item.base!, result: m.row } });
    out.partial.push({ item, till: split.till, base: split.base, clashing: m.clashing });
  }
  // A manual conflict opened here is recorded once, with both versions, like any push conflict.
  for (const a of out.aside) {
    if (!open.has(a.key)) out.conflicts.push({ key: a.key, display: a.display, winner: 'open', local: a.merge?.local ?? a.till, server: a.merge?.server ?? a.cloud, base: a.merge?.base, result: a.merge?.result, columns: a.columns });
  }
  if (keepsBase(t)) {
    // A carried-out decision leaves both sides agreeing: its base goes with the conflict (manual/push.ts finishResolved);
    // a clashing merge's base is written by finishPartial.
    for (const item of out.done.filter((i) => !targets.has(i) && !partials.has(i))) {
      const m = merges.get(item);
      out.next.push({ lkey: item.lkey, base: item.row ?? null, result: m && item.row && !rowsEqual(t.columns, m.row, item.row) ? m.row : null });
    }
  }
  return out;
}

/** The tombstone written for a local hard delete: deletedCol set (kept if already set), updatedCol moved to the delete time. */
function tombstone(t: TablePlan, server: WireRow, deletedAt: string | undefined): WireRow {
  const at = deletedAt ?? new Date().toISOString();
  const row = { ...server, [t.deleted!.pg]: server[t.deleted!.pg] ?? at };
  if (newerThanRow(t, at, server)) row[t.updated!.pg] = at;
  return row;
}

/** Whether a delete time is newer than the row's version (its updatedCol, when that is a time). */
function newerThanRow(t: TablePlan, at: string | undefined, row: WireRow): boolean {
  if (at === undefined || !t.updated || (t.updated.family !== 'timestamptz' && t.updated.family !== 'timestamp')) return false;
  const current = row[t.updated.pg] ?? null;
  return current === null || compareVersion(t.updated.family, at, current) > 0;
}

/**
 * Which rows another writer changed in Postgres since this terminal and Postgres last agreed on
 * them, with the delete time when they deleted one. After a pull, that is any change by another
 * origin since the pull's fence. Before the first pull, a row is uncontested only when every change
 * Postgres logged for it came from this terminal, or it came in this terminal's own bulk load;
 * anything else (rows that predate possync, another terminal's bulk load) counts as contested.
 * Another writer's bulk load (or TRUNCATE) may have touched any row, so it contests every row,
 * except rows this terminal itself wrote after it that nobody else changed since: those are
 * this terminal's version (e.g. a row insert-then-link wrote without its link, now completed).
 */
export async function contestedKeys(
  client: PgClient,
  plan: SyncPlan,
  t: TablePlan,
  items: readonly PushItem[],
  pullFence: PullSnapshot | undefined,
): Promise<Map<string, { deletedAt: string | undefined }>> {
  const tbl = changeLogName(plan.schema, t.name);
  const result = new Map<string, { deletedAt: string | undefined }>();
  const since = pullFence ?? NEVER_PULLED;
  // One statement (one snapshot, one round trip): reload entries ('T'), the keys' entries, and the
  // pruned horizon. A prune deletes entries and raises the horizon in one transaction, so this
  // snapshot sees both or neither.
  const { rows } = await client.query<{ mine: boolean | null; others_last: string | null; pruned_below: string | null; key: string[] | null; others: boolean | null; mine_since_reload: boolean | null; deleted_at: string | null }>(
    `WITH reload AS (
       SELECT bool_or(c.origin IS NOT DISTINCT FROM $3) AS mine,
              (array_agg(c.xid ORDER BY c.xid DESC) FILTER (WHERE c.origin IS DISTINCT FROM $3))[1] AS others_last
         FROM possync.changes c WHERE c.tbl = $1 AND ${unseenSql('$2', '$5')} AND c.op = 'T'
     ), logged AS (
       SELECT ARRAY(SELECT jsonb_array_elements_text(k.value)) AS key,
              bool_or(c.origin IS DISTINCT FROM $3) AS others,
              bool_or(c.origin IS NOT DISTINCT FROM $3 AND c.xid > (SELECT others_last FROM reload)) AS mine_since_reload,
              max(c.at) FILTER (WHERE c.op = 'D' AND c.origin IS DISTINCT FROM $3)::text AS deleted_at
         FROM possync.changes c CROSS JOIN LATERAL jsonb_array_elements(c.keys) AS k
        WHERE c.tbl = $1 AND ${unseenSql('$2', '$5')} AND k.value = ANY($4::jsonb[])
        GROUP BY k.value
     )
     SELECT reload.mine, reload.others_last::text AS others_last, (${PRUNED_BELOW_SQL}) AS pruned_below, logged.*
       FROM reload LEFT JOIN logged ON true`,
    [tbl, since.fence, plan.terminalId, items.map((i) => JSON.stringify(i.key)), since.snapshot],
  );
  const othersReload = rows[0]?.others_last ?? null;
  const ownReload = rows[0]?.mine === true;
  // The terminal was silent so long that entries since its last pull were pruned: the history
  // this decision needs is gone, so every differing row goes to the conflict policy.
  if (below(pullFence?.fence, rows[0]?.pruned_below ?? undefined)) {
    for (const i of items) result.set(i.keyStr, { deletedAt: undefined });
    return result;
  }
  const logged = new Map<string, { others: boolean; mineSinceReload: boolean; deletedAt: string | undefined }>();
  for (const r of rows) {
    if (r.key === null) continue; // no entry for any of the keys: the one row holds only the rest
    const key = keyString(t.key.map((k, i) => fromPg(k.family, r.key![i] ?? null) ?? ''));
    logged.set(key, { others: r.others === true, mineSinceReload: r.mine_since_reload === true, deletedAt: fromPg('timestamptz', r.deleted_at) ?? undefined });
  }
  for (const i of items) {
    const entry = logged.get(i.keyStr);
    const contested = othersReload !== null ? !entry || entry.others || !entry.mineSinceReload : entry ? entry.others : pullFence === undefined && !ownReload;
    if (contested) result.set(i.keyStr, { deletedAt: entry?.deletedAt });
  }
  return result;
}

interface Orphan {
  reason: string;
  /** Nullable FK columns to write as they are in Postgres now (NULL for a new row) until the parent exists. */
  unlink: string[] | undefined;
}

/**
 * Rows whose parent is in neither Postgres nor this batch wait (deferred) instead of failing the
 * batch on the FK. Repeated until stable, because a deferred row may be the parent of another;
 * a row written without its nullable links still counts as present for the rows that need it.
 */
async function deferOrphans(client: PgClient, plan: SyncPlan, t: TablePlan, writes: readonly PushItem[], rowOf: (i: PushItem) => WireRow): Promise<Map<PushItem, Orphan>> {
  const deferred = new Map<PushItem, Orphan>();
  if (t.fks.length === 0 || writes.length === 0) return deferred;
  const missingByFk = new Map<number, Set<string>>();
  for (const [n, fk] of t.fks.entries()) {
    const values = [...new Set(writes.map((w) => rowOf(w)[fk.column.pg]).filter((v): v is string => v !== null && v !== undefined))];
    const parent = plan.byName.get(fk.refTable)!;
    const refCol = parent.columns.find((c) => c.pg === fk.refPg) ?? parent.key[0]!;
    missingByFk.set(n, await missingParents(client, plan.schema, parent.name, { name: refCol.pg, castType: refCol.castType }, values));
  }
  const written = (p: PushItem) => !deferred.has(p) || deferred.get(p)!.unlink !== undefined;
  let changed = true;
  while (changed) {
    changed = false;
    for (const w of writes) {
      if (deferred.has(w)) continue;
      const missing = t.fks.filter((fk, n) => {
        const v: Wire = rowOf(w)[fk.column.pg] ?? null;
        if (v === null || !missingByFk.get(n)!.has(v)) return false;
        // A self-reference to a row this batch writes is fine.
        return !(fk.refTable === t.name && writes.some((p) => p !== w && written(p) && rowOf(p)[fk.refPg] === v));
      });
      if (missing.length === 0) continue;
      const reasons = missing.map((fk) => `${fk.column.pg} → ${fk.refTable}[${rowOf(w)[fk.column.pg]}]`).join(', ');
      const nullable = missing.every((fk) => !fk.column.pgNotNull);
      deferred.set(w, { reason: `${w.display} waits for ${reasons}`, unlink: nullable ? missing.map((fk) => fk.column.pg) : undefined });
      changed = true;
    }
  }
  return deferred;
}

/** Change-log entries for deletes that found nothing to delete, with the terminal's delete time. */
async function logDeletes(client: PgClient, plan: SyncPlan, t: TablePlan, items: readonly PushItem[]): Promise<void> {
  if (items.length === 0) return;
  await client.query(
    `INSERT INTO possync.changes (tbl, op, origin, at, keys)
     SELECT $1, 'D', $2, coalesce(u.at::timestamptz, clock_timestamp()), jsonb_build_array(u.key::jsonb)
       FROM unnest($3::text[], $4::text[]) AS u(key, at)`,
    [changeLogName(plan.schema, t.name), plan.terminalId, items.map((i) => JSON.stringify(i.key)), items.map((i) => i.deletedAt ?? null)],
  );
}

/**
 * Another writer inserted one of this batch's new keys after the batch looked: the transaction
 * is rolled back and retried (SQLSTATE 40001, like a serialization failure), and the retry sees
 * that row, locks it and lets the conflict policy decide.
 */
class ConcurrentInsert extends Error {
  readonly code = '40001';
  constructor() {
    super('a row of this batch was inserted concurrently by another writer');
  }
}

function sameText(a: Wire | undefined, b: Wire | undefined): boolean {
  return (a ?? null) === (b ?? null);
}
