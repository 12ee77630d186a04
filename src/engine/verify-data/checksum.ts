import crypto from 'node:crypto';
import type { WireRow } from '../decide.ts';
import type { ColumnPlan, TablePlan } from '../plan/types.ts';
import { normalSql, normalText } from './normal-form.ts';

/**
 * Row and key hashes, computed the same way in JavaScript (till) and SQL (cloud). A row's text is
 * the concatenation of its columns' normal forms, each written as `N` (NULL) or
 * `<UTF-8 byte length>:<text>`, so no two different rows share a text. Its hash is md5 of that
 * text (md5 is in every Postgres; it only has to spread rows, not resist an adversary).
 *
 * A row belongs to a bucket by the first 32 bits of its key's hash: membership needs no key
 * order, so text collation, uuid ordering and SQLite's type affinity cannot make the two sides
 * disagree about which rows a bucket holds. A bucket's checksum is its row count and two sums of
 * 28-bit slices of the row hashes (order-free, exact in a JS number up to 2^25 rows a bucket).
 */
export function encode(values: ReadonlyArray<string | null>): string {
  let out = '';
  for (const v of values) out += v === null ? 'N' : `${Buffer.byteLength(v, 'utf8')}:${v}`;
  return out;
}

// crypto.hash (Node ≥ 20.12) is a one-shot digest, about twice as fast as createHash per row.
const md5 = (text: string) => crypto.hash('md5', text, 'hex');

export function keyHash(t: TablePlan, row: WireRow): string {
  return md5(encode(t.key.map((k) => normalText(k.family, row[k.pg] ?? null))));
}

/** keyHash of a key given as its wire values in key-column order. */
export function keyPartsHash(t: TablePlan, parts: readonly string[]): string {
  return md5(encode(t.key.map((k, i) => normalText(k.family, parts[i] ?? null))));
}

export function rowHash(t: TablePlan, row: WireRow): string {
  return md5(encode(t.columns.map((c) => normalText(c.family, row[c.pg] ?? null))));
}

export function bucketOf(kh: string, buckets: number): number {
  return parseInt(kh.slice(0, 8), 16) & (buckets - 1);
}

export function hashSlices(rh: string): [number, number] {
  return [parseInt(rh.slice(0, 7), 16), parseInt(rh.slice(7, 14), 16)];
}

function encodeSql(columns: readonly ColumnPlan[]): string {
  // octet_length(NULL) is NULL and so is the concatenation: coalesce turns it into 'N', with the
  // normal form evaluated twice per value rather than three times (as a CASE would).
  const parts = columns.map((c) => {
    const v = normalSql(c.family, c.pg);
    return `coalesce(octet_length((${v}))::text || ':' || (${v}), 'N')`;
  });
  return parts.length === 1 ? parts[0]! : `concat(${parts.join(', ')})`;
}

/** SQL for md5 of the key's and the row's text, as `kh` and `rh`, of table alias `t`. */
export function hashesSql(t: TablePlan): { kh: string; rh: string } {
  return { kh: `md5(${encodeSql(t.key)})`, rh: `md5(${encodeSql(t.columns)})` };
}

/** SQL for the bucket of a key hash expression (same bits as bucketOf). */
export function bucketSql(kh: string, buckets: number): string {
  return `(('x' || substr(${kh}, 1, 8))::bit(32)::int & ${buckets - 1})`;
}

export const sliceSql = (rh: string, from: number) => `('x' || substr(${rh}, ${from}, 7))::bit(28)::int`;

/** One bucket's checksum. */
export interface BucketSum {
  n: number;
  s1: number;
  s2: number;
}

export function addTo(sums: Map<number, BucketSum>, bucket: number, rh: string): void {
  const [a, b] = hashSlices(rh);
  const s = sums.get(bucket);
  if (s) {
    s.n += 1;
    s.s1 += a;
    s.s2 += b;
  } else sums.set(bucket, { n: 1, s1: a, s2: b });
}

export function sameSum(a: BucketSum | undefined, b: BucketSum | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.n === b.n && a.s1 === b.s1 && a.s2 === b.s2;
}
