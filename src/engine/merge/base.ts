import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/postgres/gateway.ts';
import { baseTableName, type BaseCopySpec } from '../../db/sqlite/base-copy.ts';
import type { SqliteDb } from '../../db/sqlite/gateway.ts';
import { selectByKeys, withCaptureSuppressed } from '../../db/sqlite/rows.ts';
import { sqliteIdent } from '../../db/quote.ts';
import type { RunContext } from '../context.ts';
import { localRowsToWire, wireRowsToLocal } from '../convert.ts';
import type { WireRow } from '../decide.ts';
import { parseKey } from '../keys.ts';
import { writeLocal } from '../local-write.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import { localColumns, localKeyString } from '../push/prepare.ts';

/**
 * The base of column merge: what the till and the cloud last agreed on, for the rows the till has
 * changed since (db/sqlite/base-copy.ts says how the copy is taken). Its life:
 *  - taken by the update trigger at the first local change after an agreement;
 *  - a pull that merges a row with pending local changes moves it to the cloud's version (the
 *    till's changes are then relative to that), in the pull's SQLite transaction;
 *  - a pushed batch stages its rows' next base (and the merged row to write back) before the
 *    Postgres COMMIT, with a token the Postgres transaction stores too; the staged rows are
 *    applied after the commit, or by the next run when Postgres holds the token. That is what
 *    makes a counter's delta count exactly once: the base moves past a delta in the same step
 *    that records it as pushed, whatever crashes in between.
 */
export function keepsBase(t: TablePlan): boolean {
  return t.merge === 'column' && t.direction === 'both';
}

export function baseCopySpec(t: TablePlan): BaseCopySpec | undefined {
  if (!keepsBase(t)) return undefined;
  const types = new Map(t.sqlite.columns.map((c) => [c.name, c.declaredType]));
  return { table: t.sqliteName, heldTbl: t.name, localKey: t.localKey, columns: localColumns(t).map((name) => ({ name, type: types.get(name) ?? '' })) };
}

/** The bases of these local keys that exist, as wire rows. */
export function readBases(db: SqliteDb, plan: SyncPlan, t: TablePlan, lkeys: readonly string[]): Map<string, WireRow> {
  const out = new Map<string, WireRow>();
  if (!keepsBase(t) || lkeys.length === 0) return out;
  const raws = selectByKeys(db, baseTableName(t.sqliteName), t.localKey, localColumns(t), lkeys.map(parseKey));
  localRowsToWire(db, plan, t, raws).forEach((conv, i) => {
    if (conv.ok) out.set(localKeyString(t, raws[i]!), conv.row);
  });
  return out;
}

