import type { PgClient } from '../../db/postgres/gateway.ts';
import { keyParams, scanRows, type TextRow } from '../../db/postgres/rows.ts';
import { pgIdent, pgTable, sqliteIdent } from '../../db/quote.ts';
import { selectByKeys, withCaptureSuppressed, type RawRow, type RawValue } from '../../db/sqlite/rows.ts';
import { checkAborted, type RunContext } from '../context.ts';
import { localRowsToWire, wireRowsToLocal } from '../convert.ts';
import type { WireRow } from '../decide.ts';
import { keyString, parseKey, type Key } from '../keys.ts';
import type { ColumnPlan, TablePlan } from '../plan/types.ts';
import { localKeyString } from '../push/prepare.ts';
import { pgRef, wireFromPgRow } from '../push/apply.ts';
import { compareVersion, same } from '../values/codec.ts';

/** What a backfill did for one table (RunResult.backfills). */
export interface BackfillReport {
  table: string;
  label: string;
  /** The columns that joined (Postgres names). */
  columns: string[];
  /** Values written on this till (the cloud had them). */
  toTill: number;
  /** Values written in Postgres (this till had them). */
  toCloud: number;
  /** Of those, cells where both sides held different values and the table's policy chose. */
  contested: number;
  /** Values the other side refused (e.g. too long for a narrower column), with why: not written. */
  refused: string[];
}

/** Rows compared per page: one key-ordered read of key + the new columns on each side. */
const PAGE = 2_000;

interface ToCloud {
  key: Key;
  column: ColumnPlan;
  value: string | null;
  /** The cell's text as read: written only if nobody changed it since (compare-and-set). */
  was: string | null;
}

interface ToTill {
  lkey: string;
  column: ColumnPlan;
  /** The cloud row (key + new columns), converted with the table's codecs. */
  cloud: WireRow;
  was: RawValue;
}

/**
 * Brings the values of columns that just joined the sync across for rows both sides already
 * have. The regular sync never would: rows whose other columns agree are "unchanged", and no
 * change log names them. Cost: one pass over key + those columns on each side, in key-ordered
 * pages, not a resync of the table.
 *
 * Per cell: equal values stay; a NULL takes the other side's value; two different values are
 * settled by the table's policy (lww: the row with the newer updatedCol, ties to the server;
 * server-wins; client-wins), and a push-only or pull-only table only ever writes the way it
 * syncs. Writes are compare-and-set (a cell someone changed meanwhile is left to the regular
 * sync) and echo-free: Postgres writes carry this terminal as origin (its own pulls skip them),
 * SQLite writes run with capture suppressed (they are not pushed back). Rows only one side has
 * are the regular sync's business. Idempotent: a backfill cut short redoes only what still differs.
 */
export async function backfillColumns(ctx: RunContext, t: TablePlan, joined: readonly ColumnPlan[]): Promise<BackfillReport> {
  const report: BackfillReport = { table: t.name, label: t.label, columns: joined.map((c) => c.pg), toTill: 0, toCloud: 0, contested: 0, refused: [] };
  const db = ctx.sqlite.db;
  const version = t.conflict === 'lww' && t.updated && !joined.includes(t.updated) && !t.key.includes(t.updated) ? [t.updated] : [];
  const columns = [...t.key, ...joined, ...version];
  // The table narrowed to the columns this pass reads (codecs, FK translation and all).
  const sub: TablePlan = { ...t, columns, fks: t.fks.filter((f) => columns.includes(f.column)) };
  const ref = pgRef(ctx.plan, t);
  const pgColumns = columns.map((c) => ({ name: c.pg, castType: c.castType }));
  const scope = t.scope.map((s) => ({ name: s.pg, castType: s.castType, value: s.value }));
  const localColumns = [...new Set([...t.localKey, ...columns.map((c) => c.sqlite)])];
  let after: string[] | null = null;
  for (;;) {
    checkAborted(ctx);
    const texts: TextRow[] = await ctx.pg.tx((client) => scanRows(client, ref, pgColumns, after, PAGE, scope), { readOnly: true });
    if (texts.length === 0) break;
    const cloud = texts.map((r) => wireFromPgRow(sub, r));
    const keys = cloud.map((w) => t.key.map((k) => w[k.pg] ?? ''));
    after = keys.at(-1)!;
    const raws = ctx.sqlite.read(() => selectByKeys(db, t.sqliteName, t.key.map((k) => k.sqlite), localColumns, keys));
    const local = new Map<string, { row: WireRow; raw: RawRow }>();
    localRowsToWire(db, ctx.plan, sub, raws).forEach((conv, i) => {
      // A local row that cannot be read is the regular sync's (it holds or rejects it).
      if (conv.ok) local.set(keyString(t.key.map((k) => conv.row[k.pg] ?? '')), { row: conv.row, raw: raws[i]! });
    });
    const toCloud: ToCloud[] = [];
    const toTill: ToTill[] = [];
    cloud.forEach((server, i) => {
      const mine = local.get(keyString(keys[i]!));
      if (!mine) return;
      for (const c of joined) {
        const cv = server[c.pg] ?? null;
        const lv = mine.row[c.pg] ?? null;
        if (same(c.codec, cv, lv)) continue;
        const both = cv !== null && lv !== null;
        if (both) report.contested++;
        if (winner(t, cv, lv, mine.row, server) === 'local') toCloud.push({ key: keys[i]!, column: c, value: lv, was: texts[i]![c.pg] ?? null });
        else toTill.push({ lkey: localKeyString(t, mine.raw), column: c, cloud: server, was: mine.raw[c.sqlite] ?? null });
      }
    });
    if (ctx.dryRun) {
      report.toCloud += toCloud.length;
      report.toTill += toTill.length;
    } else {
      if (toCloud.length > 0) report.toCloud += await writeCloud(ctx, t, toCloud, report);
      if (toTill.length > 0) report.toTill += writeTill(ctx, sub, toTill, report);
    }
    if (texts.length < PAGE) break;
  }
  return report;
}

