import type { SqliteDb } from '../db/sqlite/gateway.ts';
import type { Step } from './result.ts';

/**
 * Rows that wait (deferred: a parent is missing) or were refused (rejected: the other database
 * said no). Held rows are retried at the start of every run of their table and direction; the
 * checkpoint moves on without forgetting them.
 */
export interface HeldRow {
  side: Step;
  table: string;
  /** push: the local key (JSON); pull: the shared key (JSON). */
  key: string;
  kind: 'deferred' | 'rejected';
  reason: string;
  /** How the row is named in reports, e.g. `orders:ord_001`. */
  display: string;
  /** Push deletes only: what the change log said, since the local row is gone. */
  detail?: string | undefined;
}

/**
 * `detail` of a held row that insert-then-link already wrote on the receiving side without its
 * missing links (a new row whose parent had not arrived yet). The retry that writes the links
 * completes that row's insert, so it is counted as the insert, once, not as an update.
 */
export const LINK_PENDING = JSON.stringify({ linkPending: true });

/** Of `keys` (held-row keys: push local keys, pull shared keys), those written without their links. */
export function linkPendingKeys(db: SqliteDb, side: Step, table: string, keys: readonly string[]): Set<string> {
  if (keys.length === 0) return new Set();
  const rows = db
    .prepare(`SELECT key FROM _possync_held WHERE side = ? AND tbl = ? AND detail = ? AND key IN (SELECT value FROM json_each(?))`)
    .all(side, table, LINK_PENDING, JSON.stringify(keys)) as Array<{ key: string }>;
  return new Set(rows.map((r) => r.key));
}

export function heldKeys(db: SqliteDb, side: Step, table: string): Array<{ key: string; kind: 'deferred' | 'rejected'; detail: string | null }> {
  return db.prepare(`SELECT key, kind, detail FROM _possync_held WHERE side = ? AND tbl = ? ORDER BY first_seen, key`).all(side, table) as Array<{
    key: string;
    kind: 'deferred' | 'rejected';
    detail: string | null;
  }>;
}

/**
 * Records held rows, stamped with the run's start (`runAt`): rows held in one run share their
 * `first_seen`, so listings (oldest first, then by key) come out in the same order every time, and
 * `attempts` counts runs. One run can meet a row twice (its held retry, then the change log re-read
 * below a fence an open transaction holds back); that is still one attempt.
 */
export function recordHeld(db: SqliteDb, rows: readonly HeldRow[], runAt: string): void {
  if (rows.length === 0) return;
  const upsert = db.prepare(
    `INSERT INTO _possync_held (side, tbl, key, kind, reason, display, detail, first_seen, last_tried) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (side, tbl, key) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, display = excluded.display, detail = excluded.detail,
       attempts = attempts + (CASE WHEN last_tried = excluded.last_tried THEN 0 ELSE 1 END), last_tried = excluded.last_tried`,
  );
  for (const r of rows) upsert.run(r.side, r.table, r.key, r.kind, r.reason, r.display, r.detail ?? null, runAt, runAt);
}

export function releaseHeld(db: SqliteDb, side: Step, table: string, keys: Iterable<string>): void {
  const del = db.prepare(`DELETE FROM _possync_held WHERE side = ? AND tbl = ? AND key = ?`);
  for (const k of keys) del.run(side, table, k);
}

export interface HeldListing extends HeldRow {
  firstSeen: string;
  lastTried: string;
  attempts: number;
}

export function listHeld(db: SqliteDb, filter: { kind?: 'deferred' | 'rejected' } = {}): HeldListing[] {
  const rows = db
    .prepare(
      `SELECT side, tbl, key, kind, reason, display, first_seen, last_tried, attempts FROM _possync_held
       WHERE (? IS NULL OR kind = ?) ORDER BY first_seen, tbl, key`,
    )
    .all(filter.kind ?? null, filter.kind ?? null) as Array<{
    side: Step; tbl: string; key: string; kind: 'deferred' | 'rejected'; reason: string; display: string; first_seen: string; last_tried: string; attempts: number;
  }>;
  return rows.map((r) => ({ side: r.side, table: r.tbl, key: r.key, kind: r.kind, reason: r.reason, display: r.display, firstSeen: r.first_seen, lastTried: r.last_tried, attempts: r.attempts }));
}

/** What is still waiting for one table and side: counts and the first reasons, for the run result. */
export function heldSummary(db: SqliteDb, side: Step, table: string, limit: number): { deferred: number; rejected: number; reasons: string[] } {
  const counts = db.prepare(`SELECT kind, count(*) AS n FROM _possync_held WHERE side = ? AND tbl = ? GROUP BY kind`).all(side, table) as Array<{ kind: string; n: number }>;
  const reasons = (db.prepare(`SELECT reason FROM _possync_held WHERE side = ? AND tbl = ? ORDER BY first_seen, key LIMIT ?`).all(side, table, limit) as Array<{ reason: string }>).map((r) => r.reason);
  return {
    deferred: counts.find((c) => c.kind === 'deferred')?.n ?? 0,
    rejected: counts.find((c) => c.kind === 'rejected')?.n ?? 0,
    reasons,
  };
}

export function heldCount(db: SqliteDb, side: Step, table: string, kind: 'deferred' | 'rejected'): number {
  return (db.prepare(`SELECT count(*) AS n FROM _possync_held WHERE side = ? AND tbl = ? AND kind = ?`).get(side, table, kind) as { n: number }).n;
}

/**
 * Rows deferred earlier in a run may have had their parent arrive since (later in the same table,
 * a self-reference across batches, or a table after this one when FKs form a cycle): `retry`
 * them while that makes progress. The table's result then reports what is still waiting, not
 * every wait along the way.
 */
export async function settleDeferred(
  db: SqliteDb,
  side: Step,
  table: string,
  retry: () => Promise<void>,
  result: { deferred: number; rejected: number; refused: number; reasons: string[] },
  maxReasons: number,
): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const before = heldCount(db, side, table, 'deferred');
    if (before === 0) break;
    await retry();
    if (heldCount(db, side, table, 'deferred') >= before) break;
  }
  countHeld(db, side, table, result, maxReasons);
}

/**
 * A table's result reports what its side holds now (plus the rows refused for good this run),
 * not only what the run met: a table that failed or did not run still has the rows earlier runs
 * held, and the summary must not say "0 waiting or refused" over them.
 */
export function countHeld(db: SqliteDb, side: Step, table: string, result: { deferred: number; rejected: number; refused: number; reasons: string[] }, maxReasons: number): void {
  const summary = heldSummary(db, side, table, maxReasons);
  result.deferred = summary.deferred;
  result.rejected = summary.rejected + result.refused;
  // Reasons for rows refused for good this run come first: they are not listed anywhere else.
  result.reasons = [...result.reasons.filter((r) => !summary.reasons.includes(r)).slice(0, result.refused), ...summary.reasons].slice(0, maxReasons);
}
