import os from 'node:os';
import { sqliteIdent } from '../../db/quote.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import type { RawRow } from '../../db/sqlite/rows.ts';
import { localRowsToWire, type ToWire } from '../convert.ts';
import { keyString } from '../keys.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import { localKeyString } from '../push/prepare.ts';
import { fromSqlite } from '../values/codec.ts';
import { bucketOf, endedColumns, rowHash, type BucketSum } from './checksum.ts';
import { BucketTally, chunkSql, scanRange, type RowidBuckets } from './till-chunks.ts';
import { rowidRanges, scanInWorkers, workersAvailable } from './till-parallel.ts';
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
function hasRowid(db: SqliteDb, t: TablePlan): boolean {
  try {
    db.prepare(`SELECT rowid FROM ${sqliteIdent(t.sqliteName)} LIMIT 0`);
    return true;
  } catch {
    return false;
  }
}

/** A till row's hash: of its row text after the push's conversion, or UNREADABLE when that fails. */
function convertedHash(t: TablePlan, raw: RawRow, conv: ToWire): string | undefined {
  if (conv.ok) return rowHash(t, conv.row);
  return sharedKey(t, raw) === undefined ? undefined : UNREADABLE;
}

/** How the till's pass 1 may use worker threads (till-parallel.ts). */
export interface TillScanOptions {
  /** The till's database file, which each worker opens read-only. */
  file: string;
  /** Worker threads to split the scan over (below 2: the main thread scans). */
  workers: number;
  /** Rows (about) from which the workers are worth starting (~50 ms each). */
  parallelFrom: number;
  /** The table's row count or an upper bound (verify.ts sizes the buckets by it). */
  rowsAbout: number;
  /** The table's lowest and highest rowid (undefined: empty, or WITHOUT ROWID). */
  span: { lo: bigint; hi: bigint } | undefined;
}

/** Below this many rows the till's scan stays on one thread: starting workers costs ~50 ms each. */
const PARALLEL_FROM = 100_000;

/**
 * The till table's size and rowid span, read once, and how pass 1 may use worker threads
 * (default: one per CPU, at most 4, from PARALLEL_FROM rows).
 */
export function tillScanOf(db: SqliteDb, t: TablePlan, file: string, given: { workers?: number | undefined; parallelFrom?: number | undefined } = {}): TillScanOptions {
  const span = rowidSpan(db, t);
  return { file, workers: given.workers ?? Math.min(os.availableParallelism(), 4), parallelFrom: given.parallelFrom ?? PARALLEL_FROM, rowsAbout: rowsAbout(db, t, span), span };
}

/**
 * The till table's row count, or an upper bound of it: the span of its rowids when that is not
 * far beyond any bucket count, else count(*), which reads every page of an index (a tenth of a
 * second for a million rows; ids far apart, as snowflake ids are, or no rowid). Too many buckets
 * only sends more (smaller) bucket sums; the sums sent are never more than the rows.
 */
function rowsAbout(db: SqliteDb, t: TablePlan, span: TillScanOptions['span']): number {
  if (span && span.hi - span.lo + 1n <= 1n << 24n) return Number(span.hi - span.lo + 1n);
  return Number((db.prepare(`SELECT count(*) AS n FROM ${sqliteIdent(t.sqliteName)}`).get() as { n: number }).n);
}

/**
 * The till table's lowest and highest rowid, from two b-tree descents (SQLite answers a lone
 * min() or max() from the b-tree's edge, but a query with both reads the whole table).
 * Undefined for an empty table or one WITHOUT ROWID.
 */
function rowidSpan(db: SqliteDb, t: TablePlan): { lo: bigint; hi: bigint } | undefined {
  if (!hasRowid(db, t)) return undefined;
  const table = sqliteIdent(t.sqliteName);
  const r = db.prepare(`SELECT (SELECT min(rowid) FROM ${table}) AS lo, (SELECT max(rowid) FROM ${table}) AS hi`).safeIntegers(true).get() as { lo: bigint | null; hi: bigint | null };
  return r.lo === null || r.hi === null ? undefined : { lo: r.lo, hi: r.hi };
}

/**
 * Pass 1: every till row's bucket checksum. Nothing per row is kept but its rowid and bucket, so
 * memory stays flat whatever the table's size. `betweenPages` runs between pages, or every so
 * often while worker threads scan (the cloud's query runs meanwhile).
 *
 * Where SQLite can build the row text itself (till-sql.ts), the scan reads chunks of row texts
 * and only hashes them (till-chunks.ts), split over worker threads for a large table
 * (till-parallel.ts); rows stored in other spellings (no text from SQLite) are read again by
 * rowid and go through the push's conversion, as every row of other tables does (and of a
 * database in a UTF-16 encoding, whose byte lengths would not be UTF-8's).
 */
export async function tillBuckets(
  db: SqliteDb,
  plan: SyncPlan,
  t: TablePlan,
  buckets: number,
  scan: TillScanOptions,
  betweenPages: () => Promise<void>,
): Promise<{ sums: Map<number, BucketSum>; rows: number; byRowid: RowidBuckets | undefined; threads: number }> {
  const withRowid = hasRowid(db, t);
  const tally = new BucketTally(buckets);
  const add = (rh: string | undefined, rowid: unknown) => {
    if (rh !== undefined) tally.add(rh, rowid as number | bigint | undefined);
  };
  const done = (threads: number) => ({ sums: tally.sums.toMap(), rows: tally.rows, byRowid: withRowid ? tally.byRowid : undefined, threads });
  const convertOthers = (others: ReadonlyArray<number | bigint>) => {
    for (const page of convertedByRowid(db, plan, t, others)) for (const { raw, conv } of page) add(convertedHash(t, raw, conv), raw[ROWID_KEY]);
  };
  const text = withRowid && db.pragma('encoding', { simple: true }) === 'UTF-8' ? tillRowTextSql(t) : undefined;
  if (text === undefined) {
    for (const page of convertedPages(db, plan, t, withRowid)) {
      await betweenPages();
      for (const { raw, conv } of page) add(convertedHash(t, raw, conv), raw[ROWID_KEY]);
    }
    return done(1);
  }
  const present = t.key.map((k) => `t.${sqliteIdent(k.sqlite)} IS NOT NULL`).join(' AND ');
  const sql = chunkSql(sqliteIdent(t.sqliteName), text, present);
  const span = scan.workers >= 2 && scan.rowsAbout >= scan.parallelFrom && workersAvailable() ? scan.span : undefined;
  if (span) {
    const shares = await scanInWorkers({ file: scan.file, sql, ended: endedColumns(t), buckets }, rowidRanges(span.lo, span.hi, scan.workers), betweenPages);
    for (const share of shares) tally.addParts(share.tally);
    convertOthers(shares.flatMap((s) => s.others));
    return done(shares.length);
  }
  // One thread: one read transaction (scanRange's), so every chunk sees the same snapshot, and the
  // rows without a text are converted chunk by chunk inside it.
  await scanRange(db, sql, endedColumns(t), tally, { from: -(2n ** 63n), to: 2n ** 63n - 1n }, async (others) => {
    convertOthers(others);
    await betweenPages();
  });
  return done(1);
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
