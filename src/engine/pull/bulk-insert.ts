import { sqliteIdent } from '../../db/quote.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { writePullCheckpoint, type PullCheckpoint } from '../checkpoints.ts';
import type { RunContext } from '../context.ts';
import { wireRowsToLocal } from '../convert.ts';
import type { WireRow } from '../decide.ts';
import { keyString } from '../keys.ts';
import type { TablePlan } from '../plan/types.ts';
import type { TableResult } from '../result.ts';
import { applyPullRows, inPullTransaction, missingLocalParents } from './apply.ts';

/**
 * Whether a resync may take the bulk path: the terminal has no rows of the table and no local
 * changes to it waiting, so there is nothing to compare with and nothing to contest.
 */
export function canBulkInsert(db: SqliteDb, t: TablePlan): boolean {
  const hasRows = db.prepare(`SELECT 1 FROM ${sqliteIdent(t.sqliteName)} LIMIT 1`).get() !== undefined;
  const hasChanges = db.prepare(`SELECT 1 FROM _possync_changes WHERE tbl = ? LIMIT 1`).get(t.sqliteName) !== undefined;
  return !hasRows && !hasChanges;
}

/**
 * The first pull of a table into an empty terminal table: plain INSERTs through one prepared
 * statement, no per-row comparison. Anything unusual (a parent not here yet, a value SQLite
 * refuses, a row the till app inserted meanwhile) goes through the normal path, in the same
 * transaction as the checkpoint.
 */
export function bulkInsertBatch(ctx: RunContext, t: TablePlan, rows: readonly WireRow[], checkpoint: PullCheckpoint | undefined, result: TableResult): void {
  const db = ctx.sqlite.db;
  const converted = wireRowsToLocal(db, ctx.plan, t, rows);
  const orphans = t.fks.length > 0 ? missingLocalParents(ctx, t, rows) : new Map();
  const cols = t.columns.map((c) => c.sqlite);
  const insert = db.prepare(`INSERT INTO ${sqliteIdent(t.sqliteName)} (${cols.map(sqliteIdent).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
  const keyOf = (row: WireRow) => t.key.map((k) => row[k.pg] ?? '');
  inPullTransaction(ctx, () => {
    const slow: WireRow[] = [];
    rows.forEach((row, i) => {
      const conv = converted[i]!;
      if (!conv.ok || conv.missing.length > 0 || (orphans.size > 0 && orphans.has(keyString(keyOf(row))))) {
        slow.push(row);
        return;
      }
      try {
        insert.run(...cols.map((c) => conv.values[c] ?? null));
        result.inserted++;
      } catch (err) {
        if (!String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw err;
        slow.push(row);
      }
    });
    if (slow.length > 0) applyPullRows(ctx, t, { keys: slow.map(keyOf), rows: slow, deletedAt: new Map() }, {}, result);
    if (checkpoint) writePullCheckpoint(db, ctx.plan.terminalId, t.name, checkpoint);
  });
}
