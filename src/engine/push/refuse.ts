import { fetchRows } from '../../db/postgres/rows.ts';
import { selectByKeys } from '../../db/sqlite/rows.ts';
import type { RunContext } from '../context.ts';
import { keyString, parseKey, displayKey, type Key } from '../keys.ts';
import type { TablePlan } from '../plan/types.ts';
import { applyPullBatch } from '../pull/apply.ts';
import { addReason, emptyTableResult, type TableResult } from '../result.ts';
import { fromSqlite } from '../values/codec.ts';
import { pgRef, wireFromPgRow } from './apply.ts';

/**
 * A pull-only table is the cloud's: a local change to it is refused, reported, and undone by
 * writing the cloud's current version of the row back (or removing a row the cloud does not have).
 * The change log of such a table is only read here, so the till app learns of its mistake.
 */
export async function refuseLocalChanges(ctx: RunContext, t: TablePlan, result: TableResult): Promise<void> {
  const db = ctx.sqlite.db;
  const entries = db.prepare(`SELECT seq, lkey, op, skey FROM _possync_changes WHERE tbl = ? ORDER BY seq`).all(t.sqliteName) as Array<{
    seq: number;
    lkey: string;
    op: 'U' | 'D';
    skey: string | null;
  }>;
  if (entries.length === 0) return;
  const keys = new Map<string, Key>();
  const upserts = entries.filter((e) => e.op === 'U').map((e) => parseKey(e.lkey));
  for (const raw of selectByKeys(db, t.sqliteName, t.localKey, t.key.map((k) => k.sqlite), upserts)) {
    const key = t.key.map((k) => fromSqlite(k.codec, raw[k.sqlite] ?? null) ?? '');
    keys.set(keyString(key), key);
  }
  for (const e of entries.filter((x) => x.op === 'D' && x.skey)) {
    const key = parseKey(e.skey!).map((v, i) => fromSqlite(t.key[i]!.codec, v) ?? '');
    keys.set(keyString(key), key);
  }
  const list = [...keys.values()];
  result.rejected += list.length;
  result.refused += list.length;
  for (const k of list) addReason(result, `${t.name}:${displayKey(k)} was changed locally, but ${t.name} is pull-only: the change was refused and the cloud version restored`);
  if (ctx.dryRun) return;
  const columns = t.columns.map((c) => ({ name: c.pg, castType: c.castType }));
  const scope = t.scope.map((s) => ({ name: s.pg, castType: s.castType, value: s.value }));
  for (let i = 0; i < list.length; i += ctx.config.batchSize) {
    const batch = list.slice(i, i + ctx.config.batchSize);
    // Inside a transaction, so the reads use possync's session settings (SET LOCAL), not the pool's.
    const rows = (await ctx.pg.tx((client) => fetchRows(client, pgRef(ctx.plan, t), columns, batch, scope), { readOnly: true })).map((r) => wireFromPgRow(t, r));
    applyPullBatch(ctx, t, { keys: batch, rows, deletedAt: new Map() }, {}, emptyTableResult(t.name, t.label, 'pull'));
  }
  db.prepare(`DELETE FROM _possync_changes WHERE tbl = ? AND seq <= ?`).run(t.sqliteName, entries.at(-1)!.seq);
}