/** Sets the base of each row (inside the caller's SQLite transaction); a row that does not convert loses its base (it merges per row once). */
export function writeBases(db: SqliteDb, plan: SyncPlan, t: TablePlan, entries: ReadonlyArray<{ lkey: string; row: WireRow }>): void {
  if (entries.length === 0) return;
  const cols = localColumns(t);
  const insert = db.prepare(`INSERT OR REPLACE INTO ${sqliteIdent(baseTableName(t.sqliteName))} (${cols.map(sqliteIdent).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
  const converted = wireRowsToLocal(db, plan, t, entries.map((e) => e.row));
  entries.forEach((e, i) => {
    const conv = converted[i]!;
    if (!conv.ok || conv.missing.length > 0) return deleteBases(db, t, [e.lkey]);
    const key = parseKey(e.lkey);
    const values = { ...conv.values };
    t.localKey.forEach((k, j) => (values[k] = key[j] ?? null));
    insert.run(...cols.map((c) => values[c] ?? null));
  });
}

export function deleteBases(db: SqliteDb, t: TablePlan, lkeys: readonly string[]): void {
  if (!keepsBase(t) || lkeys.length === 0) return;
  const del = db.prepare(`DELETE FROM ${sqliteIdent(baseTableName(t.sqliteName))} WHERE ${t.localKey.map((k) => `${sqliteIdent(k)} = ?`).join(' AND ')}`);
  for (const lkey of lkeys) del.run(...parseKey(lkey));
}

/** What a pushed row leaves behind: its next base (the pushed local row; null for a delete) and, after a merge, the row to write back locally. */
export interface NextBase {
  lkey: string;
  base: WireRow | null;
  result: WireRow | null;
}

const tokenKey = (terminalId: string, table: string) => `sync.merge.${terminalId}.${table}`;

export function newToken(): string {
  return randomUUID();
}

/** The token that says a batch committed, as a setting written in the batch's Postgres transaction (db/postgres/settings.ts writeSettings). */
export function mergeTokenSetting(terminalId: string, table: string, token: string): [string, string] {
  return [tokenKey(terminalId, table), token];
}

/** Before the Postgres COMMIT (inside a SQLite transaction): stage the batch's next bases. */
export function stageNext(db: SqliteDb, t: TablePlan, token: string, entries: readonly NextBase[]): void {
  const insert = db.prepare(`INSERT OR REPLACE INTO _possync_base_next (tbl, lkey, token, base, result) VALUES (?, ?, ?, ?, ?)`);
  for (const e of entries) insert.run(t.name, e.lkey, token, JSON.stringify(e.base), e.result ? JSON.stringify(e.result) : null);
}

/**
 * After the commit (inside the SQLite transaction that trims the change log): each staged row
 * either still has a local change pending (newer than the batch, or held) and takes the pushed
 * row as its base, or the two sides agree now: no base, and a merged row is written back.
 * Rows staged under another token (an attempt that rolled back) are dropped.
 */
export function applyNext(db: SqliteDb, plan: SyncPlan, t: TablePlan, token: string | undefined): void {
  // One statement: the staged rows of this attempt, each with whether a local change is still pending.
  const staged = db
    .prepare(
      `SELECT n.lkey, n.base, n.result,
              EXISTS (SELECT 1 FROM _possync_changes c WHERE c.tbl = ? AND c.lkey = n.lkey)
                OR EXISTS (SELECT 1 FROM _possync_held h WHERE h.side = 'push' AND h.tbl = n.tbl AND h.key = n.lkey) AS open
         FROM _possync_base_next n WHERE n.tbl = ? AND n.token = ?`,
    )
    .all(t.sqliteName, t.name, token ?? null) as Array<{ lkey: string; base: string; result: string | null; open: number }>;
  const rebase: Array<{ lkey: string; row: WireRow }> = [];
  const agreed: string[] = [];
  const writeBack: Array<{ lkey: string; row: WireRow }> = [];
  for (const s of staged) {
    const base = s.open === 1 ? (JSON.parse(s.base) as WireRow | null) : null;
    if (base) rebase.push({ lkey: s.lkey, row: base });
    else agreed.push(s.lkey);
    if (s.open !== 1 && s.result) writeBack.push({ lkey: s.lkey, row: JSON.parse(s.result) as WireRow });
  }
  writeBases(db, plan, t, rebase);
  deleteBases(db, t, agreed);
  const converted = wireRowsToLocal(db, plan, t, writeBack.map((w) => w.row));
  writeLocal(
    db,
    t,
    writeBack.flatMap((w, i) => {
      const conv = converted[i]!;
      return conv.ok && conv.missing.length === 0 ? [{ kind: 'update' as const, lkey: w.lkey, values: conv.values }] : [];
    }),
  );
  db.prepare(`DELETE FROM _possync_base_next WHERE tbl = ?`).run(t.name);
}

/** At the start of a table's push or pull: a batch staged by a run that stopped before applying it. */
export async function recoverNext(ctx: RunContext, q: Queryable, t: TablePlan): Promise<void> {
  if (ctx.dryRun || !keepsBase(t)) return;
  const db = ctx.sqlite.db;
  const staged = db.prepare(`SELECT token FROM _possync_base_next WHERE tbl = ? LIMIT 1`).get(t.name) as { token: string } | undefined;
  if (!staged) return;
  const { rows } = await q.query<{ v: string | null }>(`SELECT setting_value AS v FROM possync.system_settings WHERE setting_key = $1`, [tokenKey(ctx.plan.terminalId, t.name)]);
  const committed = rows[0]?.v ?? undefined;
  ctx.sqlite.immediate(() => withCaptureSuppressed(db, () => applyNext(db, ctx.plan, t, committed)));
}
