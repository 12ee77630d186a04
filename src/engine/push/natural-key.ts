import { naturalKeyMatches } from '../../db/postgres/natural-match.ts';
import { sqliteIdent } from '../../db/quote.ts';
import { deleteLocalRow, referencingColumns, rekeyLocalRow, repointChildren } from '../../db/sqlite/rekey.ts';
import { selectByKeys, withCaptureSuppressed, type RawRow, type RawValue } from '../../db/sqlite/rows.ts';
import { recordPullConflicts } from '../conflicts.ts';
import type { RunContext } from '../context.ts';
import { describeRow, localRowsToWire } from '../convert.ts';
import { decide } from '../decide.ts';
import type { HeldRow } from '../held.ts';
import { keyString, parseKey } from '../keys.ts';
import type { TablePlan } from '../plan/types.ts';
import type { TableResult } from '../result.ts';
import { fromPg, toSqlite } from '../values/codec.ts';
import { localColumns, localKeyString, type Prepared, type PushItem } from './prepare.ts';

/**
 * Semantic merge on a natural key (tables[].naturalKey, e.g. a customer's phone). A customer
 * created offline whose phone already belongs to a cloud customer is the same customer: instead of
 * failing on Postgres' unique constraint, the local row takes the cloud row's key and the rows that
 * reference it locally follow. The push then meets the cloud row as a concurrent edit, which the
 * table's conflict policy decides (and records, with both versions).
 *
 * If the till already holds the cloud row too (it pulled it before naturalKey was configured, or
 * before it pushed), the two local rows are folded into the cloud one: references move to it, the
 * new row goes, and the conflict policy picks whose values the merged row keeps.
 *
 * The local changes commit before the Postgres batch. A crash in between leaves a till whose row
 * already has the cloud key and whose pending change-log entries moved with it, and the other
 * local edits (children, a folded row's values) are captured as ordinary local changes, so the next
 * run pushes them: nothing is lost or pushed twice.
 *
 * Returns the local keys that changed (old → new), so the caller can follow held rows.
 */
export async function adoptNaturalKeys(ctx: RunContext, t: TablePlan, prepared: Prepared, result: TableResult): Promise<Map<string, string>> {
  const renamed = new Map<string, string>();
  if (t.naturalKey.length === 0 || ctx.dryRun) return renamed;
  const candidates = prepared.items.filter((i) => i.row && t.naturalKey.every((c) => (i.row![c.pg] ?? null) !== null));
  if (candidates.length === 0) return renamed;
  const matches = await naturalKeyMatches(
    ctx.pg.pool,
    {
      schema: ctx.plan.schema,
      table: t.name,
      key: t.key.map((k) => ({ name: k.pg, castType: k.castType })),
      naturalKey: t.naturalKey.map((c) => ({ name: c.pg, castType: c.castType })),
      scope: t.scope.map((s) => ({ name: s.pg, castType: s.castType, value: s.value })),
    },
    candidates.map((i) => ({ key: i.key, natural: t.naturalKey.map((c) => i.row![c.pg]!) })),
  );
  if (matches.size === 0) return renamed;
  const db = ctx.sqlite.db;
  const children = childReferences(ctx, t);
  const dropped = new Set<PushItem>();
  const held: HeldRow[] = [];
  ctx.sqlite.immediate(() => {
    for (const [index, pgKey] of matches) {
      const item = candidates[index]!;
      const key = t.key.map((k, i) => fromPg(k.family, pgKey[i] ?? null) ?? '');
      const shared = key.map((v, i) => toSqlite(t.key[i]!.codec, v));
      const [copy] = selectByKeys(db, t.sqliteName, t.key.map((k) => k.sqlite), localColumns(t), [shared.map(String)]);
      const oldLkey = item.lkey;
      result.merged++;
      if (copy) {
        const outcome = fold(ctx, t, item, key, copy, children);
        if (outcome === 'drop') dropped.add(item);
        else if (outcome !== 'push') held.push(outcome);
        else renamed.set(oldLkey, item.lkey);
        continue;
      }
      if (t.serverIdCol) {
        // A localPk table: the local key stays, only the shared id changes, and children that
        // store the local id follow through the usual translation.
        withCaptureSuppressed(db, () =>
          db.prepare(`UPDATE ${sqliteIdent(t.sqliteName)} SET ${sqliteIdent(t.serverIdCol!.sqlite)} = ? WHERE ${sqliteIdent(t.localPk!)} = ?`).run(shared[0]!, parseKey(oldLkey)[0]!),
        );
        for (const wb of prepared.writeBack) if (wb.lkey === oldLkey && t.serverIdCol.sqlite in wb.set) wb.set[t.serverIdCol.sqlite] = shared[0]!;
      } else {
        const oldLocal = parseKey(oldLkey) as RawValue[];
        const newLkey = localKeyString(t, Object.fromEntries(t.localKey.map((c, i) => [c, shared[i]!])));
        withCaptureSuppressed(db, () => rekeyLocalRow(db, t.sqliteName, t.localKey, oldLocal, shared, oldLkey, newLkey));
        repointChildren(db, children, oldLocal, shared);
        for (const wb of prepared.writeBack) if (wb.lkey === oldLkey) wb.lkey = newLkey;
        item.lkey = newLkey;
        renamed.set(oldLkey, newLkey);
      }
      retarget(t, item, key);
    }
  });
  if (dropped.size > 0 || held.length > 0) {
    const heldKeys = new Set(held.map((h) => h.key));
    prepared.items = prepared.items.filter((i) => !dropped.has(i) && !heldKeys.has(i.lkey));
    prepared.held.push(...held);
  }
  return renamed;
}

