import { isUtf8 } from 'node:buffer';
import { sqliteIdent } from '../../db/quote.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import type { RawRow } from '../../db/sqlite/rows.ts';
import { localRowsToWire, type ToWire } from '../convert.ts';
import { keyString } from '../keys.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import { localKeyString } from '../push/prepare.ts';
import { fromSqlite } from '../values/codec.ts';
import { BucketSums, bucketOf, md5, rowHash, type BucketSum } from './checksum.ts';
import { tillRowTextSql } from './till-sql.ts';

/** One till row as verify-data sees it: its shared key, local key and row hash (or why it has none). */
export interface TillRow {
  key: string;
  lkey: string;
  rh: string | undefined;
  /** The row cannot be turned into Postgres values: it can never equal its cloud version. */
  unreadable?: string;
}

const PAGE = 2_000;
/** Rows a chunk of the SQLite-built scan reads at once (about 0.7 MB of row text for a typical row). */
const CHUNK = 4_096;
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

/**
 * The rows with these rowids, a page at a time, converted as convertedPages converts (with their
 * rowid under ROWID). json_each reads the rowid list exactly, bigints beyond 2^53 included.
 */
function* convertedByRowid(db: SqliteDb, plan: SyncPlan, t: TablePlan, rowids: ReadonlyArray<number | bigint>): Generator<Array<{ raw: RawRow; conv: ToWire }>> {
  const stmt = db.prepare(`SELECT t.rowid AS ${ROWID}, t.* FROM json_each(?) AS j JOIN ${sqliteIdent(t.sqliteName)} AS t ON t.rowid = j.value`).safeIntegers(true);
  for (let i = 0; i < rowids.length; i += PAGE) {
    const raws = stmt.all(`[${rowids.slice(i, i + PAGE).join(',')}]`) as RawRow[];
    const convs = localRowsToWire(db, plan, t, raws);
    yield raws.map((raw, j) => ({ raw, conv: convs[j]! }));
  }
}

/** The shared key of a row that failed conversion, when its key columns still convert. */
function sharedKey(t: TablePlan, raw: RawRow): string | undefined {
  try {
    return keyString(t.key.map((k) => fromSqlite(k.codec, raw[k.sqlite] ?? null) ?? ''));
  } catch {
    return undefined;
  }
}

