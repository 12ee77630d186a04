import type { PgGateway } from '../../db/postgres/gateway.ts';
import { changeLogName } from '../../db/postgres/possync-schema.ts';
import { appliedSnapshot, unseenSql, type PullCheckpoint } from '../checkpoints.ts';
import type { PendingPull } from './cloud.ts';

/**
 * Fence lag, as `possync status` shows it. A pull applies what committed below the fence (the
 * oldest transaction still open on the server) and moves the table's checkpoint up to it, so two
 * things make a terminal late:
 *   - the terminal itself has not pulled for a while: per table, the writing transactions of
 *     others it has not pulled yet, and the age of the oldest of those changes (FenceLag);
 *   - a transaction that stays open anywhere on the server pins the fence for every terminal:
 *     pulls still apply what commits meanwhile, but their checkpoints cannot pass it, so each pull
 *     reads those changes again and pruning waits (FenceStatus.heldBy: who, and for how long).
 */
export interface FenceLag {
  /** Writing transactions (other terminals, the back office) that changed the table since this terminal's checkpoint. */
  transactions: number;
  /** When the oldest of those changes was written (ISO, UTC), null when there is none. */
  oldestChangeAt: string | null;
  /** How long ago that was, in seconds: how stale this terminal's copy of the table can be. */
  oldestChangeAgeSeconds: number | null;
}

export interface FenceHolder {
  /** Backend pid, or null for a prepared (two-phase) transaction. */
  pid: number | null;
  /** Its top-level transaction id (32-bit, as pg_stat_activity shows it). */
  xid: string;
  /** Database it runs in: xids are cluster-wide, so one in another database holds possync back too. */
  database: string | null;
  user: string | null;
  application: string | null;
  /** e.g. `idle in transaction`; `prepared` for a two-phase transaction waiting for COMMIT PREPARED. */
  state: string | null;
  /** When the transaction (or the PREPARE) started; null when the role may not see other sessions. */
  startedAt: string | null;
  ageSeconds: number | null;
  /** The gid of a prepared transaction. */
  prepared: string | null;
}

export interface FenceStatus {
  /** The pull fence now (pg_snapshot_xmin of the current snapshot): every lower xid has finished. */
  xid: string;
  /** The oldest open transaction that has written, which pins the fence; null when none is open. */
  heldBy: FenceHolder | null;
}

/** A fence held this long is worth a warning in the human view (a till syncs every few minutes). */
export const FENCE_HOLD_WARN_SECONDS = 60;

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** The server-wide fence and what holds it. Needs no possync objects; two catalog queries. */
export async function readFence(pg: PgGateway): Promise<FenceStatus> {
  const [snap] = await pg.query<{ fence: string; xmax: string }>(
    `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS fence, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`,
  );
  if (!snap || snap.fence === snap.xmax) return { xid: snap?.fence ?? '0', heldBy: null };
  // The fence is the smallest xid still running: the open transaction with the oldest xid. A
  // prepared transaction counts as running until COMMIT / ROLLBACK PREPARED, whoever is connected.
  const [holder] = await pg.query<{
    pid: number | null; xid: string; database: string | null; user: string | null; application: string | null; state: string | null; started_at: string | null; age: number | null; gid: string | null;
  }>(`
    SELECT pid, x::text AS xid, database, "user", application, state, started_at, age, gid FROM (
      SELECT pid, backend_xid AS x, datname::text AS database, usename::text AS "user", application_name AS application, state,
             to_char(xact_start AT TIME ZONE 'UTC', ${ISO}) AS started_at,
             round(extract(epoch FROM clock_timestamp() - xact_start)::numeric, 3)::float8 AS age, NULL::text AS gid
        FROM pg_stat_activity WHERE backend_xid IS NOT NULL
      UNION ALL
      SELECT NULL, transaction, database::text, owner::text, NULL, 'prepared',
             to_char(prepared AT TIME ZONE 'UTC', ${ISO}),
             round(extract(epoch FROM clock_timestamp() - prepared)::numeric, 3)::float8, gid
        FROM pg_prepared_xacts
    ) open_xacts ORDER BY age(x) DESC LIMIT 1`);
  return {
    xid: snap.fence,
    heldBy: holder
      ? {
          pid: holder.pid,
          xid: holder.xid,
          database: holder.database,
          user: holder.user,
          application: holder.application || null,
          state: holder.state,
          startedAt: holder.started_at,
          ageSeconds: holder.age,
          prepared: holder.gid,
        }
      : null,
  };
}

/**
 * What a table still has to pull: the change log beyond its checkpoint, leaving out this
 * terminal's own pushes (never pulled back). One query on the (tbl, xid) index. Undefined when the
 * table has no settled checkpoint (its next pull resyncs it in full anyway).
 *
 * A 'T' entry (another terminal's bulk load, a TRUNCATE) makes the next pull resync the table: it
 * counts as a transaction behind, but not as pending keys.
 */
export async function readUnpulled(
  pg: PgGateway,
  schema: string,
  table: string,
  terminalId: string,
  checkpoint: PullCheckpoint | undefined,
): Promise<{ pending: PendingPull; lag: FenceLag } | undefined> {
  if (checkpoint?.xid === undefined || checkpoint.scan !== undefined) return undefined;
  const [row] = await pg.query<{ changes: number; keys: number; transactions: number; oldest: string | null; age: number | null }>(
    `SELECT count(*) FILTER (WHERE op <> 'T')::int AS changes,
            coalesce(sum(jsonb_array_length(keys)) FILTER (WHERE op <> 'T'), 0)::int AS keys,
            count(DISTINCT xid)::int AS transactions,
            to_char(min(at) AT TIME ZONE 'UTC', ${ISO}) AS oldest,
            round(extract(epoch FROM clock_timestamp() - min(at))::numeric, 3)::float8 AS age
       FROM possync.changes c
      WHERE c.tbl = $1 AND ${unseenSql('$2', '$4')} AND c.origin IS DISTINCT FROM $3`,
    [changeLogName(schema, table), checkpoint.xid, terminalId, appliedSnapshot(checkpoint).snapshot],
  );
  return {
    pending: { changes: row?.changes ?? 0, keys: row?.keys ?? 0 },
    lag: { transactions: row?.transactions ?? 0, oldestChangeAt: row?.oldest ?? null, oldestChangeAgeSeconds: row?.age ?? null },
  };
}