/**
 * The till has both the new row and its copy of the cloud row: one row too many. References move
 * to the copy and the new row goes. If the policy prefers the new row's values (lww: it is newer;
 * client-wins), they are written onto the copy as a local edit and pushed with this batch (the
 * captured edit is also in the change log, so a crash cannot lose it). Returns what to do with the
 * item: push it (now the copy's edit), drop it, or hold it when the copy cannot be read.
 */
function fold(ctx: RunContext, t: TablePlan, item: PushItem, key: string[], copy: RawRow, children: ReadonlyArray<{ table: string; columns: string[] }>): 'push' | 'drop' | HeldRow {
  const db = ctx.sqlite.db;
  const [copyWire] = localRowsToWire(db, ctx.plan, t, [copy]);
  if (!copyWire || !copyWire.ok) {
    return { side: 'push', table: t.name, key: item.lkey, kind: 'rejected', reason: `${item.display} matches ${t.name}:${key.join(', ')} on ${t.naturalKey.map((c) => c.pg).join(', ')}, but the till's copy of that row cannot be read: merge them in the till app`, display: item.display };
  }
  const oldLkey = item.lkey;
  const copyLkey = localKeyString(t, copy);
  retarget(t, item, key);
  const d = decide(t, 'push', { row: item.row }, { row: copyWire.row }, true);
  if (d.conflict) recordPullConflicts(db, t, [{ key: item.keyStr, winner: d.winner!, local: item.row ?? null, server: copyWire.row }], 'merge');

  const [mine] = selectByKeys(db, t.sqliteName, t.localKey, localColumns(t), [parseKey(oldLkey)]);
  const oldLocal = parseKey(oldLkey) as RawValue[];
  const copyLocal = t.localKey.map((c) => copy[c] ?? null);
  // Children that store the local key (the shared key, or localPk through fkMap translation).
  const localRefs = t.serverIdCol ? childReferences(ctx, t, [t.localPk!]) : children;
  repointChildren(db, localRefs, oldLocal, copyLocal);
  withCaptureSuppressed(db, () => deleteLocalRow(db, t.sqliteName, t.localKey, oldLocal, oldLkey));
  if (d.action !== 'update' || !mine) return 'drop';
  const identity = new Set([...t.localKey, ...(t.serverIdCol ? [t.serverIdCol.sqlite] : []), ...t.key.map((k) => k.sqlite)]);
  const cols = t.columns.map((c) => c.sqlite).filter((c) => !identity.has(c));
  db.prepare(`UPDATE ${sqliteIdent(t.sqliteName)} SET ${cols.map((c) => `${sqliteIdent(c)} = ?`).join(', ')} WHERE ${t.localKey.map((c) => `${sqliteIdent(c)} = ?`).join(' AND ')}`).run(
    ...cols.map((c) => mine[c] ?? null),
    ...copyLocal,
  );
  item.lkey = copyLkey;
  return 'push';
}

export function retarget(t: TablePlan, item: PushItem, key: string[]): void {
  const row = { ...item.row! };
  t.key.forEach((k, i) => (row[k.pg] = key[i]!));
  item.row = row;
  item.key = key;
  item.keyStr = keyString(key);
  item.display = describeRow(t, row);
}

/**
 * Local columns that hold this table's local key `cols`: declared SQLite foreign keys (synced
 * tables or not) plus fkMap entries of synced tables that store it as it is (or, for a localPk
 * parent, translate it).
 */
export function childReferences(ctx: RunContext, t: TablePlan, cols: readonly string[] = t.key.map((k) => k.sqlite)): Array<{ table: string; columns: string[] }> {
  const refs = referencingColumns(ctx.sqlite.db, t.sqliteName, cols);
  if (cols.length === 1) {
    const byLocalId = t.serverIdCol !== undefined && cols[0] === t.localPk;
    for (const child of ctx.plan.tables) {
      for (const fk of child.fks) {
        if (fk.refTable !== t.name || fk.translate !== byLocalId || (!byLocalId && fk.refPg !== t.key[0]!.pg)) continue;
        if (!refs.some((r) => r.table === child.sqliteName && r.columns[0] === fk.column.sqlite)) refs.push({ table: child.sqliteName, columns: [fk.column.sqlite] });
      }
    }
  }
  return refs;
}
