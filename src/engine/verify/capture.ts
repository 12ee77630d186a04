import type { PgGateway } from '../../db/postgres/gateway.ts';
import { sqliteTriggerState } from '../../db/sqlite/capture.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { readPullCheckpoint, readPushCheckpoint } from '../checkpoints.ts';
import { capturesLocally, pgCaptureStates, sqliteCaptureSpec } from '../install.ts';
import type { SyncPlan } from '../plan/types.ts';
import { finding, type Finding } from './finding.ts';

/**
 * possync's capture triggers on both sides. Missing triggers on a table that has synced before
 * (it has a checkpoint) mean changes went unrecorded since they disappeared, e.g. an app
 * migration rebuilt the table: that is an error, and the fix includes a resync. Missing triggers
 * on a table that never synced are simply installed by the first run.
 */
export async function captureFindings(pg: PgGateway, db: SqliteDb, plan: SyncPlan): Promise<Finding[]> {
  const out: Finding[] = [];
  const terminal = plan.terminalId;

  if (!(await pgSchemaExists(pg))) {
    out.push(finding('info', null, 'not-installed', 'possync is not installed in Postgres yet (schema "possync"): the first sync installs it'));
  } else {
    for (const s of await pgCaptureStates(pg.pool, plan)) {
      if (s.state === 'ok') continue;
      const synced = readSqliteCheckpointSafe(db, terminal, s.table);
      out.push(triggerFinding('Postgres', s.table, s.state, synced, 'pull'));
    }
  }

  if (!sqliteBookkeepingExists(db)) {
    out.push(finding('info', null, 'not-installed', 'possync is not installed in the terminal database yet: the first sync installs it'));
    return out;
  }
  const pushed = await pushCheckpointReader(pg);
  for (const t of plan.tables.filter(capturesLocally)) {
    const state = sqliteTriggerState(db, sqliteCaptureSpec(t));
    if (state === 'ok') continue;
    out.push(triggerFinding('SQLite', t.name, state, await pushed(terminal, t.name), 'push'));
  }
  return out;
}

function triggerFinding(side: 'Postgres' | 'SQLite', table: string, state: 'missing' | 'stale', synced: boolean, step: 'push' | 'pull'): Finding {
  if (state === 'stale') {
    return finding('warning', table, 'capture-stale', `${side} capture triggers on "${table}" are from an older possync or an older column set`, 'the next sync replaces them (possync trigger)');
  }
  if (!synced) return finding('info', table, 'capture-missing', `${side} capture triggers on "${table}" are not installed yet: the first sync installs them`);
  return finding(
    'error',
    table,
    'capture-missing',
    `${side} capture triggers on "${table}" are missing although it has synced before: changes made since they disappeared were not recorded for ${step}`,
    `possync trigger (reinstalls them), then possync reset-checkpoints --table ${table} --direction ${step} --yes and sync again to resync what was missed`,
  );
}

async function pgSchemaExists(pg: PgGateway): Promise<boolean> {
  const rows = await pg.query<{ ok: boolean }>(`SELECT to_regclass('possync.system_settings') IS NOT NULL AND to_regclass('possync.changes') IS NOT NULL AS ok`);
  return rows[0]?.ok === true;
}

function sqliteBookkeepingExists(db: SqliteDb): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '_possync_state'`).get() !== undefined;
}

function readSqliteCheckpointSafe(db: SqliteDb, terminal: string, table: string): boolean {
  const settings = db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'system_settings'`).get();
  return settings !== undefined && readPullCheckpoint(db, terminal, table) !== undefined;
}

async function pushCheckpointReader(pg: PgGateway): Promise<(terminal: string, table: string) => Promise<boolean>> {
  const exists = await pgSchemaExists(pg);
  return async (terminal, table) => exists && (await readPushCheckpoint(pg.pool, terminal, table)) !== undefined;
}
