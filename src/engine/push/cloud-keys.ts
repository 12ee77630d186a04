import { fetchRows } from '../../db/postgres/rows.ts';
import { nextKeys } from '../../db/postgres/next-keys.ts';
import { captureInstalled } from '../../db/sqlite/capture.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { forgetNewKey, markAllRowsNew, newKeysAmong } from '../../db/sqlite/new-keys.ts';
import { rekeyLocalRow, repointChildren } from '../../db/sqlite/rekey.ts';
import { withCaptureSuppressed } from '../../db/sqlite/rows.ts';
import { readPullCheckpoint } from '../checkpoints.ts';
import type { RunContext } from '../context.ts';
import { rowsEqual } from '../decide.ts';
import { keyString } from '../keys.ts';
import type { TablePlan } from '../plan/types.ts';
import type { Reader } from './scan.ts';
import { fromPg, toSqlite } from '../values/codec.ts';
import { pgRef, wireFromPgRow } from './apply.ts';
import { childReferences, retarget } from './natural-key.ts';
import type { SliceEncoder } from './copy-encode.ts';
import { moveAside } from '../pull/make-room.ts';
import { sqliteIdent } from '../../db/quote.ts';
import { localKeyString, preparePush, type Prepared, type PushItem } from './prepare.ts';

/**
 * assignKey "cloud": keys of serial / identity tables are assigned by the cloud only.
 *
 * Why not blocks of keys per terminal: the till app picks its own keys (`INTEGER PRIMARY KEY` is
 * max(rowid) + 1) and its schema is not ours to change. So a row the till creates keeps the
 * number SQLite gave it only until its push: the push draws the next value of the column's
 * sequence (the same one the back office's inserts use, so no two writers ever get the same
 * number), and re-keys the local row, its pending change-log entries, held entries and the till
 * rows that reference it (declared SQLite FKs and fkMap entries), in one SQLite transaction that
 * commits before anything is written to Postgres.
 *
 * Crash safety: the key is in the till before the Postgres batch starts, and nextval never hands
 * it out again. A crash before the SQLite commit wastes a number (a gap); a crash after it leaves
 * an ordinary unpushed row under its final key, which the next run pushes like any other (the
 * change-log entries moved with it). No retry can give the row a second key, so it is never
 * inserted twice, and no mapping has to survive the Postgres commit.
 *
 * Which rows need a key: _possync_new_keys (db/sqlite/new-keys.ts) lists the rows the till app
 * inserted (the insert capture trigger adds them; possync's own writes, i.e. pulled rows, are not
 * captured). A pulled row whose key equals an unpushed local one moves the local row aside
 * (pull/make-room.ts), and children of an unkeyed row wait for it (deferUnkeyedReferences).
 */
