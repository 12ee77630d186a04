import { createHash } from 'node:crypto';
import type { Direction } from '../../config/types.ts';
import { pgErrorCode, UNDEFINED_TABLE } from './errors.ts';
import type { PgGateway, Queryable } from './gateway.ts';
import { PG_SCHEMA } from './possync-schema.ts';
import { writeSettings } from './settings.ts';

/**
 * Which cloud tables each till syncs, so that possync can tell when no till syncs one any more
 * (engine/evolve/orphaned-capture.ts). Kept as one row per till in possync.system_settings
 * (`possync.tables.<terminalId>` → `{"tables": {"public.orders": "both", …}}`, keyed by the change
 * log's name for each table), refreshed at the start of every run; its updated_at is when that
 * till was last seen. possync.system_settings already exists in every install and every run role
 * may write it, so the registry needs no schema upgrade and no DDL right: a fleet keeps syncing
 * while its tills move to this possync one by one.
 */
export const REGISTRY_PREFIX = 'possync.tables.';
/**
 * Set when possync dropped a table's capture triggers; the reinstall clears it (see logRevival).
 * Keyed by the hash its capture functions are named with (the value is the table's name).
 */
export const STOPPED_PREFIX = 'possync.capture_stopped.';
const stoppedKey = (loggedName: string) => STOPPED_PREFIX + captureHashOf(loggedName);
/** The advisory lock installs hold (exclusive); a registration holds it shared, so a sweep sees it or runs before it. */
const INSTALL_LOCK = `hashtext('possync.install')`;

export interface Registration {
  tables: Record<string, Direction>;
}

/** When some till last looked for capture nobody needs (see SWEEP_EVERY_MINUTES). */
export const LAST_SWEEP = 'possync.last_capture_sweep_at';
/**
 * The look, a catalog query, runs at most this often, whichever till gets there first (as
 * pruning does), and also in the run of a till whose own tables changed, so that a table it let
 * go of is let go of in the cloud in the same run when it was the last till syncing it.
 */
export const SWEEP_EVERY_MINUTES = 10;

export interface RegisterOutcome {
  /** false: possync is not installed in the cloud yet (nothing could have been swept; register again after installing). */
  registered: boolean;
  /** The tables differ from what this till registered last time (or it never did). */
  changed: boolean;
  /** No till looked for unneeded capture within SWEEP_EVERY_MINUTES. */
  due: boolean;
}

/**
 * Records the tables this till syncs, in one statement: the shared lock is held until it commits.
 */
export async function registerTables(pg: PgGateway, terminalId: string, tables: Record<string, Direction>): Promise<RegisterOutcome> {
  try {
    const rows = await pg.query<{ changed: boolean; due: boolean }>(
      `WITH l AS (SELECT pg_advisory_xact_lock_shared(${INSTALL_LOCK})),
            old AS (SELECT setting_value FROM possync.system_settings WHERE setting_key = $1),
            up AS (INSERT INTO possync.system_settings (setting_key, setting_value, updated_at) SELECT $1, $2, now() FROM l
                   ON CONFLICT (setting_key) DO UPDATE SET setting_value = EXCLUDED.setting_value, updated_at = EXCLUDED.updated_at)
       SELECT (SELECT setting_value::jsonb FROM old) IS DISTINCT FROM $2::jsonb AS changed,
              NOT EXISTS (SELECT 1 FROM possync.system_settings WHERE setting_key = $3
                           AND setting_value::timestamptz > now() - make_interval(mins => ${SWEEP_EVERY_MINUTES})) AS due`,
      [REGISTRY_PREFIX + terminalId, JSON.stringify({ tables } satisfies Registration), LAST_SWEEP],
    );
    return { registered: true, changed: rows[0]?.changed === true, due: rows[0]?.due === true };
  } catch (err) {
    if (pgErrorCode(err) === UNDEFINED_TABLE) return { registered: false, changed: true, due: true }; // undefined_table: not installed yet
    throw err;
  }
}

/** Records that a till looked for unneeded capture now. */
export async function markSwept(q: Queryable): Promise<void> {
  await q.query(
    `INSERT INTO possync.system_settings (setting_key, setting_value) VALUES ($1, now()::text)
     ON CONFLICT (setting_key) DO UPDATE SET setting_value = EXCLUDED.setting_value, updated_at = now()`,
    [LAST_SWEEP],
  );
}

/** A possync capture trigger in the cloud, with whether possync's role may drop it and its function. */
export interface CaptureTriggerRow {
  schema: string;
  table: string;
  trigger: string;
  fn: string;
  comment: string | null;
  ownsTable: boolean;
  ownsFunction: boolean;
}

export interface CaptureCensus {
  /** Change-log names registered by tills seen within retentionDays. */
  registered: Set<string>;
  triggers: CaptureTriggerRow[];
}

