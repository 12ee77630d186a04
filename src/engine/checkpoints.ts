import type { PgClient, PgGateway, Queryable } from '../db/postgres/gateway.ts';
import type { SqliteDb } from '../db/sqlite/gateway.ts';
import type { Step } from './result.ts';
import type { Key } from './keys.ts';

/**
 * Checkpoints live on the side that receives the data and are written in the same transaction as
 * the batch they cover, so a crash can never advance a checkpoint past rows that were not applied.
 *   push (SQLite → Postgres): possync.system_settings in Postgres
 *   pull (Postgres → SQLite): system_settings in the terminal database
 * Keys: sync.checkpoint.<terminalId>.<push|pull>.<table>
 */
export function checkpointKey(terminalId: string, step: Step, table: string): string {
  return `sync.checkpoint.${terminalId}.${step}.${table}`;
}

/** A full scan in progress: rows up to `after` (in key order) are done. */
export interface ScanState {
  after: Key | null;
}

export interface PushCheckpoint {
  /** Every local change with seq <= this is in Postgres (except held rows, kept in _possync_held). */
  seq: number;
  /** 'done' once the table's initial full scan finished. */
  scan: 'done' | ScanState;
}

export interface PullCheckpoint {
  /** Postgres change-log cursor: every change by a transaction with xid < this is applied. */
  xid: string | undefined;
  /** A full resync in progress; `fence` becomes `xid` when it completes. */
  scan: (ScanState & { fence: string }) | undefined;
}

export async function readPushCheckpoint(q: Queryable, terminalId: string, table: string): Promise<PushCheckpoint | undefined> {
  const { rows } = await q.query<{ setting_value: string }>(`SELECT setting_value FROM possync.system_settings WHERE setting_key = $1`, [
    checkpointKey(terminalId, 'push', table),
  ]);
  const value = rows[0]?.setting_value;
  return value ? (JSON.parse(value) as PushCheckpoint) : undefined;
}

export async function writePushCheckpoint(client: PgClient, terminalId: string, table: string, cp: PushCheckpoint): Promise<void> {
  await client.query(
    `INSERT INTO possync.system_settings (setting_key, setting_value, updated_at) VALUES ($1, $2, now())
     ON CONFLICT (setting_key) DO UPDATE SET setting_value = EXCLUDED.setting_value, updated_at = EXCLUDED.updated_at`,
    [checkpointKey(terminalId, 'push', table), JSON.stringify(cp)],
  );
}

export function readPullCheckpoint(db: SqliteDb, terminalId: string, table: string): PullCheckpoint | undefined {
  const row = db.prepare(`SELECT setting_value FROM system_settings WHERE setting_key = ?`).get(checkpointKey(terminalId, 'pull', table)) as
    | { setting_value: string | null }
    | undefined;
  return row?.setting_value ? (JSON.parse(row.setting_value) as PullCheckpoint) : undefined;
}

/** Must be called inside the SQLite transaction that applies the batch. */
export function writePullCheckpoint(db: SqliteDb, terminalId: string, table: string, cp: PullCheckpoint): void {
  db.prepare(
    `INSERT INTO system_settings (setting_key, setting_value, updated_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
     ON CONFLICT (setting_key) DO UPDATE SET setting_value = excluded.setting_value, updated_at = excluded.updated_at`,
  ).run(checkpointKey(terminalId, 'pull', table), JSON.stringify(cp));
}

export interface ClearedCheckpoint {
  step: Step;
  table: string;
  side: 'postgres' | 'sqlite';
}

/** Clears checkpoints so the next run resyncs the matching tables in full. Idempotent. */
export async function clearCheckpoints(
  pg: PgGateway,
  db: SqliteDb,
  terminalId: string,
  tables: readonly string[],
  steps: readonly Step[],
): Promise<ClearedCheckpoint[]> {
  const cleared: ClearedCheckpoint[] = [];
  if (steps.includes('push')) {
    const keys = tables.map((t) => checkpointKey(terminalId, 'push', t));
    const rows = await pg.query<{ setting_key: string }>(`DELETE FROM possync.system_settings WHERE setting_key = ANY($1::text[]) RETURNING setting_key`, [keys]);
    for (const r of rows) cleared.push({ step: 'push', table: tables[keys.indexOf(r.setting_key)]!, side: 'postgres' });
  }
  if (steps.includes('pull')) {
    const del = db.prepare(`DELETE FROM system_settings WHERE setting_key = ?`);
    db.transaction(() => {
      for (const t of tables) if (del.run(checkpointKey(terminalId, 'pull', t)).changes > 0) cleared.push({ step: 'pull', table: t, side: 'sqlite' });
    })();
  }
  return cleared;
}
