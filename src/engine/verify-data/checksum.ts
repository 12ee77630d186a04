import crypto from 'node:crypto';
import type { WireRow } from '../decide.ts';
import type { TablePlan } from '../plan/types.ts';
import { endsWithBar, normalSql, normalText } from './normal-form.ts';

/**
 * Row hashes, computed the same way in JavaScript or SQLite (till) and SQL (cloud). A row's text
 * is the concatenation of its columns' parts, from which the columns' normal forms can be read
 * back one by one, so no two different rows share a text:
 *   - a column of a family whose normal forms Postgres never prints empty, with a '|' or with a
 *     leading '#' (normal-form.ts endsWithBar): the normal form then '|', and NULL as '|' alone.
 *     A value of such a column that breaks that rule (the till's, never the cloud's) is written
 *     `#<UTF-8 byte length>:<text>|`, so it cannot pass for another split of the row.
 *   - any other column: `N` for NULL, else `<UTF-8 byte length>:<text>`.
 * Its hash is md5 of that text (md5 is in every Postgres; it only has to spread rows, not resist an
 * adversary).
 *
 * A row belongs to a bucket by 32 bits of its own hash, so each side computes one digest a row
 * and membership needs no key order: text collation, uuid ordering and SQLite's type affinity
 * cannot make the two sides disagree about which rows a bucket holds. Equal rows land in the
 * same bucket on both sides; a row that differs lands in one bucket on the till and (usually)
 * another in the cloud, and both buckets then differ, so both versions are fetched and matched by
 * key. A bucket's checksum is its row count and two sums of 28-bit slices of the row hashes
 * (other bits than the bucket's; order-free, exact in a JS number up to 2^25 rows a bucket).
 */
export function encode(values: ReadonlyArray<string | null>, ended: readonly boolean[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? null;
    if (!ended[i]) out += v === null ? 'N' : `${Buffer.byteLength(v, 'utf8')}:${v}`;
    else if (v === null) out += '|';
    else if (v === '' || v.charCodeAt(0) === 35 /* # */ || v.includes('|')) out += `#${Buffer.byteLength(v, 'utf8')}:${v}|`;
    else out += `${v}|`;
  }
  return out;
}

const ended = new WeakMap<TablePlan, boolean[]>();
/** Which of a table's columns end with '|' in its row text (see encode); worked out once a table. */
export function endedColumns(t: TablePlan): boolean[] {
  let e = ended.get(t);
  if (!e) ended.set(t, (e = t.columns.map((c) => endsWithBar(c.family))));
  return e;
}

// crypto.hash (Node ≥ 20.12) is a one-shot digest, about twice as fast as createHash per row.
/** md5 in hex, of a string's UTF-8 or of bytes as they are (a row text inside a chunk of the till's scan). */
export const md5 = (data: string | Buffer): string => crypto.hash('md5', data, 'hex');

export function rowHash(t: TablePlan, row: WireRow): string {
  return md5(encode(t.columns.map((c) => normalText(c.family, row[c.pg] ?? null)), endedColumns(t)));
}

/** The number in hex digits [from, from + n) of a hash (lowercase hex, as md5 gives): no slices allocated. */
function hexAt(h: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = h.charCodeAt(i);
    v = v * 16 + (c <= 57 ? c - 48 : c - 87);
  }
  return v;
}

/** A row's bucket: hex digits 15–22 of its hash (1-based, as SQL's substr counts). */
export function bucketOf(rh: string, buckets: number): number {
  return hexAt(rh, 14, 8) & (buckets - 1);
}

/**
 * SQL for each column's normal form, of table alias `t`, named `n0`, `n1`…: the inner query of
 * rowHashSql, so that each normal form is computed once a row (a timestamp's text is the costly
 * one) though the row text refers to it twice.
 */
export function normalFormsSql(t: TablePlan): string {
  return t.columns.map((c, i) => `${normalSql(c.family, c.pg, c.modifier?.scale)} AS n${i}`).join(', ');
}

/** SQL for md5 of the row's text, over the normal forms `n0`… of normalFormsSql. */
export function rowHashSql(t: TablePlan): string {
  // An ended column's NULL is '|' alone. Elsewhere octet_length(NULL) is NULL and so is the
  // concatenation: coalesce turns it into 'N'. `||` rather than concat(), which goes through
  // each argument's output function and took twice as long for the whole text.
  const parts = t.columns.map((c, i) => (endsWithBar(c.family) ? `coalesce(n${i}, '') || '|'` : `coalesce(octet_length(n${i})::text || ':' || n${i}, 'N')`));
  return `md5(${parts.join(' || ')})`;
}

/** SQL for the bucket of a row hash expression (same bits as bucketOf). */
export function bucketSql(rh: string, buckets: number): string {
  return `(('x' || substr(${rh}, 15, 8))::bit(32)::int & ${buckets - 1})`;
}

export const sliceSql = (rh: string, from: number) => `('x' || substr(${rh}, ${from}, 7))::bit(28)::int`;

/** One bucket's checksum. */
export interface BucketSum {
  n: number;
  s1: number;
  s2: number;
}

/**
 * Bucket checksums being summed: three arrays indexed by bucket rather than a Map, as a whole
 * table's rows are added one by one (a Map lookup a row cost more than the row's hash).
 */
export class BucketSums {
  private readonly n: Float64Array;
  private readonly s1: Float64Array;
  private readonly s2: Float64Array;
  constructor(buckets: number) {
    this.n = new Float64Array(buckets);
    this.s1 = new Float64Array(buckets);
    this.s2 = new Float64Array(buckets);
  }
  add(bucket: number, rh: string): void {
    this.n[bucket]! += 1;
    this.s1[bucket]! += hexAt(rh, 0, 7);
    this.s2[bucket]! += hexAt(rh, 7, 7);
  }
  /** The three arrays, as a worker thread sends them. */
  toParts(): BucketSumParts {
    return { n: this.n, s1: this.s1, s2: this.s2 };
  }
  /** Adds another scan's sums, bucket by bucket (a worker's share of the table). */
  addParts(p: BucketSumParts): void {
    for (let b = 0; b < this.n.length; b++) {
      this.n[b]! += p.n[b]!;
      this.s1[b]! += p.s1[b]!;
      this.s2[b]! += p.s2[b]!;
    }
  }
  /** The non-empty buckets' checksums. */
  toMap(): Map<number, BucketSum> {
    const out = new Map<number, BucketSum>();
    for (let b = 0; b < this.n.length; b++) if (this.n[b]! > 0) out.set(b, { n: this.n[b]!, s1: this.s1[b]!, s2: this.s2[b]! });
    return out;
  }
}

export interface BucketSumParts {
  n: Float64Array;
  s1: Float64Array;
  s2: Float64Array;
}

/** Takes one row's hash out of a bucket's checksum (the inverse of BucketSums.add). */
export function takeFrom(sum: BucketSum, rh: string): void {
  sum.n -= 1;
  sum.s1 -= hexAt(rh, 0, 7);
  sum.s2 -= hexAt(rh, 7, 7);
}

export function sameSum(a: BucketSum | undefined, b: BucketSum | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.n === b.n && a.s1 === b.s1 && a.s2 === b.s2;
}