/** Whether the table has rowids (not WITHOUT ROWID): pass 1 then remembers each row's bucket by rowid. */
export function hasRowid(db: SqliteDb, t: TablePlan): boolean {
  try {
    db.prepare(`SELECT rowid FROM ${sqliteIdent(t.sqliteName)} LIMIT 0`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Rowids and buckets of every row pass 1 hashed: 12 bytes a row, so pass 2 reads only the rows it
 * needs. A rowid beyond 2^53 (an INTEGER PRIMARY KEY holding snowflake ids) has no exact double:
 * those are kept as bigints on the side.
 */
export class RowidBuckets {
  private rowids = new Float64Array(1024);
  private buckets = new Int32Array(1024);
  private n = 0;
  private big: Array<{ rowid: bigint; bucket: number }> = [];
  add(rowid: number | bigint, bucket: number): void {
    if (typeof rowid === 'bigint') {
      if (rowid > BigInt(Number.MAX_SAFE_INTEGER) || rowid < BigInt(Number.MIN_SAFE_INTEGER)) {
        this.big.push({ rowid, bucket });
        return;
      }
      rowid = Number(rowid);
    }
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
  in(which: ReadonlySet<number>): Array<number | bigint> {
    const out: Array<number | bigint> = [];
    for (let i = 0; i < this.n; i++) if (which.has(this.buckets[i]!)) out.push(this.rowids[i]!);
    for (const b of this.big) if (which.has(b.bucket)) out.push(b.rowid);
    return out;
  }
}

/** A till row's hash: of its row text after the push's conversion, or UNREADABLE when that fails. */
function convertedHash(t: TablePlan, raw: RawRow, conv: ToWire): string | undefined {
  if (conv.ok) return rowHash(t, conv.row);
  return sharedKey(t, raw) === undefined ? undefined : UNREADABLE;
}

/**
 * Hashes each row text of a chunk (`<rowid>,<row text>` back to back, see tillBuckets) from the
 * chunk's bytes, and returns the rowids of rows without a text (`?`). Each row text is `columns`
 * parts, each `N` or `<byte length>:<bytes>`, so it ends where its last part does: no separator
 * is needed, and the lengths are SQLite's own count of the same bytes. A chunk that is not valid
 * UTF-8 (a till can store any bytes as TEXT) is handed over whole to the conversion, which sees
 * what the push would send: the driver's text with U+FFFD in place of each invalid sequence.
 */
function hashChunk(blob: Buffer, columns: number, add: (rh: string, rowid: number | bigint) => void): Array<number | bigint> {
  const others: Array<number | bigint> = [];
  const valid = isUtf8(blob);
  let at = 0;
  while (at < blob.length) {
    // The rowid: an integer, maybe negative, maybe beyond 2^53.
    const from = at;
    let rowid = 0;
    let negative = false;
    if (blob[at] === 45) {
      negative = true;
      at++;
    }
    for (; at < blob.length && blob[at] !== 44; at++) rowid = rowid * 10 + (blob[at]! - 48);
    const id: number | bigint = at - from > 15 ? BigInt(blob.toString('latin1', from, at)) : negative ? -rowid : rowid;
    at++; // ','
    if (blob[at] === 63) {
      others.push(id);
      at++;
      continue;
    }
    const start = at;
    for (let i = 0; i < columns; i++) {
      if (blob[at] === 78) {
        at++;
        continue;
      }
      let len = 0;
      for (; at < blob.length && blob[at] !== 58; at++) len = len * 10 + (blob[at]! - 48);
      at += len + 1;
    }
    if (at > blob.length) throw new Error('verify-data: a row text of the till scan ends past its chunk');
    if (valid) add(md5(blob.subarray(start, at)), id);
    else others.push(id);
  }
  return others;
}

/**
 * Pass 1: every till row's bucket checksum. Nothing per row is kept but its rowid and bucket, so
 * memory stays flat whatever the table's size. `betweenPages` runs between pages (the cloud's
 * query runs meanwhile).
 *
 * Where SQLite can build the row text itself (till-sql.ts), the scan reads chunks of row texts
 * and only hashes them; rows stored in other spellings (no text from SQLite) are read again by
 * rowid a chunk at a time and go through the push's conversion, as every row of other tables does
 * (and of a database in a UTF-16 encoding, whose byte lengths would not be UTF-8's).
 */
export async function tillBuckets(
  db: SqliteDb,
  plan: SyncPlan,
  t: TablePlan,
  buckets: number,
  betweenPages: () => Promise<void>,
): Promise<{ sums: Map<number, BucketSum>; rows: number; byRowid: RowidBuckets | undefined }> {
  const sums = new BucketSums(buckets);
  let rows = 0;
  const byRowid = hasRowid(db, t) ? new RowidBuckets() : undefined;
  const add = (rh: string | undefined, rowid: unknown) => {
    if (rh === undefined) return;
    const bucket = bucketOf(rh, buckets);
    sums.add(bucket, rh);
    rows += 1;
    byRowid?.add(rowid as number | bigint, bucket);
  };
  const text = byRowid && db.pragma('encoding', { simple: true }) === 'UTF-8' ? tillRowTextSql(t) : undefined;
  if (!byRowid || text === undefined) {
    for (const page of convertedPages(db, plan, t, byRowid !== undefined)) {
      await betweenPages();
      for (const { raw, conv } of page) add(convertedHash(t, raw, conv), raw[ROWID_KEY]);
    }
    return { sums: sums.toMap(), rows, byRowid };
  }
  const present = t.key.map((k) => `t.${sqliteIdent(k.sqlite)} IS NOT NULL`).join(' AND ');
  // A chunk of rows as one blob: each row `<rowid>,<row text>` (or `<rowid>,?` when SQLite has no
  // text for it), back to back. One value a chunk crosses into JavaScript instead of one row
  // each, and the row texts are hashed straight from its bytes (see hashChunk).
  const chunk = db
    .prepare(
      `SELECT max(rid) AS last, count(*) AS n, CAST(group_concat(r, '') AS BLOB) AS text
         FROM (SELECT t.rowid AS rid, t.rowid || ',' || coalesce(${text}, '?') AS r FROM ${sqliteIdent(t.sqliteName)} AS t
                WHERE t.rowid > ? AND ${present} ORDER BY t.rowid LIMIT ${CHUNK})`,
    )
    .safeIntegers(true);
  // One read transaction, so every chunk sees the same snapshot, as one long statement would.
  const own = !db.inTransaction;
  if (own) db.exec('BEGIN');
  try {
    let after = -(2n ** 63n);
    for (;;) {
      const { last, n, text: blob } = chunk.get(after) as { last: bigint | null; n: bigint; text: Buffer | null };
      if (last === null || blob === null) break;
      const others = hashChunk(blob, t.columns.length, add);
      for (const page of convertedByRowid(db, plan, t, others)) for (const { raw, conv } of page) add(convertedHash(t, raw, conv), raw[ROWID_KEY]);
      await betweenPages();
      if (n < BigInt(CHUNK)) break;
      after = last;
    }
  } finally {
    if (own && db.inTransaction) db.exec('COMMIT');
  }
  return { sums: sums.toMap(), rows, byRowid };
}

/**
 * Pass 2, only when buckets differ: the rows of those buckets with key, local key and hash. With
 * rowids (most tables) pass 1 noted each row's bucket, so only those rows are read again; a
 * WITHOUT ROWID table converts every row again and keeps those whose hash falls in a differing
 * bucket. The hash here is always the push's conversion's, whichever way pass 1 computed it.
 */
export function tillLeaves(db: SqliteDb, plan: SyncPlan, t: TablePlan, buckets: number, which: ReadonlySet<number>, byRowid: RowidBuckets | undefined): TillRow[] {
  if (which.size === 0) return [];
  const out: TillRow[] = [];
  const take = (raw: RawRow, conv: ToWire, inBucket: (rh: string) => boolean) => {
    const rh = convertedHash(t, raw, conv);
    if (rh === undefined || !inBucket(rh)) return;
    const lkey = localKeyString(t, raw);
    if (conv.ok) out.push({ key: keyString(t.key.map((k) => conv.row[k.pg] ?? '')), lkey, rh });
    else out.push({ key: sharedKey(t, raw)!, lkey, rh: undefined, unreadable: conv.reason });
  };
  const rowids = byRowid?.in(which);
  if (!rowids) {
    const differs = (rh: string) => which.has(bucketOf(rh, buckets));
    for (const page of convertedPages(db, plan, t)) for (const { raw, conv } of page) take(raw, conv, differs);
    return out;
  }
  // Pass 1 put these rows in differing buckets: each is taken, with the conversion's hash.
  for (const page of convertedByRowid(db, plan, t, rowids)) for (const { raw, conv } of page) take(raw, conv, () => true);
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
