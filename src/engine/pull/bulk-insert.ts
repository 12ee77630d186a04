import { sqliteIdent } from '../../db/quote.ts';
import { withoutInsertCapture } from '../../db/sqlite/capture.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { selectByKeys, type RawValue } from '../../db/sqlite/rows.ts';
import { eachRow, type CopyPage } from '../../db/postgres/copy-out.ts';
import type { FkPlan } from '../plan/types.ts';
import { fromPg, ValueError } from '../values/codec.ts';
import { wireFromPgTexts } from '../push/apply.ts';
import { pgToSqlite } from '../values/pg-to-sqlite.ts';
import { writePullCheckpoint, type PullCheckpoint } from '../checkpoints.ts';
import type { RunContext } from '../context.ts';
import type { WireRow } from '../decide.ts';
import { keyString } from '../keys.ts';
import type { TablePlan } from '../plan/types.ts';
import type { TableResult } from '../result.ts';
import { applyPullRows, inPullTransaction, missingLocalParents } from './apply.ts';

/** Rows per multi-row INSERT, and SQLite's default cap on bound values per statement (32,766). */
const ROWS_PER_INSERT = 50;
const MAX_BOUND_VALUES = 32_766;

function isConstraintError(err: unknown): boolean {
  return String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT');
}

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
 * statement, no per-row comparison. Rows come as a page of COPY text (scanPage), split one row at
 * a time and converted straight to the values SQLite binds, with no wire-row or value objects for
 * the common row. Anything unusual (a parent not here yet, a value SQLite cannot hold exactly, a
 * row the till app inserted meanwhile) becomes a wire row and goes through the normal path, in
 * the same transaction as the checkpoint.
 */
export function bulkInsertRows(ctx: RunContext, t: TablePlan, page: CopyPage, checkpoint: PullCheckpoint | undefined, result: TableResult): void {
  const db = ctx.sqlite.db;
  const cols = t.columns;
  const width = cols.length;
  // Column texts are converted as they are bound; only a row that goes the slow way becomes a wire row.
  const asRow = (texts: ReadonlyArray<string | null>, at = 0): WireRow => wireFromPgTexts(t, texts, at);
  // Translated FKs: the parent's shared id becomes its local id; rows with a parent missing locally go the slow way.
  const translate = cols.map((c) => t.fks.find((f) => f.translate && f.column === c));
  const maps = new Map<FkPlan, Map<string, RawValue>>();
  const checksParents = t.fks.some((f) => !f.translate);
  let orphans = new Map<string, unknown>();
  if (translate.some(Boolean) || checksParents) {
    // Tables with foreign keys look at the whole page first (one pass more over its text).
    const rows: WireRow[] = [];
    eachRow(page, (texts) => rows.push(asRow(texts)));
    for (const [i, fk] of translate.entries()) {
      if (!fk) continue;
      const parent = ctx.plan.byName.get(fk.refTable)!;
      const ids = [...new Set(rows.map((r) => r[cols[i]!.pg]).filter((v): v is string => v !== null && v !== undefined))];
      const found = selectByKeys(db, parent.sqliteName, [parent.serverIdCol!.sqlite], [parent.localPk!, parent.serverIdCol!.sqlite], ids.map((id) => [id]));
      maps.set(fk, new Map(found.map((r) => [String(r[parent.serverIdCol!.sqlite]), r[parent.localPk!] ?? null])));
    }
    if (checksParents) orphans = missingLocalParents(ctx, t, rows);
  }
  const keyIndex = t.key.map((k) => cols.indexOf(k));
  // Each column's text → SQLite value, as toSqlite(fromPg(…)) with shortcuts for common spellings.
  const convert = cols.map((c) => pgToSqlite(c.codec));
  const table = sqliteIdent(t.sqliteName);
  const columnList = cols.map((c) => sqliteIdent(c.sqlite)).join(', ');
  const tuple = `(${cols.map(() => '?').join(', ')})`;
  const insertOne = db.prepare(`INSERT INTO ${table} (${columnList}) VALUES ${tuple}`);
  // Rows go in several to a statement (fewer calls into SQLite: ~25% faster on a big first pull),
  // within SQLite's limit of bound values per statement.
  const perStatement = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(MAX_BOUND_VALUES / cols.length)));
  const insertMany = perStatement > 1 ? db.prepare(`INSERT INTO ${table} (${columnList}) VALUES ${Array(perStatement).fill(tuple).join(', ')}`) : insertOne;
  inPullTransaction(ctx, () => {
    const slow: WireRow[] = [];
    // One statement's values, written in place row after row (no array per row), and the same
    // rows' texts, for the slow path of a row the statement could not insert.
    const flat: RawValue[] = new Array<RawValue>(perStatement * width).fill(null);
    const texts: Array<string | null> = new Array<string | null>(perStatement * width).fill(null);
    let n = 0;
    const flush = () => {
      if (n === perStatement) {
        try {
          insertMany.run(flat);
          result.inserted += n;
          n = 0;
          return;
        } catch (err) {
          // One row of the statement broke a constraint and SQLite undid the statement: go one by one.
          if (!isConstraintError(err)) throw err;
        }
      }
      for (let r = 0; r < n; r++) {
        try {
          insertOne.run(flat.slice(r * width, (r + 1) * width));
          result.inserted++;
        } catch (err) {
          if (!isConstraintError(err)) throw err;
          slow.push(asRow(texts, r * width));
        }
      }
      n = 0;
    };
    // The fast rows go in with the insert trigger out of the way (capture is suppressed in this
    // transaction anyway); the slow rows below take the normal path with it back in place.
    withoutInsertCapture(db, t.sqliteName, () => {
      eachRow(page, (row) => {
        if (orphans.size > 0 && orphans.has(keyString(keyIndex.map((i) => fromPg(cols[i]!.codec, row[i] ?? null) ?? '')))) {
          slow.push(asRow(row));
          return;
        }
        // Written into the next free slot; a row that fails half way is overwritten by the next.
        const base = n * width;
        for (let i = 0; i < width; i++) {
          const text = row[i] ?? null;
          texts[base + i] = text;
          const fk = translate[i];
          if (fk && text !== null) {
            const local = maps.get(fk)!.get(fromPg(cols[i]!.codec, text)!);
            if (local === undefined) return void slow.push(asRow(row));
            flat[base + i] = local;
            continue;
          }
          try {
            flat[base + i] = convert[i]!(text);
          } catch (err) {
            if (!(err instanceof ValueError)) throw err;
            return void slow.push(asRow(row));
          }
        }
        if (++n === perStatement) flush();
      });
      flush();
    });
    if (slow.length > 0) applyPullRows(ctx, t, { keys: slow.map((r) => t.key.map((k) => r[k.pg] ?? '')), rows: slow, deletedAt: new Map() }, {}, result);
    if (checkpoint) writePullCheckpoint(db, ctx.plan.terminalId, t.name, checkpoint);
  });
}
