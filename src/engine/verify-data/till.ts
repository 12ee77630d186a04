import { sqliteIdent } from '../../db/quote.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { selectByKeys, type RawRow } from '../../db/sqlite/rows.ts';
import { localRowsToWire, type ToWire } from '../convert.ts';
import { keyString, parseKey } from '../keys.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import { localKeyString } from '../push/prepare.ts';
import { fromSqlite } from '../values/codec.ts';
import { addTo, bucketOf, keyHash, rowHash, type BucketSum } from './checksum.ts';

/** One till row as verify-data sees it: its shared key, local key and row hash (or why it has none). */
export interface TillRow {
  key: string;
  lkey: string;
  rh: string | undefined;
  /** The row cannot be turned into Postgres values: it can never equal its cloud version. */
  unreadable?: string;
}

const PAGE = 2_000;
/** What an unreadable row adds to its bucket: no cloud row hashes to it, so the bucket differs. */
const UNREADABLE = 'f'.repeat(32);

/**
 * Pages of the till's rows, each converted with the push's own local → wire conversion (so FK
 * translation, temporal forms and booleans are what the push would send). Rows without a shared
 * key yet (never pushed) have a pending change and are left out.
 */
function* convertedPages(db: SqliteDb, plan: SyncPlan, t: TablePlan, columns: string = '*'): Generator<Array<{ raw: RawRow; conv: ToWire }>> {
  const stmt = db.prepare(`SELECT ${columns} FROM ${sqliteIdent(t.sqliteName)}`).safeIntegers(true);
  let page: RawRow[] = [];
  const convert = () => {
    const convs = localRowsToWire(db, plan, t, page);
    const out = page.map((raw, i) => ({ raw, conv: convs[i]! }));
    page = [];
    return out;
  };
  for (const raw of stmt.iterate() as Iterable<RawRow>) {
    if (t.key.some((k) => raw[k.sqlite] === null || raw[k.sqlite] === undefined)) continue;
    page.push(raw);
    if (page.length >= PAGE) yield convert();
  }
  if (page.length > 0) yield convert();
}

/** The shared key of a row that failed conversion, when its key columns still convert. */
function sharedKey(t: TablePlan, raw: RawRow): string | undefined {
  try {
    return keyString(t.key.map((k) => fromSqlite(k.codec, raw[k.sqlite] ?? null) ?? ''));
  } catch {
    return undefined;
  }
}

function bucketOfKey(t: TablePlan, key: string, buckets: number): number {
  const parts = JSON.parse(key) as string[];
  return bucketOf(keyHash(t, Object.fromEntries(t.key.map((k, j) => [k.pg, parts[j] ?? null]))), buckets);
}

/**
 * Pass 1: every till row's bucket checksum. Nothing per row is kept, so memory stays flat
 * whatever the table's size. `betweenPages` runs between pages (the cloud's query runs meanwhile).
 */
export async function tillBuckets(
  db: SqliteDb,
  plan: SyncPlan,
  t: TablePlan,
  buckets: number,
  betweenPages: () => Promise<void>,
): Promise<{ sums: Map<number, BucketSum>; rows: number }> {
  const sums = new Map<number, BucketSum>();
  let rows = 0;
  for (const page of convertedPages(db, plan, t)) {
    await betweenPages();
    for (const { raw, conv } of page) {
      if (conv.ok) {
        addTo(sums, bucketOf(keyHash(t, conv.row), buckets), rowHash(t, conv.row));
        rows += 1;
        continue;
      }
      const key = sharedKey(t, raw);
      if (key === undefined) continue;
      addTo(sums, bucketOfKey(t, key, buckets), UNREADABLE);
      rows += 1;
    }
  }
  return { sums, rows };
}

/**
 * Pass 2, only when buckets differ: the rows of those buckets with key, local key and hash. It
 * reads just the key columns (the shared key and the local key) of every row; rows in a differing
 * bucket are then read in full by local key and converted. A table whose key is a translated FK
 * (the till stores a parent's local id) needs the full conversion for every row instead.
 */
export function tillLeaves(db: SqliteDb, plan: SyncPlan, t: TablePlan, buckets: number, which: ReadonlySet<number>): TillRow[] {
  if (which.size === 0) return [];
  const translatedKey = t.fks.some((f) => f.translate && t.key.includes(f.column));
  const lkeys: string[] = [];
  if (!translatedKey) {
    const cols = [...new Set([...t.localKey, ...t.key.map((k) => k.sqlite)])].map(sqliteIdent).join(', ');
    const stmt = db.prepare(`SELECT ${cols} FROM ${sqliteIdent(t.sqliteName)}`).safeIntegers(true);
    for (const raw of stmt.iterate() as Iterable<RawRow>) {
      if (t.key.some((k) => raw[k.sqlite] === null || raw[k.sqlite] === undefined)) continue;
      const key = sharedKey(t, raw);
      if (key === undefined || which.has(bucketOfKey(t, key, buckets))) lkeys.push(localKeyString(t, raw));
    }
  }
  const out: TillRow[] = [];
  const take = (raw: RawRow, conv: ToWire) => {
    const lkey = localKeyString(t, raw);
    if (conv.ok) {
      if (which.has(bucketOf(keyHash(t, conv.row), buckets))) out.push({ key: keyString(t.key.map((k) => conv.row[k.pg] ?? '')), lkey, rh: rowHash(t, conv.row) });
      return;
    }
    const key = sharedKey(t, raw);
    if (key !== undefined && which.has(bucketOfKey(t, key, buckets))) out.push({ key, lkey, rh: undefined, unreadable: conv.reason });
  };
  if (translatedKey) {
    for (const page of convertedPages(db, plan, t)) for (const { raw, conv } of page) take(raw, conv);
    return out;
  }
  const cols = [...new Set([...t.localKey, ...t.columns.map((c) => c.sqlite)])];
  for (let i = 0; i < lkeys.length; i += PAGE) {
    const raws = selectByKeys(db, t.sqliteName, t.localKey, cols, lkeys.slice(i, i + PAGE).map(parseKey));
    localRowsToWire(db, plan, t, raws).forEach((conv, j) => take(raws[j]!, conv));
  }
  return out;
}

/**
 * What the till still has to push or pull for this table: local keys with changes in
 * _possync_changes or held push rows, shared keys of pending local deletes, and shared keys of
 * held pull rows. Read after the scan: a till edit made during the scan is captured in the same
 * transaction as the edit, so it is in these sets.
 */
export function tillInFlight(db: SqliteDb, t: TablePlan): { lkeys: Set<string>; keys: Set<string> } {
  const lkeys = new Set<string>();
  const keys = new Set<string>();
  for (const r of db.prepare(`SELECT lkey, skey FROM _possync_changes WHERE tbl = ?`).all(t.sqliteName) as Array<{ lkey: string; skey: string | null }>) {
    lkeys.add(r.lkey);
    if (r.skey) keys.add(r.skey);
  }
  for (const r of db.prepare(`SELECT side, key, detail FROM _possync_held WHERE tbl = ?`).all(t.name) as Array<{ side: string; key: string; detail: string | null }>) {
    if (r.side === 'pull') keys.add(r.key);
    else {
      lkeys.add(r.key);
      const skey = r.detail ? (JSON.parse(r.detail) as { skey?: string }).skey : undefined;
      if (skey) keys.add(skey);
    }
  }
  return { lkeys, keys };
}
