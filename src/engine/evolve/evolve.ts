import { isPossyncError } from '../../errors.ts';
import { redactUrl } from '../../config/format.ts';
import { RunAborted, type RunContext } from '../context.ts';
import type { TablePlan } from '../plan/types.ts';
import { asRunStopper } from '../step.ts';
import { backfillColumns, type BackfillReport } from './backfill.ts';
import { columnChanges, hasChanges, readSyncedColumns, syncedColumnsOf, writeSyncedColumns, type ColumnChanges } from './synced-columns.ts';
import { forgetTables, removedTables } from './removed-tables.ts';
import { clearCheckpoints } from '../checkpoints.ts';

export interface Evolution {
  /** One line per change possync noticed (a column that left or changed type, a table let go). */
  notes: string[];
  backfills: BackfillReport[];
  /** Tables whose backfill failed: they do not sync this run (their new column would overwrite values), with why. */
  failed: Map<string, string>;
}

/**
 * Before a run syncs anything: compares each table's synced columns with what this till recorded
 * last time, backfills columns that joined, says which left or changed type, and records the new
 * set. The backfill comes first because the run's push would otherwise send this till's NULLs of
 * a column that just appeared here over the cloud's values (and its pull would never look at rows
 * that did not change). A table seen for the first time is only recorded: its first sync moves
 * every column anyway. The record is written after the backfill, so a run cut short redoes it.
 */
export async function evolveSchemas(ctx: RunContext, tables: readonly TablePlan[]): Promise<Evolution> {
  const out: Evolution = { notes: [], backfills: [], failed: new Map() };
  const db = ctx.sqlite.db;
  if (!ctx.dryRun) out.notes.push(...(await letGoOfRemovedTables(ctx)));
  for (const t of tables) {
    const recorded = ctx.sqlite.read(() => readSyncedColumns(db, t.name));
    const now = syncedColumnsOf(t);
    if (!recorded) {
      if (!ctx.dryRun) ctx.sqlite.immediate(() => writeSyncedColumns(db, t.name, now));
      continue;
    }
    const changes = columnChanges(t, recorded);
    if (!hasChanges(changes)) continue;
    out.notes.push(...describeChanges(t, changes));
    // A key column that "joins" is a new identity mapping, not data to fill in.
    const joined = changes.joined.filter((c) => !t.key.includes(c));
    try {
      if (joined.length > 0) {
        const report = await backfillColumns(ctx, t, joined);
        out.backfills.push(report);
        // Values the other side refused: not recorded as synced, so the next run tries again.
        if (report.refused.length > 0) continue;
      }
    } catch (caught) {
      const err = asRunStopper(ctx, caught);
      if (err instanceof RunAborted || isPossyncError(err)) throw err;
      out.failed.set(t.name, `backfill of ${joined.map((c) => c.pg).join(', ')} failed, so the table does not sync this run: ${redactUrl(err instanceof Error ? err.message : String(err))}`);
      continue;
    }
    if (!ctx.dryRun) ctx.sqlite.immediate(() => writeSyncedColumns(db, t.name, now));
  }
  return out;
}

/** Tables taken out of the config: see removed-tables.ts. The cloud's push checkpoint goes first, so a crash in between only repeats this. */
async function letGoOfRemovedTables(ctx: RunContext): Promise<string[]> {
  const db = ctx.sqlite.db;
  const removed = ctx.sqlite.read(() => removedTables(db, ctx.plan));
  if (removed.length === 0) return [];
  const names = removed.map((r) => r.name).filter((n): n is string => n !== undefined);
  if (names.length > 0) await clearCheckpoints(ctx.pg, db, ctx.plan.terminalId, names, ['push']);
  return ctx.sqlite.immediate(() => forgetTables(db, ctx.plan.terminalId, removed));
}

/** The run's notes for columns that left or changed type (verify-schemas says the same). */
export function describeChanges(t: TablePlan, c: ColumnChanges): string[] {
  const notes: string[] = [];
  for (const l of c.left) {
    notes.push(`${t.name}.${l.pg} is no longer synced (dropped or renamed on one side, made localOnly or unmapped): the other columns sync on, and its values stay as they are on each side`);
  }
  for (const r of c.retyped) {
    const parts: string[] = [];
    if (r.before.pgType !== r.now.pgType) parts.push(`Postgres ${r.before.pgType} → ${r.now.pgType}`);
    if (r.before.sqliteType !== r.now.sqliteType) parts.push(`SQLite ${r.before.sqliteType || '(no type)'} → ${r.now.sqliteType || '(no type)'}`);
    notes.push(`${t.name}.${r.column.pg} changed type (${parts.join('; ')}): values cross exactly; one that no longer fits is refused with its row (possync rejected), never cut`);
  }
  return notes;
}
