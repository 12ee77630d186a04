import { sqliteIdent } from '../../db/quote.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { selectByKeys, type RawRow } from '../../db/sqlite/rows.ts';
import { localRowsToWire, type ToWire } from '../convert.ts';
import { keyString, parseKey } from '../keys.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import { localKeyString } from '../push/prepare.ts';
import { fromSqlite } from '../values/codec.ts';
import { addTo, bucketOf, keyHash, keyPartsHash, rowHash, type BucketSum } from './checksum.ts';

/** One till row as verify-data sees it: its shared key, local key and row hash (or why it has none). */
export interface TillRow {
  key: string;
  lkey: string;
  rh: string | undefined;
  /** The row cannot be turned into Postgres values: it can never equal its cloud version. */
  unreadable?: string;
}

const PAGE = 2_000;
/** The alias pass 1 reads each row's rowid under (a name no application column is expected to have). */
const ROWID = '"_possync_verify_rowid"';
const ROWID_KEY = '_possync_verify_rowid';
/** What an unreadable row adds to its bucket: no cloud row hashes to it, so the bucket differs. */
const UNREADABLE = 'f'.repeat(32);

/**
 * Pages of the till's rows, each converted with the push's own local → wire conversion (so FK
 * translation, temporal forms and booleans are what the push would send). Rows without a shared
 * key yet (never pushed) have a pending change and are left out.
 */
function* convertedPages(db: SqliteDb, plan: SyncPlan, t: TablePlan, withRowid = false): Generator<Array<{ raw: RawRow; conv: ToWire }>> {
  const stmt = db.prepare(`SELECT ${withRowid ? `rowid AS ${ROWID}, ` : ''}* FROM ${sqliteIdent(t.sqliteName)}`).safeIntegers(true);
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
  return bucketOf(keyPartsHash(t, JSON.parse(key) as string[]), buckets);
}

/** Whether the table has rowids (not WITHOUT ROWID): pass 1 then remembers each row's bucket by rowid. */
function hasRowid(db: SqliteDb, t: TablePlan): boolean {
  try {
    db.prepare(`SELECT rowid FROM ${sqliteIdent(t.sqliteName)} LIMIT 0`);
    return true;
  } catch {
    return false;
  }
}

/** Rowids and buckets of every row pass 1 hashed: 12 bytes a row, so pass 2 reads only the rows it needs. */
export class RowidBuckets {
  private rowids = new Float64Array(1024);
  private buckets = new Int32Array(1024);
  private n = 0;
  add(rowid: number, bucket: number): void {
    if (this.n === this.rowids.length) {
      const grow = <A extends Float64Array | Int32Array>(a: A, make: (n: number) => A) => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.rowids = grow(this.rowids, (n) => new Float64Array(n));
      this.buckets = grow(this.buckets, (n) => new Int32Array(n));
    }
    this.rowids[this.n] = rowid;
    this.buckets[this.n] = bucket;
    this.n += 1;
  }
  in(which: ReadonlySet<number>): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) if (which.has(this.buckets[i]!)) out.push(this.rowids[i]!);
    return out;
  }
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
): Promise<{ sums: Map<number, BucketSum>; rows: number; byRowid: RowidBuckets | undefined }> {
  const sums = new Map<number, BucketSum>();
  let rows = 0;
  const byRowid = hasRowid(db, t) ? new RowidBuckets() : undefined;
  for (const page of convertedPages(db, plan, t, byRowid !== undefined)) {
    await betweenPages();
    for (const { raw, conv } of page) {
      let bucket: number;
      if (conv.ok) {
        bucket = bucketOf(keyHash(t, conv.row), buckets);
        addTo(sums, bucket, rowHash(t, conv.row));
      } else {
        const key = sharedKey(t, raw);
        if (key === undefined) continue;
        bucket = bucketOfKey(t, key, buckets);
        addTo(sums, bucket, UNREADABLE);
      }
      rows += 1;
      byRowid?.add(Number(raw[ROWID_KEY]), bucket);
    }
  }
  return { sums, rows, byRowid };
}

/**
 * Pass 2, only when buckets differ: the rows of those buckets with key, local key and hash. With
 * rowids (most tables) pass 1 noted each row's bucket, so only those rows are read again. A
 * WITHOUT ROWID table reads just the key columns of every row; a WITHOUT ROWID table whose key is
 * a translated FK (the till stores a parent's local id) converts every row again. The rows found
 * are read in full by local key and converted.
 */
export function tillLeaves(db: SqliteDb, plan: SyncPlan, t: TablePlan, buckets: number, which: ReadonlySet<number>, byRowid: RowidBuckets | undefined): TillRow[] {
  if (which.size === 0) return [];
  const translatedKey = t.fks.some((f) => f.translate && t.key.includes(f.column));
  const lkeys: string[] = [];
  const rowids = byRowid?.in(which);
  if (rowids) {
    // Pass 1 remembered each row's bucket: only the rows of differing buckets are read again.
    const cols = [...new Set([...t.localKey, ...t.key.map((k) => k.sqlite)])].map((c) => `t.${sqliteIdent(c)} AS ${sqliteIdent(c)}`).join(', ');
    const stmt = db.prepare(`SELECT ${cols} FROM json_each(?) AS j JOIN ${sqliteIdent(t.sqliteName)} AS t ON t.rowid = j.value`).safeIntegers(true);
    for (let i = 0; i < rowids.length; i += PAGE) {
      for (const raw of stmt.all(JSON.stringify(rowids.slice(i, i + PAGE))) as RawRow[]) lkeys.push(localKeyString(t, raw));
    }
  } else if (!translatedKey) {
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
  if (translatedKey && !rowids) {
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
