import { isUtf8 } from 'node:buffer';
import type { Database } from 'better-sqlite3';
import { BucketSums, bucketOf, md5, type BucketSumParts } from './checksum.ts';

/**
 * The till's chunked scan of one rowid range, where SQLite builds each row's text (till-sql.ts)
 * and this code only hashes it. It imports nothing of the engine but the checksums, so the same
 * code runs on the main thread and in a worker thread (till-worker.ts) over its own connection.
 */

/** Rows a chunk reads at once (about 0.7 MB of row text for a typical row). */
export const CHUNK = 4_096;

/** The scan of one rowid range: `(from, to]`, both bigint (rowids may pass 2^53). */
export interface ChunkRange {
  from: bigint;
  to: bigint;
}

/**
 * A chunk of rows as one blob: each row `<rowid>,<row text>` (or `<rowid>,?` when SQLite has no
 * text for it), back to back. One value a chunk crosses into JavaScript instead of one row each,
 * and the row texts are hashed straight from its bytes (see hashChunk). `text` is the row text
 * expression over alias `t` (till-sql.ts), `present` the condition that the key is not NULL.
 */
export function chunkSql(table: string, text: string, present: string): string {
  return `SELECT max(rid) AS last, count(*) AS n, CAST(group_concat(r, '') AS BLOB) AS text
            FROM (SELECT t.rowid AS rid, t.rowid || ',' || coalesce(${text}, '?') AS r FROM ${table} AS t
                   WHERE t.rowid > ? AND t.rowid <= ? AND ${present} ORDER BY t.rowid LIMIT ${CHUNK})`;
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
    if (this.n === this.rowids.length) this.grow(this.n * 2);
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
  /** The arrays as a worker sends them (trimmed to their rows, so the buffers can be transferred). */
  toParts(): RowidBucketParts {
    return { rowids: this.rowids.slice(0, this.n), buckets: this.buckets.slice(0, this.n), big: this.big };
  }
  /** Adds another scan's rows (a worker's range). */
  addParts(p: RowidBucketParts): void {
    if (this.n + p.rowids.length > this.rowids.length) this.grow(Math.max(this.rowids.length * 2, this.n + p.rowids.length));
    this.rowids.set(p.rowids, this.n);
    this.buckets.set(p.buckets, this.n);
    this.n += p.rowids.length;
    this.big.push(...p.big);
  }
  private grow(size: number): void {
    const rowids = new Float64Array(size);
    rowids.set(this.rowids.subarray(0, this.n));
    const buckets = new Int32Array(size);
    buckets.set(this.buckets.subarray(0, this.n));
    this.rowids = rowids;
    this.buckets = buckets;
  }
}

export interface RowidBucketParts {
  rowids: Float64Array;
  buckets: Int32Array;
  big: Array<{ rowid: bigint; bucket: number }>;
}

/**
 * Hashes each row text of a chunk (`<rowid>,<row text>` back to back) from the chunk's bytes, and
 * returns the rowids of rows without a text (`?`). Each row text is one part a column, `N` or
 * `<byte length>:<bytes>`, or for a column in `ended` (checksum.ts encode) bytes without '|' then
 * '|', so it ends where its last part does: no separator is needed, and the lengths are SQLite's
 * own count of the same bytes. A chunk that is not valid UTF-8 (a till can
 * store any bytes as TEXT) is handed over whole to the conversion, which sees what the push would
 * send: the driver's text with U+FFFD in place of each invalid sequence.
 */
export function hashChunk(blob: Buffer, ended: readonly boolean[], add: (rh: string, rowid: number | bigint) => void): Array<number | bigint> {
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
    for (let i = 0; i < ended.length; i++) {
      if (ended[i]) {
        const bar = blob.indexOf(124, at);
        at = bar < 0 ? blob.length + 1 : bar + 1;
        continue;
      }
      if (blob[at] === 78) {
        at++;
        continue;
      }
      let len = 0;
      for (; at < blob.length && blob[at] !== 58; at++) len = len * 10 + (blob[at]! - 48);
      at += len + 1;
    }
    // Neither can happen with texts of till-sql.ts; checked so a mismatch fails rather than spins.
    if (at > blob.length || at <= start) throw new Error('verify-data: a row text of the till scan does not fit its chunk');
    if (valid) add(md5(blob.subarray(start, at)), id);
    else others.push(id);
  }
  return others;
}

/**
 * What pass 1 has hashed so far: bucket sums, row count, and each row's bucket by rowid. The main
 * thread keeps one for the table; each worker thread fills its own, sent back as parts.
 */
export class BucketTally {
  readonly sums: BucketSums;
  rows = 0;
  readonly byRowid = new RowidBuckets();
  constructor(private readonly buckets: number) {
    this.sums = new BucketSums(buckets);
  }
  /** One row's hash; its rowid too when the table has rowids. */
  add(rh: string, rowid: number | bigint | undefined): void {
    const bucket = bucketOf(rh, this.buckets);
    this.sums.add(bucket, rh);
    this.rows += 1;
    if (rowid !== undefined) this.byRowid.add(rowid, bucket);
  }
  /** Its arrays, for a worker's answer (its own ArrayBuffers, so they can be moved, not copied). */
  toParts(): TallyParts {
    return { rows: this.rows, sums: this.sums.toParts(), byRowid: this.byRowid.toParts() };
  }
  /** Adds a worker's tally. */
  addParts(p: TallyParts): void {
    this.sums.addParts(p.sums);
    this.byRowid.addParts(p.byRowid);
    this.rows += p.rows;
  }
}

export interface TallyParts {
  rows: number;
  sums: BucketSumParts;
  byRowid: RowidBucketParts;
}

/**
 * Scans `(range.from, range.to]` chunk by chunk with the statement chunkSql builds, into `tally`, in one read
 * transaction of its own when the connection has none, so every chunk sees the same snapshot.
 * After each chunk, `afterChunk` gets the rowids of its rows SQLite gave no text for (other
 * spellings, invalid UTF-8), for the push's conversion to hash.
 */
export async function scanRange(
  db: Database,
  sql: string,
  ended: readonly boolean[],
  tally: BucketTally,
  range: ChunkRange,
  afterChunk: (others: Array<number | bigint>) => Promise<void> | void,
): Promise<void> {
  const add = (rh: string, rowid: number | bigint) => tally.add(rh, rowid);
  const chunk = db.prepare(sql).safeIntegers(true);
  const own = !db.inTransaction;
  if (own) db.exec('BEGIN');
  try {
    let after = range.from;
    for (;;) {
      const { last, n, text: blob } = chunk.get(after, range.to) as { last: bigint | null; n: bigint; text: Buffer | null };
      if (last === null || blob === null) break;
      await afterChunk(hashChunk(blob, ended, add));
      if (n < BigInt(CHUNK)) break;
      after = last;
    }
  } finally {
    if (own && db.inTransaction) db.exec('COMMIT');
  }
}
