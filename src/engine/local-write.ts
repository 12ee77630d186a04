import type { SqliteDb } from '../db/sqlite/gateway.ts';
import type { RawValue } from '../db/sqlite/rows.ts';
import { sqliteIdent } from '../db/quote.ts';
import { parseKey } from './keys.ts';
import type { TablePlan } from './plan/types.ts';

export type LocalOp =
  | { kind: 'insert'; values: Record<string, RawValue> }
  | { kind: 'update'; lkey: string; values: Record<string, RawValue> }
  | { kind: 'delete'; lkey: string };

export interface LocalWriteFailure {
  op: LocalOp;
  reason: string;
}

/**
 * Writes rows into the terminal database, one prepared statement per row (SQLite runs in-process,
 * so per-row statements inside one transaction are fast). Must run inside the caller's IMMEDIATE
 * transaction with capture suppressed. A row SQLite refuses (a local CHECK or UNIQUE constraint)
 * is returned, not thrown: only that statement is undone.
 */
export function writeLocal(db: SqliteDb, t: TablePlan, ops: readonly LocalOp[]): LocalWriteFailure[] {
  const failures: LocalWriteFailure[] = [];
  if (ops.length === 0) return failures;
  const keyCols = new Set(t.localPk ? [t.localPk] : t.key.map((k) => k.sqlite));
  const cols = t.columns.map((c) => c.sqlite);
  const setCols = cols.filter((c) => !keyCols.has(c));
  const where = t.localKey.map((k) => `${sqliteIdent(k)} = ?`).join(' AND ');
  const insert = db.prepare(`INSERT INTO ${sqliteIdent(t.sqliteName)} (${cols.map(sqliteIdent).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
  const update = setCols.length > 0 ? db.prepare(`UPDATE ${sqliteIdent(t.sqliteName)} SET ${setCols.map((c) => `${sqliteIdent(c)} = ?`).join(', ')} WHERE ${where}`) : undefined;
  const del = db.prepare(`DELETE FROM ${sqliteIdent(t.sqliteName)} WHERE ${where}`);
  for (const op of ops) {
    try {
      if (op.kind === 'insert') insert.run(...cols.map((c) => op.values[c] ?? null));
      else if (op.kind === 'update') update?.run(...setCols.map((c) => op.values[c] ?? null), ...parseKey(op.lkey));
      else del.run(...parseKey(op.lkey));
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_CONSTRAINT') && code !== 'SQLITE_MISMATCH' && code !== 'SQLITE_TOOBIG') throw err;
      failures.push({ op, reason: (err as Error).message });
    }
  }
  return failures;
}
