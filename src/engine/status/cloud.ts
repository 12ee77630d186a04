import type { PgGateway } from '../../db/postgres/gateway.ts';
import { checkpointKey, type PushCheckpoint } from '../checkpoints.ts';

/** What `possync status` reads from Postgres about this terminal. */
export interface CloudStatus {
  installed: boolean;
  /** When this terminal last pulled, and the fence it pulled up to. */
  lastSeen: string | null;
  pullFence: string | null;
  /** Push conflicts this terminal recorded in possync.conflicts. */
  conflicts: number;
  pushCheckpoints: Map<string, { checkpoint: PushCheckpoint; updatedAt: string }>;
}

/** Read over the gateway's pool: an admin command, off the sync path. */
export async function readCloudStatus(pg: PgGateway, terminalId: string, tables: readonly string[]): Promise<CloudStatus> {
  const [exists] = await pg.query<{ ok: boolean }>(`
    SELECT to_regclass('possync.system_settings') IS NOT NULL AND to_regclass('possync.terminals') IS NOT NULL
       AND to_regclass('possync.conflicts') IS NOT NULL AS ok`);
  if (!exists?.ok) return { installed: false, lastSeen: null, pullFence: null, conflicts: 0, pushCheckpoints: new Map() };
  const [terminal] = await pg.query<{ last_seen: string; pull_fence: string | null }>(
    `SELECT to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_seen, pull_fence::text AS pull_fence
       FROM possync.terminals WHERE terminal_id = $1`,
    [terminalId],
  );
  const [conflicts] = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM possync.conflicts WHERE terminal_id = $1`, [terminalId]);
  const keys = tables.map((t) => checkpointKey(terminalId, 'push', t));
  const settings = await pg.query<{ setting_key: string; setting_value: string; updated_at: string }>(
    `SELECT setting_key, setting_value, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at
       FROM possync.system_settings WHERE setting_key = ANY($1::text[])`,
    [keys],
  );
  const pushCheckpoints = new Map<string, { checkpoint: PushCheckpoint; updatedAt: string }>();
  for (const s of settings) pushCheckpoints.set(tables[keys.indexOf(s.setting_key)]!, { checkpoint: JSON.parse(s.setting_value) as PushCheckpoint, updatedAt: s.updated_at });
  return { installed: true, lastSeen: terminal?.last_seen ?? null, pullFence: terminal?.pull_fence ?? null, conflicts: conflicts?.n ?? 0, pushCheckpoints };
}

/** Changes other terminals (or the back office) made that this terminal has not pulled yet (see readUnpulled in fence.ts). */
export interface PendingPull {
  /** Change-log entries (one per statement) beyond the checkpoint. */
  changes: number;
  /** Keys those entries touched (an upper bound of the rows the next pull fetches). */
  keys: number;
}
