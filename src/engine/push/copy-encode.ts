import { randomUUID } from 'node:crypto';
import { copyField } from '../../db/postgres/copy.ts';
import { sqliteIdent } from '../../db/quote.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { orderedScan } from '../../db/sqlite/ordered-scan.ts';
import { selectByKeys, type RawValue } from '../../db/sqlite/rows.ts';
import { keyString } from '../keys.ts';
import type { ColumnPlan, FkPlan, SyncPlan, TablePlan } from '../plan/types.ts';
import { misfit } from '../values/fits.ts';
import { fromSqlite, same, ValueError } from '../values/codec.ts';
import type { WriteBack } from './prepare.ts';

/**
 * The bulk path of a table's first push: local rows go straight from SQLite's row arrays to COPY
 * text, with no per-row objects in between (on a million rows, allocation is most of the cost).
 * It handles the common case only. Anything that needs a decision (a value that will not convert,
 * a row outside the scope, a parent that is not in the terminal database) makes the whole slice
 * return undefined, and the caller takes the row-by-row path for that batch instead.
 */
export interface EncodedSlice {
  /** COPY text, one line per row, each ending in a newline (bytes in UTF-8, or a string). */
  text: string | Buffer;
  rows: number;
  /** Shared ids and fill values assigned to local rows, written back before the COMMIT. */
  writeBack: WriteBack[];
  /** Scan position of the last row (rowid, or the local key). */
  last: string[] | undefined;
}

interface Column {
  plan: ColumnPlan;
  /** Index in the selected row array. */
  index: number;
  fk: FkPlan | undefined;
  fill: string | undefined;
  scope: string | undefined;
}

export interface SliceEncoder {
  /**
   * The next `limit` rows after `after` (exclusive) and up to `upTo` (inclusive, when given), or
   * undefined when they need the slow path.
   */
  next(after: readonly string[] | null, limit: number, upTo?: readonly string[]): EncodedSlice | undefined | 'end';
}

export function sliceEncoder(db: SqliteDb, plan: SyncPlan, t: TablePlan): SliceEncoder {
  const byRowid = !t.sqlite.withoutRowid;
  const selected = [...new Set([...t.localKey, ...t.columns.map((c) => c.sqlite)])];
  const prefix = byRowid ? 1 : 0;
  const index = (sqlite: string) => prefix + selected.indexOf(sqlite);
  const columns: Column[] = t.columns.map((c) => ({
    plan: c,
    index: index(c.sqlite),
    fk: t.fks.find((f) => f.translate && f.column === c),
    fill: t.localFills.find((f) => f.column === c)?.value,
    scope: t.scope.find((s) => s.column === c)?.value,
  }));
  const serverId = t.serverIdCol ? index(t.serverIdCol.sqlite) : -1;
  const localKey = t.localKey.map(index);
  const constants = t.constants.map((k) => copyField(k.value)).join('\t');
  const order = byRowid ? ['rowid'] : t.localKey.map(sqliteIdent);
  const scan = orderedScan(db, sqliteIdent(t.sqliteName), [...(byRowid ? ['rowid'] : []), ...selected.map(sqliteIdent)], order);

  return {
    next(after, limit, upTo) {
      const arrays = scan.page(after, upTo, limit);
      if (arrays.length === 0) return 'end';
      const parents = new Map<FkPlan, Map<string, string | null>>();
      for (const c of columns) if (c.fk) parents.set(c.fk, sharedIds(db, plan, c.fk, arrays, c.index));
      const writeBack: WriteBack[] = [];
      let text = '';
      for (const a of arrays) {
        let line = '';
        let set: Record<string, RawValue> | undefined;
        for (let i = 0; i < columns.length; i++) {
          const c = columns[i]!;
          let value = a[c.index] ?? null;
          if (c.index === serverId && value === null) {
            value = randomUUID();
            (set ??= {})[c.plan.sqlite] = value;
          } else if (c.fill !== undefined && value === null) {
            value = c.fill;
            (set ??= {})[c.plan.sqlite] = value;
          }
          let wire: string | null;
          if (c.fk && value !== null) {
            const shared = parents.get(c.fk)!.get(String(value));
            if (shared === undefined || shared === null) return undefined; // parent missing: decide row by row
            wire = shared;
          } else {
            try {
              wire = fromSqlite(c.plan.codec, value);
            } catch (err) {
              if (err instanceof ValueError) return undefined;
              throw err;
            }
            if (misfit(c.plan.family, c.plan.modifier, wire) !== undefined) return undefined;
            if (c.scope !== undefined && !same(c.plan.family, wire, c.scope)) return undefined;
          }
          line += i === 0 ? copyField(wire) : `\t${copyField(wire)}`;
        }
        if (constants !== '') line += `\t${constants}`;
        text += `${line}\n`;
        if (set) writeBack.push({ lkey: keyString(localKey.map((i) => String(a[i]))), set });
      }
      const lastRow = arrays.at(-1)!;
      const last = byRowid ? [String(lastRow[0])] : localKey.map((i) => String(lastRow[i]));
      return { text, rows: arrays.length, writeBack, last };
    },
  };
}

/** For a translated FK: the parent's shared id for every local parent id in the slice. */
function sharedIds(db: SqliteDb, plan: SyncPlan, fk: FkPlan, arrays: RawValue[][], index: number): Map<string, string | null> {
  const parent = plan.byName.get(fk.refTable)!;
  const ids = [...new Set(arrays.map((a) => a[index]).filter((v) => v !== null && v !== undefined).map(String))];
  const found = selectByKeys(db, parent.sqliteName, [parent.localPk!], [parent.localPk!, parent.serverIdCol!.sqlite], ids.map((id) => [id]));
  const map = new Map<string, string | null>();
  for (const r of found) {
    const sid = r[parent.serverIdCol!.sqlite];
    map.set(String(r[parent.localPk!]), sid === null || sid === undefined ? null : fromSqlite(parent.serverIdCol!.codec, sid));
  }
  return map;
}
