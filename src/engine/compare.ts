import { scanRows } from '../db/postgres/rows.ts';
import type { PgGateway } from '../db/postgres/gateway.ts';
import type { SqliteGateway } from '../db/sqlite/gateway.ts';
import { sqliteIdent } from '../db/quote.ts';
import type { RawRow } from '../db/sqlite/rows.ts';
import { localRowsToWire } from './convert.ts';
import { rowsEqual, type WireRow } from './decide.ts';
import { keyString } from './keys.ts';
import { fromSqlite } from './values/codec.ts';
import type { SyncPlan, TablePlan } from './plan/types.ts';
import { pgRef, wireFromPgRow } from './push/apply.ts';

export interface TableDiff {
  table: string;
  label: string;
  direction: TablePlan['direction'];
  sqliteRows: number;
  pgRows: number;
  /** Keys only the terminal has. */
  onlyLocal: string[];
  /** Live (not tombstoned) keys only Postgres has, within this terminal's scope. */
  onlyCloud: string[];
  /** Keys whose synced columns differ, including local rows that cannot be converted (see unreadable). */
  different: string[];
  /**
   * Local rows that cannot be turned into Postgres values (a value that does not parse or fit, a
   * translated FK whose parent has no shared id yet), with why. Such a row can never equal its
   * cloud version, so it is also listed in `different`: skipping it would call a broken table in sync.
   */
  unreadable: Array<{ key: string; reason: string }>;
}

/**
 * Reads both sides of every table in full and compares synced columns value by value (numeric by
 * value, timestamps at millisecond precision). Meant for the demo, tests and small tables, not
 * for production-size data.
 */
export async function compareSides(pg: PgGateway, sqlite: SqliteGateway, plan: SyncPlan): Promise<TableDiff[]> {
  const diffs: TableDiff[] = [];
  for (const t of plan.tables) {
    const cloud = new Map<string, WireRow>();
    let after: string[] | null = null;
    const scope = t.scope.map((s) => ({ name: s.pg, castType: s.castType, value: s.value }));
    for (;;) {
      // In a transaction, for possync's session settings (text formats) rather than the pool's.
      const page = await pg.tx((client) => scanRows(client, pgRef(plan, t), t.columns.map((c) => ({ name: c.pg, castType: c.castType })), after, 5000, scope), { readOnly: true });
      for (const r of page) {
        const w = wireFromPgRow(t, r);
        cloud.set(keyString(t.key.map((k) => w[k.pg] ?? '')), w);
      }
      if (page.length < 5000) break;
      const last = wireFromPgRow(t, page.at(-1)!);
      after = t.key.map((k) => last[k.pg] ?? '');
    }
    const raws = sqlite.db.prepare(`SELECT * FROM ${sqliteIdent(t.sqliteName)}`).safeIntegers(true).all() as RawRow[];
    const local = new Map<string, WireRow>();
    const tombstoned = (w: WireRow) => t.deleted !== undefined && w[t.deleted.pg] !== null;
    const diff: TableDiff = { table: t.name, label: t.label, direction: t.direction, sqliteRows: raws.length, pgRows: cloud.size, onlyLocal: [], onlyCloud: [], different: [], unreadable: [] };
    const unreadable = new Set<string>();
    localRowsToWire(sqlite.db, plan, t, raws).forEach((conv, i) => {
      if (conv.ok) {
        local.set(keyString(t.key.map((k) => conv.row[k.pg] ?? '')), conv.row);
        return;
      }
      const k = rawKey(t, raws[i]!);
      unreadable.add(k);
      diff.different.push(k);
      diff.unreadable.push({ key: k, reason: conv.reason });
    });
    for (const [k, w] of local) {
      const c = cloud.get(k);
      if (!c) diff.onlyLocal.push(k);
      else if (!rowsEqual(t.columns, w, c)) diff.different.push(k);
    }
    for (const [k, w] of cloud) if (!local.has(k) && !unreadable.has(k) && !tombstoned(w)) diff.onlyCloud.push(k);
    diffs.push(diff);
  }
  return diffs;
}

/**
 * The key of a local row that failed conversion, in the same form as converted keys when its key
 * columns still convert (so it lines up with its cloud version), else its local key as stored.
 */
function rawKey(t: TablePlan, raw: RawRow): string {
  try {
    return keyString(t.key.map((k) => fromSqlite(k.codec, raw[k.sqlite] ?? null) ?? ''));
  } catch {
    return keyString(t.localKey.map((k) => String(raw[k] ?? '')));
  }
}

/** Whether a table is in sync for its direction (a push-only table may hold other terminals' rows). */
export function inSync(d: TableDiff): boolean {
  if (d.different.length > 0) return false;
  if (d.direction !== 'pull' && d.onlyLocal.length > 0) return false;
  if (d.direction !== 'push' && d.onlyCloud.length > 0) return false;
  return d.direction !== 'pull' || d.onlyLocal.length === 0;
}
