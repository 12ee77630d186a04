import type { PgClient, PgGateway, Queryable } from '../db/postgres/gateway.ts';
import { writeSettings } from '../db/postgres/settings.ts';
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
  /**
   * The pull snapshot (pg_snapshot text, `xmin:xmax:xip,…`) whose changes are all applied: also
   * those of transactions above `xid` that had committed, so the next pull skips them. Checkpoints
   * written before possync stored it lack it; `xid` alone then stands for `xid:xid:`.
   */
  snapshot?: string | undefined;
  /** A full resync in progress; `fence` (and `snapshot`) become `xid` when it completes. */
  scan: (ScanState & { fence: string; snapshot?: string | undefined }) | undefined;
}

/** What a pull reads in: its snapshot and that snapshot's xmin, the fence. */
export interface PullSnapshot {
  fence: string;
  snapshot: string;
}

/** Before any pull: every change in the log is one this terminal has not seen. */
export const NEVER_PULLED: PullSnapshot = { fence: '0', snapshot: '1:1:' };

/**
 * SQL: the change-log entry `c` (alias) is by a transaction the snapshot bound as `$snapshot` (with
 * its xmin as `$fence`) did not see. The xid bound comes first so the (tbl, xid) index applies.
 */
export function unseenSql(fence: string, snapshot: string): string {
  return `c.xid >= ${fence}::xid8 AND NOT pg_visible_in_snapshot(c.xid, ${snapshot}::pg_snapshot)`;
}

/** The snapshot a checkpoint (or a resync in progress) stands for. */
export function appliedSnapshot(at: { xid?: string | undefined; fence?: string; snapshot?: string | undefined }): PullSnapshot {
  const fence = at.fence ?? at.xid;
  if (fence === undefined) throw new Error('a pull checkpoint without a position has no snapshot');
  return { fence, snapshot: at.snapshot ?? `${fence}:${fence}:` };
}

export async function readPushCheckpoint(q: Queryable, terminalId: string, table: string): Promise<PushCheckpoint | undefined> {
  const { rows } = await q.query<{ setting_value: string }>(`SELECT setting_value FROM possync.system_settings WHERE setting_key = $1`, [
    checkpointKey(terminalId, 'push', table),
  ]);
  const value = rows[0]?.setting_value;
  return value ? (JSON.parse(value) as PushCheckpoint) : undefined;
}

/** Several tables' push checkpoints in one round trip (a table without one is absent). */
export async function readPushCheckpoints(q: Queryable, terminalId: string, tables: readonly string[]): Promise<Map<string, PushCheckpoint>> {
  const keys = tables.map((t) => checkpointKey(terminalId, 'push', t));
  const { rows } = await q.query<{ setting_key: string; setting_value: string | null }>(
    `SELECT setting_key, setting_value FROM possync.system_settings WHERE setting_key = ANY($1::text[])`,
    [keys],
  );
  const out = new Map<string, PushCheckpoint>();
  for (const r of rows) if (r.setting_value) out.set(tables[keys.indexOf(r.setting_key)]!, JSON.parse(r.setting_value) as PushCheckpoint);
  return out;
}

export async function writePushCheckpoint(client: PgClient, terminalId: string, table: string, cp: PushCheckpoint): Promise<void> {
  await writeSettings(client, [pushCheckpointSetting(terminalId, table, cp)]);
}

/** A table's push checkpoint as a setting (key, value) for writeSettings (db/postgres/settings.ts). */
export function pushCheckpointSetting(terminalId: string, table: string, cp: PushCheckpoint): [string, string] {
  return [checkpointKey(terminalId, 'push', table), JSON.stringify(cp)];
}

export function readPullCheckpoint(db: SqliteDb, terminalId: string, table: string): PullCheckpoint | undefined {
  const row = db.prepare(`SELECT setting_value FROM system_settings WHERE setting_key = ?`).get(checkpointKey(terminalId, 'pull', table)) as
    | { setting_value: string | null }
    | undefined;
  return row?.setting_value ? (JSON.parse(row.setting_value) as PullCheckpoint) : undefined;
}

/** What this terminal has pulled of a table: undefined before its first pull or during a resync. */
export function pulledSnapshot(db: SqliteDb, terminalId: string, table: string): PullSnapshot | undefined {
  const cp = readPullCheckpoint(db, terminalId, table);
  return cp?.scan || cp?.xid === undefined ? undefined : appliedSnapshot(cp);
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