export async function assignCloudKeys(ctx: RunContext, t: TablePlan, prepared: Prepared): Promise<Map<string, string>> {
  const renamed = new Map<string, string>();
  if (!t.cloudKey) return renamed;
  const db = ctx.sqlite.db;
  const withRows = prepared.items.filter((i) => i.row);
  const fresh = newKeysAmong(db, t.sqliteName, withRows.map((i) => i.lkey));
  if (fresh.size === 0) return renamed;
  // Rows that were on the till before possync: one equal to the cloud row with its key is a copy of it.
  const copies = await cloudCopies(ctx, t, withRows.filter((i) => fresh.get(i.lkey) === 'install'));
  if (copies.size > 0 && !ctx.dryRun) ctx.sqlite.immediate(() => copies.forEach((lkey) => forgetNewKey(db, t.sqliteName, lkey)));
  const items = withRows.filter((i) => fresh.has(i.lkey) && !copies.has(i.lkey));
  if (items.length === 0) return renamed;

  const k = t.key[0]!;
  // A dry run must not spend sequence values: stand-in keys that no serial column hands out.
  const texts = ctx.dryRun
    ? items.map((_, i) => String(-1 - i))
    : await ctx.pg.tx((client) => nextKeys(client, { schema: ctx.plan.schema, table: t.name, column: k.pg, castType: k.castType, sequence: t.cloudKey!.sequence }, items.length));
  const moves = items.map((item, i) => ({ item, lkey: item.lkey, from: item.key[0]!, to: fromPg(k.family, texts[i]!) ?? '' }));

  if (!ctx.dryRun) {
    const children = childReferences(ctx, t);
    const exists = db.prepare(`SELECT 1 FROM ${sqliteIdent(t.sqliteName)} WHERE ${sqliteIdent(k.sqlite)} = ?`);
    ctx.sqlite.immediate(() => {
      // Where each row is now (a row of this batch may be moved aside by an earlier one).
      const at = new Map(moves.map((m) => [m.item.lkey, m]));
      const localRaw = new Map(moves.map((m) => [m, toSqlite(k.codec, m.from)]));
      for (const m of moves) {
        const newRaw = toSqlite(k.codec, m.to);
        // The number is the cloud's now, but SQLite may have given it to another row this till
        // created (one not keyed yet): that row moves aside first.
        if (exists.get(newRaw)) {
          const aside = withCaptureSuppressed(db, () => moveAside(ctx, t, children, newRaw));
          const other = at.get(aside.oldLkey);
          if (other) {
            at.delete(aside.oldLkey);
            at.set(aside.newLkey, other);
            localRaw.set(other, aside.newRaw);
            for (const wb of prepared.writeBack) if (wb.lkey === aside.oldLkey) wb.lkey = aside.newLkey;
            other.item.lkey = aside.newLkey;
          }
        }
        const oldRaw = localRaw.get(m)!;
        const oldLkey = m.item.lkey;
        const newLkey = localKeyString(t, { [t.localKey[0]!]: newRaw });
        withCaptureSuppressed(db, () => {
          rekeyLocalRow(db, t.sqliteName, t.localKey, [oldRaw], [newRaw], oldLkey, newLkey);
          forgetNewKey(db, t.sqliteName, oldLkey);
        });
        // Captured: the children go to the cloud with their parent's new key.
        repointChildren(db, children, [oldRaw], [newRaw]);
        for (const wb of prepared.writeBack) if (wb.lkey === oldLkey) wb.lkey = newLkey;
        at.delete(oldLkey);
        m.item.lkey = newLkey;
      }
    });
  }
  for (const m of moves) {
    retarget(t, m.item, [m.to]);
    if (m.item.lkey !== m.lkey) renamed.set(m.lkey, m.item.lkey);
  }
  // Rows of this batch that reference a row of the same table re-keyed just now were read before.
  const moved = new Map(moves.map((m) => [m.from, m.to]));
  for (const fk of t.fks.filter((f) => f.refTable === t.name && f.refPg === k.pg)) {
    for (const i of prepared.items) {
      const v = i.row?.[fk.column.pg];
      if (v !== undefined && v !== null && moved.has(v)) i.row = { ...i.row, [fk.column.pg]: moved.get(v)! };
    }
  }
  return renamed;
}

/** Local keys of `items` whose cloud row under the same key has the same values. */
async function cloudCopies(ctx: RunContext, t: TablePlan, items: readonly PushItem[]): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const columns = t.columns.map((c) => ({ name: c.pg, castType: c.castType }));
  const rows = await ctx.pg.tx((client) => fetchRows(client, pgRef(ctx.plan, t), columns, items.map((i) => i.key)), { readOnly: true });
  const cloud = new Map(rows.map((r) => wireFromPgRow(t, r)).map((w) => [keyString(t.key.map((k) => w[k.pg] ?? '')), w]));
  return new Set(items.filter((i) => cloud.has(i.keyStr) && rowsEqual(t.columns, cloud.get(i.keyStr)!, i.row!)).map((i) => i.lkey));
}

/**
 * A row that references a row the till created and the cloud has not keyed yet must not go: its
 * number means another row in the cloud. It happens when the till app inserts a parent and its
 * child while this run is between the two tables. The row is logged again as a local change, so
 * it survives this batch's trim of the change log, and goes in the next run, after its parent.
 */
export function deferUnkeyedReferences(ctx: RunContext, t: TablePlan, prepared: Prepared): void {
  const links = t.fks.flatMap((fk) => {
    const parent = ctx.plan.byName.get(fk.refTable);
    return parent?.cloudKey && !fk.translate && fk.refPg === parent.key[0]!.pg ? [{ fk, parent }] : [];
  });
  if (links.length === 0) return;
  const db = ctx.sqlite.db;
  const waiting = new Set<PushItem>();
  for (const { fk, parent } of links) {
    const refs = prepared.items.filter((i) => i.row && i.row[fk.column.pg] !== null && i.row[fk.column.pg] !== undefined);
    const lkeyOf = (i: PushItem) => keyString([String(i.row![fk.column.pg])]);
    const fresh = newKeysAmong(db, parent.sqliteName, refs.map(lkeyOf));
    for (const i of refs) if (fresh.has(lkeyOf(i))) waiting.add(i);
  }
  if (waiting.size === 0) return;
  prepared.items = prepared.items.filter((i) => !waiting.has(i));
  if (ctx.dryRun) return;
  ctx.sqlite.immediate(() => {
    const log = db.prepare(`INSERT INTO _possync_changes (tbl, lkey, op) VALUES (?, ?, 'U')`);
    for (const i of waiting) log.run(t.sqliteName, i.lkey);
  });
}

