import { maxIntegerKey, moveNewKey, newKeysAmong } from '../../db/sqlite/new-keys.ts';
import { rekeyLocalRow, repointChildren } from '../../db/sqlite/rekey.ts';
import { selectByKeys, type RawValue } from '../../db/sqlite/rows.ts';
import type { RunContext } from '../context.ts';
import { keyString, type Key } from '../keys.ts';
import type { TablePlan } from '../plan/types.ts';
import { childReferences } from '../push/natural-key.ts';
import { localKeyString } from '../push/prepare.ts';
import { toSqlite } from '../values/codec.ts';

/**
 * assignKey "cloud": a pulled row (or delete) whose key equals the number SQLite gave a row this
 * till created and has not pushed yet is a different row. The local row moves out of the way,
 * under the next free local number, with its pending change-log entries, held entries and the
 * till rows that reference it; it keeps waiting for its cloud key. Runs inside the pull's
 * transaction (capture suppressed), before the batch compares anything.
 */
export function moveUnkeyedAside(ctx: RunContext, t: TablePlan, keys: readonly Key[]): void {
  if (!t.cloudKey || keys.length === 0) return;
  const db = ctx.sqlite.db;
  const k = t.key[0]!;
  const fresh = newKeysAmong(db, t.sqliteName, keys.map((key) => keyString(key)));
  if (fresh.size === 0) return;
  const present = selectByKeys(db, t.sqliteName, t.localKey, t.localKey, [...fresh.keys()].map((l) => JSON.parse(l) as string[]));
  if (present.length === 0) return;
  // Past every key of this batch too (a later batch may move it again).
  const floor = keys.map((key) => BigInt(key[0] ?? '0')).reduce((a, b) => (b > a ? b : a), 0n);
  const children = childReferences(ctx, t);
  for (const raw of present) moveAside(ctx, t, children, raw[k.sqlite] ?? null, floor);
}

/**
 * Moves the unkeyed local row with key `raw` to the next free local number above `floor`, with
 * its change-log and held entries, its place in _possync_new_keys, and the till rows that
 * reference it. The caller holds the write transaction (and decides about capture).
 */
export function moveAside(ctx: RunContext, t: TablePlan, children: ReadonlyArray<{ table: string; columns: string[] }>, raw: RawValue, floor = 0n): { oldLkey: string; newLkey: string; newRaw: RawValue } {
  const db = ctx.sqlite.db;
  const k = t.key[0]!;
  const max = maxIntegerKey(db, t.sqliteName, k.sqlite);
  const newRaw = toSqlite(k.codec, String((max > floor ? max : floor) + 1n));
  const oldLkey = localKeyString(t, { [k.sqlite]: raw });
  const newLkey = localKeyString(t, { [k.sqlite]: newRaw });
  rekeyLocalRow(db, t.sqliteName, t.localKey, [raw], [newRaw], oldLkey, newLkey);
  moveNewKey(db, t.sqliteName, oldLkey, newLkey);
  repointChildren(db, children, [raw], [newRaw]);
  return { oldLkey, newLkey, newRaw };
}
