import type { PgClient, PgGateway } from './gateway.ts';
import { pgErrorCode } from './errors.ts';

/**
 * What possync needs to know about a hot standby (postgres.readUrl) before a pull reads it, and
 * the one thing a standby gets wrong that a pull relies on (see standbySnapshot).
 */

/** A WAL position (`X/Y`, as pg_lsn prints it) as a number, for comparing. */
export function lsnValue(lsn: string): bigint {
  const m = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(lsn);
  if (!m) throw new Error(`not a pg_lsn: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

export function laterLsn(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return lsnValue(a) >= lsnValue(b) ? a : b;
}

export interface StandbyState {
  /** false: the server is not replaying WAL (a primary, or a standby that was promoted). */
  inRecovery: boolean;
  /** Everything up to here has been replayed (and is visible to a snapshot taken from now on). */
  replayLsn: string | undefined;
  /** Seconds since the last transaction the standby replayed committed on the primary. */
  sinceLastReplaySeconds: number | undefined;
}

export async function standbyState(standby: PgGateway): Promise<StandbyState> {
  const rows = await standby.query<{ rec: boolean; replay: string | null; since: number | null }>(
    `SELECT pg_is_in_recovery() AS rec, pg_last_wal_replay_lsn()::text AS replay,
            extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS since`,
  );
  const r = rows[0]!;
  return { inRecovery: r.rec, replayLsn: r.replay ?? undefined, sinceLastReplaySeconds: r.since ?? undefined };
}

/** The primary's WAL write position now: everything committed so far lies below it. */
export async function primaryLsn(primary: PgGateway): Promise<string> {
  const rows = await primary.query<{ lsn: string }>(`SELECT pg_current_wal_insert_lsn()::text AS lsn`);
  return rows[0]!.lsn;
}

/**
 * How far behind the standby is, in seconds: 0 when it has replayed everything the primary had
 * written at `primaryAt`; otherwise the time since the last commit it replayed (an upper bound:
 * on an idle primary that commit may be old, and then the standby is only as far behind as the
 * WAL written since). Undefined when the standby has replayed no transaction yet.
 */
export function lagSeconds(state: StandbyState, primaryAt: string): number | undefined {
  if (state.replayLsn !== undefined && lsnValue(state.replayLsn) >= lsnValue(primaryAt)) return 0;
  return state.sinceLastReplaySeconds;
}

/**
 * A recovery conflict: the standby cancelled the statement (or ended the session) because WAL
 * replay had to remove rows or take locks the pull's snapshot still needed. It comes as 40001
 * (snapshot, buffer pin, lock, tablespace), 40P01 (deadlock with the startup process), or on an
 * idle transaction as the session ended with the same codes.
 */
export function isRecoveryConflict(err: unknown): boolean {
  const code = pgErrorCode(err);
  return (code === '40001' || code === '40P01') && /conflict with recovery/i.test(err instanceof Error ? err.message : '');
}

/** Above this many xids, the rest of a standby snapshot's range counts as unseen (read again next time). */
const MAX_UNSEEN_XIDS = 1_000;
const MAX_SEEN_XIDS = 10_000;

/**
 * The snapshot a pull on a standby may record as applied.
 *
 * On a standby pg_current_snapshot() lists no in-progress transactions: a snapshot taken during
 * recovery keeps them all in its subxip array, which the function does not read (PostgreSQL 13-18;
 * measured on 18.4: `755:757:` while xid 755 was open on the primary). Recorded as is, a
 * checkpoint would count every transaction still open on the primary as seen, and its rows would
 * never be pulled. The xmin (the fence) is right, and the rows the pull reads are right (the
 * server's own visibility uses subxip).
 *
 * So the snapshot is rebuilt from what this snapshot can see: every transaction in [xmin, xmax)
 * whose change-log entries for the pulled tables are visible here is seen; every other one is
 * listed as in progress. That list over-approximates (transactions that logged nothing for these
 * tables are listed too, harmlessly: they have nothing to pull), so a checkpoint never claims a
 * transaction the snapshot did not see. Both lists are bounded: past them, xmax is lowered, and
 * what lies above it is read again by the next pull (applying a row again changes nothing).
 */
export async function standbySnapshot(client: PgClient, fence: string, xmax: string, changeLogNames: readonly string[]): Promise<string> {
  if (fence === xmax) return `${fence}:${xmax}:`;
  const { rows } = await client.query<{ xid: string }>(
    `SELECT DISTINCT c.xid::text AS xid, c.xid AS x FROM possync.changes c
      WHERE c.tbl = ANY($1::text[]) AND c.xid >= $2::xid8 AND c.xid < $3::xid8 ORDER BY c.xid LIMIT ${MAX_SEEN_XIDS}`,
    [changeLogNames, fence, xmax],
  );
  const seen = rows.map((r) => BigInt(r.xid));
  return rebuildSnapshot(BigInt(fence), BigInt(xmax), seen, rows.length === MAX_SEEN_XIDS);
}

/** See standbySnapshot; `seen` is sorted ascending, `truncated` when it may not list them all. */
export function rebuildSnapshot(xmin: bigint, xmax: bigint, seen: readonly bigint[], truncated: boolean): string {
  // Only as far as the seen list is known to be complete.
  const end = truncated && seen.length > 0 ? seen.at(-1)! + 1n : xmax;
  const xip: bigint[] = [];
  let i = 0;
  let x = xmin;
  for (; x < end; x++) {
    if (i < seen.length && seen[i] === x) {
      i++;
      continue;
    }
    if (xip.length === MAX_UNSEEN_XIDS) break;
    xip.push(x);
  }
  return `${xmin}:${x}:${xip.join(',')}`;
}