/** This table's FKs to cloud-keyed parents (by their key, as the till stores it). */
function cloudParents(ctx: RunContext, t: TablePlan): Array<{ column: string; parent: TablePlan }> {
  return t.fks.flatMap((fk) => {
    const parent = ctx.plan.byName.get(fk.refTable);
    return parent?.cloudKey && !fk.translate && fk.refPg === parent.key[0]!.pg ? [{ column: fk.column.sqlite, parent }] : [];
  });
}

/**
 * Full scans leave to the change log (where every such row is) the rows that still wait for a
 * cloud key, and the rows that reference one: both go through pushBatch, which keys or defers them.
 */
export function skipUnkeyed(ctx: RunContext, t: TablePlan, read: Reader): Reader {
  const parents = cloudParents(ctx, t);
  if (!t.cloudKey && parents.length === 0) return read;
  const db = ctx.sqlite.db;
  return (after, limit, upTo) => {
    const rows = read(after, limit, upTo);
    const skip = new Set<string>();
    if (t.cloudKey) for (const k of newKeysAmong(db, t.sqliteName, rows.map((r) => r.lkey)).keys()) skip.add(k);
    for (const { column, parent } of parents) {
      const refOf = (raw: Record<string, unknown>) => (raw[column] === null || raw[column] === undefined ? undefined : keyString([String(raw[column])]));
      const fresh = newKeysAmong(db, parent.sqliteName, rows.flatMap((r) => refOf(r.raw) ?? []));
      for (const r of rows) if (fresh.has(refOf(r.raw) ?? '')) skip.add(r.lkey);
    }
    return skip.size === 0 ? rows : rows.map((r) => (skip.has(r.lkey) ? { ...r, skip: true } : r));
  };
}

/**
 * COPY encodes straight from SQLite, with no per-row decision: a range is sent only if, after it
 * was read, no row of this table or of a cloud-keyed parent waits for a key (rows inserted while
 * the scan runs); otherwise the range takes the row-by-row path, where skipUnkeyed applies.
 */
export function unkeyedStopsCopy(ctx: RunContext, t: TablePlan, encoder: SliceEncoder): SliceEncoder {
  const tables = [...(t.cloudKey ? [t.sqliteName] : []), ...cloudParents(ctx, t).map((p) => p.parent.sqliteName)];
  if (tables.length === 0) return encoder;
  const waiting = ctx.sqlite.db.prepare(`SELECT 1 FROM _possync_new_keys WHERE tbl IN (SELECT value FROM json_each(?)) LIMIT 1`);
  return {
    next(after, limit, upTo) {
      const slice = encoder.next(after, limit, upTo);
      return slice !== undefined && slice !== 'end' && waiting.get(JSON.stringify(tables)) !== undefined ? undefined : slice;
    },
  };
}

/**
 * Before a table's push: every row waiting for a cloud key gets it (pages of batchSize rows), so
 * the full scan can COPY and the change log pushes rows under their final keys. Rows that cannot
 * be read (a value that does not convert) stay listed; their push holds them with the reason.
 */
export async function keyWaitingRows(ctx: RunContext, t: TablePlan): Promise<void> {
  if (!t.cloudKey || ctx.dryRun) return;
  const db = ctx.sqlite.db;
  const page = db.prepare(`SELECT lkey FROM _possync_new_keys WHERE tbl = ? AND lkey > ? ORDER BY lkey LIMIT ?`);
  const gone = db.prepare(`DELETE FROM _possync_new_keys WHERE tbl = ? AND lkey IN (SELECT value FROM json_each(?))`);
  let after = '';
  for (;;) {
    const lkeys = (page.all(t.sqliteName, after, ctx.config.batchSize) as Array<{ lkey: string }>).map((r) => r.lkey);
    if (lkeys.length === 0) return;
    after = lkeys.at(-1)!;
    const prepared = ctx.sqlite.read(() => preparePush(db, ctx.plan, t, lkeys.map((lkey) => ({ lkey, op: 'U' as const, skey: null, at: null }))));
    // Listed but no longer there (deleted while capture was off): nothing to key.
    if (prepared.gone.length > 0) ctx.sqlite.immediate(() => gone.run(t.sqliteName, JSON.stringify(prepared.gone)));
    await assignCloudKeys(ctx, t, prepared);
  }
}

/**
 * Capture is being installed on a cloud-keyed table for the first time, on a till that has never
 * pulled it: the rows already there were made by this till (a till that ran before possync), or
 * are a copy of the cloud's (a till seeded from it). All are listed as needing a key; at their
 * push, one that equals the cloud row with its key is taken for that row (cloudCopies).
 */
export function markTillRowsOnce(db: SqliteDb, terminalId: string, t: TablePlan): number {
  if (captureInstalled(db, t.sqliteName) || readPullCheckpoint(db, terminalId, t.name) !== undefined) return 0;
  return markAllRowsNew(db, t.sqliteName, t.localKey);
}
