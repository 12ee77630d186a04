import type { PgGateway } from '../db/postgres/gateway.ts';
import type { SqliteDb } from '../db/sqlite/gateway.ts';
import { clearCheckpoints, type ClearedCheckpoint } from './checkpoints.ts';
import type { Step } from './result.ts';

/**
 * `possync reset-checkpoints`: clears the checkpoints of the given tables and steps so the next
 * run resyncs them in full (push rescans the terminal table, pull rescans the Postgres table;
 * both are idempotent, rows that are already equal come out "unchanged"). Before possync's first
 * run the checkpoint tables may not exist yet: then there is simply nothing to clear.
 * The caller holds the terminal lock, so no run can write a checkpoint back in between.
 */
export async function resetCheckpoints(pg: PgGateway, db: SqliteDb, terminalId: string, tables: readonly string[], steps: readonly Step[]): Promise<ClearedCheckpoint[]> {
  const present: Step[] = [];
  if (steps.includes('push') && (await pgSettingsExist(pg))) present.push('push');
  if (steps.includes('pull') && sqliteSettingsExist(db)) present.push('pull');
  if (present.length === 0 || tables.length === 0) return [];
  return clearCheckpoints(pg, db, terminalId, tables, present);
}

async function pgSettingsExist(pg: PgGateway): Promise<boolean> {
  const rows = await pg.query<{ ok: boolean }>(`SELECT to_regclass('possync.system_settings') IS NOT NULL AS ok`);
  return rows[0]?.ok === true;
}

function sqliteSettingsExist(db: SqliteDb): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'system_settings'`).get() !== undefined;
}
