import { sqliteIdent } from '../../db/quote.ts';
import { withoutInsertCapture } from '../../db/sqlite/capture.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { selectByKeys, type RawValue } from '../../db/sqlite/rows.ts';
import type { FkPlan } from '../plan/types.ts';
import { fromPg, toSqlite, ValueError, type Wire } from '../values/codec.ts';
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
 * statement, no per-row comparison. Rows come as arrays of column texts (scanRowArrays) and are
 * converted straight to the values SQLite binds, with no wire-row or value objects for the common
 * row. Anything unusual (a parent not here yet, a value SQLite cannot hold exactly, a row the till
 * app inserted meanwhile) becomes a wire row and goes through the normal path, in the same
 * transaction as the checkpoint.
 */
export function bulkInsertArrays(ctx: RunContext, t: TablePlan, arrays: ReadonlyArray<ReadonlyArray<string | null>>, checkpoint: PullCheckpoint | undefined, result: TableResult): void {
  const db = ctx.sqlite.db;
  const cols = t.columns;
  // Column texts are converted as they are bound; only a row that goes the slow way becomes a wire row.
  const wire = (a: ReadonlyArray<string | null>, i: number): Wire => fromPg(cols[i]!.codec, a[i] ?? null);
  const asRow = (a: ReadonlyArray<string | null>): WireRow => Object.fromEntries(cols.map((c, i) => [c.pg, wire(a, i)]));
  // Translated FKs: the parent's shared id becomes its local id; rows with a parent missing locally go the slow way.
  const translate = cols.map((c) => t.fks.find((f) => f.translate && f.column === c));
  const maps = new Map<FkPlan, Map<string, RawValue>>();
  for (const [i, fk] of translate.entries()) {
    if (!fk) continue;
    const parent = ctx.plan.byName.get(fk.refTable)!;
    const ids = [...new Set(arrays.map((a) => wire(a, i)).filter((v): v is string => v !== null && v !== undefined))];
    const found = selectByKeys(db, parent.sqliteName, [parent.serverIdCol!.sqlite], [parent.localPk!, parent.serverIdCol!.sqlite], ids.map((id) => [id]));
    maps.set(fk, new Map(found.map((r) => [String(r[parent.serverIdCol!.sqlite]), r[parent.localPk!] ?? null])));
  }
  const checksParents = t.fks.some((f) => !f.translate);
  const orphans = checksParents ? missingLocalParents(ctx, t, arrays.map(asRow)) : new Map();
  const keyIndex = t.key.map((k) => cols.indexOf(k));
  const table = sqliteIdent(t.sqliteName);
  const columnList = cols.map((c) => sqliteIdent(c.sqlite)).join(', ');
  const tuple = `(${cols.map(() => '?').join(', ')})`;
  const insertOne = db.prepare(`INSERT INTO ${table} (${columnList}) VALUES ${tuple}`);
  // Rows go in several to a statement (fewer calls into SQLite: ~25% faster on a big first pull),
  // within SQLite's limit of bound values per statement.
  const perStatement = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(MAX_BOUND_VALUES / cols.length)));
  const insertMany = perStatement > 1 ? db.prepare(`INSERT INTO ${table} (${columnList}) VALUES ${Array(perStatement).fill(tuple).join(', ')}`) : insertOne;
  const width = cols.length;
  inPullTransaction(ctx, () => {
    const slow: WireRow[] = [];
    // One statement's values, written in place row after row (no array per row: with the value
    // checks, half of what a first pull allocated), and the rows' texts for the slow path.
    const flat: RawValue[] = new Array<RawValue>(perStatement * width).fill(null);
    const texts: Array<ReadonlyArray<string | null>> = [];
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
          slow.push(asRow(texts[r]!));
        }
      }
      n = 0;
    };
    // The fast rows go in with the insert trigger out of the way (capture is suppressed in this
    // transaction anyway); the slow rows below take the normal path with it back in place.
    withoutInsertCapture(db, t.sqliteName, () => {
      for (const a of arrays) {
        if (orphans.size > 0 && orphans.has(keyString(keyIndex.map((i) => wire(a, i) ?? '')))) {
          slow.push(asRow(a));
          continue;
        }
        // Written into the next free slot; a row that fails half way is overwritten by the next.
        const base = n * width;
        let ok = true;
        for (let i = 0; i < width && ok; i++) {
          const value = fromPg(cols[i]!.codec, a[i] ?? null);
          const fk = translate[i];
          if (fk && value !== null) {
            const local = maps.get(fk)!.get(value);
            if (local === undefined) ok = false;
            else flat[base + i] = local;
            continue;
          }
          try {
            flat[base + i] = toSqlite(cols[i]!.codec, value);
          } catch (err) {
            if (!(err instanceof ValueError)) throw err;
            ok = false;
          }
        }
        if (!ok) {
          slow.push(asRow(a));
          continue;
        }
        texts[n++] = a;
        if (n === perStatement) flush();
      }
      flush();
      texts.length = 0;
    });
    if (slow.length > 0) applyPullRows(ctx, t, { keys: slow.map((r) => t.key.map((k) => r[k.pg] ?? '')), rows: slow, deletedAt: new Map() }, {}, result);
    if (checkpoint) writePullCheckpoint(db, ctx.plan.terminalId, t.name, checkpoint);
  });
}