/**
 * Every possync capture trigger in the database, and what live tills registered: one round trip.
 * A partition's clone of its parent's row trigger (tgparentid) is left out: it cannot be dropped
 * by itself, and goes with the parent's.
 */
export async function captureCensus(q: Queryable, retentionDays: number): Promise<CaptureCensus> {
  const { rows } = await q.query<{ registered: string[]; triggers: CaptureTriggerRow[] }>(
    `SELECT (SELECT coalesce(array_agg(setting_value), '{}') FROM possync.system_settings
              WHERE setting_key LIKE 'possync.tables.%' AND updated_at > now() - make_interval(days => $1)) AS registered,
            (SELECT coalesce(jsonb_agg(jsonb_build_object('schema', n.nspname, 'table', c.relname, 'trigger', t.tgname, 'fn', p.proname,
                      'comment', obj_description(p.oid, 'pg_proc'), 'ownsTable', pg_has_role(c.relowner, 'USAGE'),
                      'ownsFunction', pg_has_role(p.proowner, 'USAGE')) ORDER BY n.nspname, c.relname, t.tgname), '[]')
               FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
              WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND t.tgname LIKE 'possync\\_capture\\_%' AND pn.nspname = $2) AS triggers`,
    [retentionDays, PG_SCHEMA],
  );
  const registered = new Set<string>();
  for (const value of rows[0]?.registered ?? []) {
    try {
      for (const name of Object.keys((JSON.parse(value) as Registration).tables ?? {})) registered.add(name);
    } catch {
      // a row some other tool wrote: not a registration
    }
  }
  return { registered, triggers: rows[0]?.triggers ?? [] };
}

/**
 * Tills seen within retentionDays (they pulled: possync.terminals; or ran at all: possync.sync_logs)
 * that have not registered their tables: they run a possync from before the registry, so nobody
 * can tell which tables they sync. Read only when there is something to sweep (sync_logs is long).
 */
export async function unregisteredTills(q: Queryable, retentionDays: number): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT live.id FROM (
       SELECT terminal_id AS id FROM possync.terminals WHERE last_seen > now() - make_interval(days => $1)
       UNION SELECT terminal_id FROM possync.sync_logs WHERE started_at > now() - make_interval(days => $1)) live
      WHERE NOT EXISTS (SELECT 1 FROM possync.system_settings s
                         WHERE s.setting_key = 'possync.tables.' || live.id AND s.updated_at > now() - make_interval(days => $1))
      ORDER BY live.id`,
    [retentionDays],
  );
  return rows.map((r) => r.id);
}

/** The change-log name a capture function logs under, from its COMMENT (`… for <name> <version>`). */
export function loggedNameOf(comment: string | null): string | undefined {
  return comment?.match(/^possync capture .*? for (.+) [0-9a-f]{16}$/)?.[1];
}

/** The hash in a capture function's name (`capture_<hash>`): that of the change-log name of the table it was made for. */
export function captureHashOf(loggedName: string): string {
  return createHash('sha256').update(loggedName).digest('hex').slice(0, 16);
}

/**
 * In the transaction that (re)installs a table's capture triggers: if possync had dropped them
 * (STOPPED_PREFIX), the table's changes since then were not logged, so a reload entry ('T') tells
 * every till whose checkpoint is older to resync it in full. Triggers and entry commit together,
 * so any later pull sees both.
 */
export async function logRevival(client: Queryable, loggedName: string): Promise<boolean> {
  const { rowCount } = await client.query(
    `WITH stopped AS (DELETE FROM possync.system_settings WHERE setting_key = $1 RETURNING 1)
     INSERT INTO possync.changes (tbl, op, origin, keys) SELECT $2, 'T', NULL, '[]'::jsonb FROM stopped`,
    [stoppedKey(loggedName), loggedName],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Deletes a table's change-log entries and leaves one reload entry ('T') in their place, in the
 * caller's transaction: a till whose checkpoint is older than the deleted entries (one silent for
 * longer than retentionDays) then resyncs the table instead of trusting a log with a hole in it.
 * Returns how many entries other than reload entries went.
 */
export async function pruneTableLog(client: Queryable, loggedName: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `WITH gone AS (DELETE FROM possync.changes WHERE tbl = $1 RETURNING op),
          reload AS (INSERT INTO possync.changes (tbl, op, origin, keys) VALUES ($1, 'T', NULL, '[]'::jsonb))
     SELECT count(*) FILTER (WHERE op <> 'T')::int AS n FROM gone`,
    [loggedName],
  );
  return rows[0]?.n ?? 0;
}

/** Marks that possync dropped this table's capture (logRevival clears it). */
export async function markStopped(client: Queryable, loggedName: string): Promise<void> {
  await writeSettings(client, [[stoppedKey(loggedName), loggedName]]);
}
