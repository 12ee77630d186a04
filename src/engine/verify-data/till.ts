import { sqliteIdent } from '../../db/quote.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import type { RawRow } from '../../db/sqlite/rows.ts';
import { localRowsToWire } from '../convert.ts';
import { keyString } from '../keys.ts';
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

export interface TillScan {
  sums: Map<number, BucketSum>;
  /** Rows by bucket: only key, local key and hash (the full row is read again for the few that differ). */
  byBucket: Map<number, TillRow[]>;
  rows: number;
}

const PAGE = 2_000;

/**
 * Reads the till's table once, converting every row with the push's own local → wire conversion
 * (so FK translation, temporal forms and booleans are what the push would send), and hashes it.
 * Rows without a shared key yet (never pushed) have a pending change and are left out.
 */
export function scanTill(db: SqliteDb, plan: SyncPlan, t: TablePlan, buckets: number): TillScan {
  const out: TillScan = { sums: new Map(), byBucket: new Map(), rows: 0 };
  const stmt = db.prepare(`SELECT * FROM ${sqliteIdent(t.sqliteName)}`).safeIntegers(true);
  let page: RawRow[] = [];
  const flush = () => {
    localRowsToWire(db, plan, t, page).forEach((conv, i) => {
      const raw = page[i]!;
      const lkey = localKeyString(t, raw);
      let row: TillRow;
      let bucket: number;
      if (conv.ok) {
        const kh = keyHash(t, conv.row);
        bucket = bucketOf(kh, buckets);
        row = { key: keyString(t.key.map((k) => conv.row[k.pg] ?? '')), lkey, rh: rowHash(t, conv.row) };
        addTo(out.sums, bucket, row.rh!);
      } else {
        const key = sharedKey(t, raw);
        if (key === undefined) return;
        const wire = Object.fromEntries(t.key.map((k, j) => [k.pg, JSON.parse(key)[j] as string]));
        bucket = bucketOf(keyHash(t, wire), buckets);
        row = { key, lkey, rh: undefined, unreadable: conv.reason };
        // A bucket holding an unreadable row must differ from the cloud's.
        addTo(out.sums, bucket, 'f'.repeat(32));
      }
      out.rows += 1;
      const list = out.byBucket.get(bucket);
      if (list) list.push(row);
      else out.byBucket.set(bucket, [row]);
    });
    page = [];
  };
  for (const raw of stmt.iterate() as Iterable<RawRow>) {
    if (t.key.some((k) => raw[k.sqlite] === null || raw[k.sqlite] === undefined)) continue;
    page.push(raw);
    if (page.length >= PAGE) flush();
  }
  flush();
  return out;
}

function sharedKey(t: TablePlan, raw: RawRow): string | undefined {
  try {
    return keyString(t.key.map((k) => fromSqlite(k.codec, raw[k.sqlite] ?? null) ?? ''));
  } catch {
    return undefined;
  }
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