/** Which side's value a differing cell takes. */
function winner(t: TablePlan, cloud: string | null, local: string | null, localRow: WireRow, cloudRow: WireRow): 'local' | 'server' {
  if (t.direction === 'push') return 'local';
  if (t.direction === 'pull') return 'server';
  if (local === null) return 'server';
  if (cloud === null) return 'local';
  // conflict "version": a backfilled column's values carry no version of their own; the fallback settles them.
  const policy = t.conflict === 'version' ? (t.fallback ?? 'server-wins') : t.conflict;
  if (policy === 'client-wins') return 'local';
  if (policy === 'server-wins' || !t.updated) return 'server';
  const cmp = compareVersion(t.updated.family, localRow[t.updated.pg] ?? null, cloudRow[t.updated.pg] ?? null);
  return cmp > 0 ? 'local' : 'server'; // ties go to the server, as in every conflict
}

/** One UPDATE per column, set-based; a statement Postgres refuses is retried row by row to isolate the refused values. */
async function writeCloud(ctx: RunContext, t: TablePlan, cells: ToCloud[], report: BackfillReport): Promise<number> {
  let written = 0;
  const byColumn = new Map<ColumnPlan, ToCloud[]>();
  for (const c of cells) byColumn.set(c.column, [...(byColumn.get(c.column) ?? []), c]);
  for (const [column, list] of byColumn) {
    try {
      written += await ctx.pg.tx((client) => updateCloud(client, ctx, t, column, list), { origin: ctx.plan.terminalId });
    } catch (err) {
      if (!isRefusal(err)) throw err;
      for (const cell of list) {
        try {
          written += await ctx.pg.tx((client) => updateCloud(client, ctx, t, column, [cell]), { origin: ctx.plan.terminalId });
        } catch (one) {
          if (!isRefusal(one)) throw one;
          if (report.refused.length < 5) report.refused.push(`${t.name}:${cell.key.join(',')} ${column.pg}: ${(one as Error).message}`);
        }
      }
    }
  }
  return written;
}

/** Data errors (SQLSTATE class 22: too long, out of range, invalid text) and constraint violations (23). */
function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

async function updateCloud(client: PgClient, ctx: RunContext, t: TablePlan, column: ColumnPlan, cells: readonly ToCloud[]): Promise<number> {
  const ref = pgRef(ctx.plan, t);
  const params: unknown[] = keyParams(cells.map((c) => c.key), ref.key.length);
  params.push(cells.map((c) => c.value), cells.map((c) => c.was));

  const names = [...ref.key.map((_, i) => `k${i}`), 'v', 'was'];
  const on = ref.key.map((k, i) => `t.${pgIdent(k.name)} = u.k${i}::${k.castType}`).join(' AND ');
  const col = pgIdent(column.pg);
  // ::text comparison: works for every type (json has no equality) in possync's text settings.
  const sql = `UPDATE ${pgTable(ref.schema, ref.table)} AS t SET ${col} = u.v::${column.castType}
    FROM unnest(${names.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${names.join(', ')})
    WHERE ${on} AND t.${col}::text IS NOT DISTINCT FROM u.was`;
  return (await client.query(sql, params)).rowCount ?? 0;
}

/** One IMMEDIATE transaction with capture suppressed; compare-and-set per cell. */
function writeTill(ctx: RunContext, sub: TablePlan, cells: ToTill[], report: BackfillReport): number {
  const db = ctx.sqlite.db;
  const converted = wireRowsToLocal(db, ctx.plan, sub, cells.map((c) => c.cloud));
  const where = sub.localKey.map((k) => `${sqliteIdent(k)} = ?`).join(' AND ');
  let written = 0;
  ctx.sqlite.immediate(() =>
    withCaptureSuppressed(db, () => {
      cells.forEach((cell, i) => {
        const conv = converted[i]!;
        const value = conv.ok ? conv.values[cell.column.sqlite] : undefined;
        if (!conv.ok || value === undefined || conv.missing.some((m) => m.sqlite === cell.column.sqlite)) {
          if (report.refused.length < 5) report.refused.push(`${sub.name}:${cell.lkey} ${cell.column.pg}: ${conv.ok ? 'its parent is not on this till yet' : conv.reason}`);
          return;
        }
        const c = sqliteIdent(cell.column.sqlite);
        try {
          written += db.prepare(`UPDATE ${sqliteIdent(sub.sqliteName)} SET ${c} = ? WHERE ${where} AND ${c} IS ?`).run(value, ...parseKey(cell.lkey), cell.was).changes;
        } catch (err) {
          const code = (err as { code?: string }).code ?? '';
          if (!code.startsWith('SQLITE_CONSTRAINT') && code !== 'SQLITE_MISMATCH') throw err;
          if (report.refused.length < 5) report.refused.push(`${sub.name}:${cell.lkey} ${cell.column.pg}: ${(err as Error).message}`);
        }
      });
    }),
  );
  return written;
}
