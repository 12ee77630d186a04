import type { SqliteDb } from '../db/sqlite/gateway.ts';
import { selectByKeys, type RawRow, type RawValue } from '../db/sqlite/rows.ts';
import type { WireRow } from './decide.ts';
import { displayKey, type Key } from './keys.ts';
import type { FkPlan, SyncPlan, TablePlan } from './plan/types.ts';
import { fromSqlite, same, toSqlite, ValueError, type Wire } from './values/codec.ts';
import { misfit } from './values/fits.ts';

/** A local row turned into wire values, or the reason it cannot be (yet). */
export type ToWire =
  | { ok: true; row: WireRow }
  | { ok: false; kind: 'rejected' | 'deferred'; reason: string };

export function keyOf(t: TablePlan, row: WireRow): Key {
  return t.key.map((c) => row[c.pg] ?? '');
}

export function describeRow(t: TablePlan, row: WireRow): string {
  return `${t.name}:${displayKey(keyOf(t, row))}`;
}

/**
 * For every translated FK (the SQLite child stores the parent's local id), maps the local ids
 * found in `raws` to the parent's shared id. Missing parents map to undefined.
 */
function localToShared(db: SqliteDb, plan: SyncPlan, t: TablePlan, raws: readonly RawRow[]): Map<FkPlan, Map<string, Wire | undefined>> {
  const maps = new Map<FkPlan, Map<string, Wire | undefined>>();
  for (const fk of t.fks.filter((f) => f.translate)) {
    const parent = plan.byName.get(fk.refTable)!;
    const ids = [...new Set(raws.map((r) => r[fk.column.sqlite]).filter((v) => v !== null && v !== undefined).map(String))];
    const found = selectByKeys(db, parent.sqliteName, [parent.localPk!], [parent.localPk!, parent.serverIdCol!.sqlite], ids.map((id) => [id]));
    const map = new Map<string, Wire | undefined>();
    for (const r of found) {
      const sid = r[parent.serverIdCol!.sqlite];
      map.set(String(r[parent.localPk!]), sid === null || sid === undefined ? null : fromSqlite(parent.serverIdCol!.codec, sid));
    }
    maps.set(fk, map);
  }
  return maps;
}

/** Converts local rows to wire rows (push, and comparing local rows during pull). */
export function localRowsToWire(db: SqliteDb, plan: SyncPlan, t: TablePlan, raws: readonly RawRow[]): ToWire[] {
  const translations = localToShared(db, plan, t, raws);
  const columns = t.columns.map((c) => ({ c, fk: t.fks.find((f) => f.translate && f.column === c) }));
  return raws.map((raw) => {
    const row: WireRow = {};
    for (const { c, fk } of columns) {
      const value = raw[c.sqlite] ?? null;
      if (fk && value !== null) {
        const shared = translations.get(fk)!.get(String(value));
        if (shared === undefined || shared === null) {
          const who = t.key.every((k) => row[k.pg] !== undefined) ? describeRow(t, row) : `${t.name}:local ${String(raw[t.localKey[0]!])}`;
          return { ok: false, kind: 'deferred', reason: `${who} waits for ${c.pg} → ${fk.refTable}[local ${String(value)}]` };
        }
        row[c.pg] = shared;
        continue;
      }
      try {
        row[c.pg] = fromSqlite(c.codec, value);
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        return { ok: false, kind: 'rejected', reason: `${err.message} (column ${c.sqlite})` };
      }
      const wontFit = misfit(c.family, c.modifier, row[c.pg] ?? null);
      if (wontFit) return { ok: false, kind: 'rejected', reason: `${wontFit} (column ${c.sqlite})` };
    }
    return { ok: true, row };
  });
}

export type ToLocal =
  | {
      ok: true;
      values: Record<string, RawValue>;
      /** Translated FK columns whose parent is not local yet: left NULL in `values`, with why. */
      missing: Array<{ sqlite: string; reason: string }>;
    }
  | { ok: false; kind: 'rejected' | 'deferred'; reason: string };

/**
 * Converts wire rows to SQLite values (pull). Translated FKs become the parent's local id; a
 * parent that is not in the terminal database yet defers the row.
 */
export function wireRowsToLocal(db: SqliteDb, plan: SyncPlan, t: TablePlan, rows: readonly WireRow[]): ToLocal[] {
  const maps = new Map<FkPlan, Map<string, RawValue>>();
  for (const fk of t.fks.filter((f) => f.translate)) {
    const parent = plan.byName.get(fk.refTable)!;
    const ids = [...new Set(rows.map((r) => r[fk.column.pg]).filter((v): v is string => v !== null && v !== undefined))];
    const found = selectByKeys(db, parent.sqliteName, [parent.serverIdCol!.sqlite], [parent.localPk!, parent.serverIdCol!.sqlite], ids.map((id) => [id]));
    maps.set(fk, new Map(found.map((r) => [String(r[parent.serverIdCol!.sqlite]), r[parent.localPk!] ?? null])));
  }
  const columns = t.columns.map((c) => ({ c, fk: t.fks.find((f) => f.translate && f.column === c) }));
  return rows.map((row) => {
    const values: Record<string, RawValue> = {};
    const missing: Array<{ sqlite: string; reason: string }> = [];
    for (const { c, fk } of columns) {
      const wire = row[c.pg] ?? null;
      if (fk && wire !== null) {
        const local = maps.get(fk)!.get(wire);
        if (local === undefined) missing.push({ sqlite: c.sqlite, reason: `${c.pg} → ${fk.refTable}[${wire}]` });
        values[c.sqlite] = local ?? null;
        continue;
      }
      try {
        values[c.sqlite] = toSqlite(c.codec, wire);
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        return { ok: false, kind: 'rejected', reason: `column ${c.pg}: ${err.message}` };
      }
    }
    return { ok: true, values, missing };
  });
}

/**
 * Values the terminal already holds in an equivalent spelling ('1980.5' for the cloud's
 * '1980.50', an unpadded char(n)) stay as the terminal wrote them (see mergeForUpdate). Every
 * path that writes a cloud version over an existing local row goes through this (the pull, and
 * the push writing back a conflict it lost), so where a run was interrupted does not decide
 * which spelling the till ends with.
 */
export function keepLocalSpelling(t: TablePlan, values: Record<string, RawValue>, incoming: WireRow, localRow: WireRow, localRaw: RawRow): Record<string, RawValue> {
  const out = { ...values };
  for (const c of t.columns) {
    const mine = localRow[c.pg];
    if (mine !== undefined && same(c.codec, incoming[c.pg] ?? null, mine)) out[c.sqlite] = localRaw[c.sqlite] ?? null;
  }
  return out;
}
