import type { PgGateway } from '../db/postgres/gateway.ts';
import type { SqliteDb } from '../db/sqlite/gateway.ts';
import { pgLiteral } from '../db/quote.ts';
import { readPullCheckpoint } from './checkpoints.ts';

const PRUNED_BELOW = 'possync.pruned_below';
const LAST_PRUNE = 'possync.last_prune_at';
/** Pruning runs at most this often, whichever terminal gets there first. */
const PRUNE_EVERY_MINUTES = 10;

/**
 * The change log only needs what some active terminal has not pulled yet. Every terminal records
 * the lowest pull checkpoint of its tables in possync.terminals after each pull; entries below the
 * lowest checkpoint of the terminals seen within retentionDays are deleted. A terminal silent for
 * longer no longer holds pruning back: when it returns, its checkpoints are below the pruned
 * horizon and it resyncs those tables key by key instead of missing rows (see prunedBelow).
 */
export async function registerPull(pg: PgGateway, db: SqliteDb, terminalId: string, tables: readonly string[]): Promise<void> {
  // A resync in progress holds the log back from where it began: the window after it reads from there.
  const xids = tables
    .map((t) => readPullCheckpoint(db, terminalId, t))
    .map((cp) => cp?.xid ?? cp?.scan?.fence)
    .filter((x): x is string => x !== undefined);
  if (xids.length === 0) return;
  const lowest = xids.reduce((a, b) => (BigInt(a) <= BigInt(b) ? a : b));
  await pg.query(
    `INSERT INTO possync.terminals (terminal_id, pull_fence, last_seen) VALUES ($1, $2::xid8, now())
     ON CONFLICT (terminal_id) DO UPDATE SET pull_fence = EXCLUDED.pull_fence, last_seen = EXCLUDED.last_seen`,
    [terminalId, lowest],
  );
}

export interface PruneResult {
  deleted: number;
  horizon: string;
}

/** Deletes change-log entries no active terminal needs; a no-op if another terminal pruned recently. */
export async function pruneChangeLog(pg: PgGateway, retentionDays: number, options: { force?: boolean } = {}): Promise<PruneResult | undefined> {
  return pg.tx(async (client) => {
    // The lock and "pruned recently?" in one round trip: this runs after every pull.
    const lock = await client.query<{ ok: boolean; recent: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('possync.prune')) AS ok, ${PRUNED_RECENTLY_SQL} AS recent`);
    if (!lock.rows[0]?.ok) return undefined;
    if (!options.force && lock.rows[0].recent) return undefined;
    const { rows } = await client.query<{ horizon: string | null }>(
      `SELECT min(pull_fence)::text AS horizon FROM possync.terminals WHERE last_seen > now() - make_interval(days => $1)`,
      [retentionDays],
    );
    const horizon = rows[0]?.horizon;
    await client.query(
      `INSERT INTO possync.system_settings (setting_key, setting_value) VALUES ($1, now()::text)
       ON CONFLICT (setting_key) DO UPDATE SET setting_value = EXCLUDED.setting_value, updated_at = now()`,
      [LAST_PRUNE],
    );
    if (!horizon) return undefined;
    const deleted = await client.query(`DELETE FROM possync.changes WHERE xid < $1::xid8`, [horizon]);
    // Run logs and conflict records are for people; they go after retentionDays too.
    await client.query(`DELETE FROM possync.sync_logs WHERE started_at < now() - make_interval(days => $1)`, [retentionDays]);
    await client.query(`DELETE FROM possync.conflicts WHERE at < now() - make_interval(days => $1)`, [retentionDays]);
    await client.query(
      `INSERT INTO possync.system_settings (setting_key, setting_value) VALUES ($1, $2)
       ON CONFLICT (setting_key) DO UPDATE SET setting_value = greatest(possync.system_settings.setting_value::xid8, EXCLUDED.setting_value::xid8)::text, updated_at = now()`,
      [PRUNED_BELOW, horizon],
    );
    return { deleted: deleted.rowCount ?? 0, horizon };
  });
}

/** A boolean expression: some terminal pruned within PRUNE_EVERY_MINUTES. */
const PRUNED_RECENTLY_SQL = `EXISTS (SELECT 1 FROM possync.system_settings WHERE setting_key = ${pgLiteral(LAST_PRUNE)}
  AND setting_value::timestamptz > now() - make_interval(mins => ${PRUNE_EVERY_MINUTES}))`;

/**
 * A boolean expression: no terminal has pruned within PRUNE_EVERY_MINUTES. Read with the pull's
 * snapshot, so a pull only opens the prune transaction (which checks again, under its lock) when
 * a prune may be due.
 */
export const PRUNE_DUE_SQL = `NOT ${PRUNED_RECENTLY_SQL}`;

/**
 * A scalar subquery for the pruned horizon (NULL when nothing was pruned yet), to read with other
 * values: change-log entries below it may be gone, so a checkpoint below it cannot trust the log.
 */
export const PRUNED_BELOW_SQL = `SELECT setting_value FROM possync.system_settings WHERE setting_key = ${pgLiteral(PRUNED_BELOW)}`;

export function below(xid: string | undefined, horizon: string | undefined): boolean {
  return xid !== undefined && horizon !== undefined && BigInt(xid) < BigInt(horizon);
}
