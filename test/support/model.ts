import type Database from 'better-sqlite3';
import type { TestPg } from './db.ts';
import type { TableName } from './ledger.ts';

/**
 * The expected end state of a randomized workload. Every edit writes all of a row's columns and
 * gets a timestamp strictly greater than every earlier edit's, so under LWW the last edit of a row
 * wins; policy tables are edited so that the policy's winner is known (see workload.ts). A row is
 * either live with its values, or deleted (hard, soft or tombstoned: it must not be live anywhere).
 */
export type Values = Record<string, string | number | null>;
export type Expected = Values | 'deleted';

/** Synced columns compared with the model, besides id (deleted_at is null on live rows). */
export const COLUMNS: Record<TableName, string[]> = {
  accounts: ['name', 'balance', 'updated_at'],
  entries: ['account_id', 'amount', 'note', 'updated_at'],
  tags: ['label', 'updated_at'],
  prices: ['amount', 'updated_at'],
  notes: ['body', 'updated_at'],
};
export const SOFT: ReadonlySet<TableName> = new Set(['accounts', 'entries']);

/** One representation for both databases: money with 2 decimals, timestamps as epoch ms. */
export function canon(column: string, value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (column === 'balance' || column === 'amount') return Number(value).toFixed(2);
  if (column === 'updated_at') return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Date.parse(String(value));
  return String(value);
}

export class Model {
  readonly rows = new Map<TableName, Map<string, Expected>>();

  set(table: TableName, id: string, values: Values | 'deleted'): void {
    let t = this.rows.get(table);
    if (!t) this.rows.set(table, (t = new Map()));
    t.set(id, values === 'deleted' ? values : Object.fromEntries(COLUMNS[table].map((c) => [c, canon(c, values[c])])));
  }

  get(table: TableName, id: string): Expected | undefined {
    return this.rows.get(table)?.get(id);
  }

  live(table: TableName): Map<string, Values> {
    const out = new Map<string, Values>();
    for (const [id, v] of this.rows.get(table) ?? []) if (v !== 'deleted') out.set(id, v);
    return out;
  }
}

export async function livePg(db: TestPg, table: TableName): Promise<Map<string, Values>> {
  const cols = COLUMNS[table].map((c) => (c === 'updated_at' ? `round(extract(epoch from updated_at) * 1000)::bigint::text AS updated_at` : `${c}::text AS ${c}`));
  const rows = await db.query(`SELECT id::text AS id, ${cols.join(', ')} FROM ${table} ${SOFT.has(table) ? 'WHERE deleted_at IS NULL' : ''}`);
  return new Map(rows.map((r) => [String(r.id), Object.fromEntries(COLUMNS[table].map((c) => [c, canon(c, r[c])]))]));
}

export function liveSqlite(local: Database.Database, table: TableName): Map<string, Values> {
  const rows = local.prepare(`SELECT * FROM ${table} ${SOFT.has(table) ? 'WHERE deleted_at IS NULL' : ''}`).all() as Array<Record<string, unknown>>;
  return new Map(rows.map((r) => [String(r.id), Object.fromEntries(COLUMNS[table].map((c) => [c, canon(c, r[c])]))]));
}

/** Differences between the model's live rows and a side's live rows, described for a failure message. */
export function diffLive(table: TableName, expected: Map<string, Values>, actual: Map<string, Values>, where: string): string[] {
  const problems: string[] = [];
  for (const [id, want] of expected) {
    const got = actual.get(id);
    if (!got) problems.push(`${where} ${table}:${id} missing, want ${JSON.stringify(want)}`);
    else if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${where} ${table}:${id} is ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  for (const [id, got] of actual) if (!expected.has(id)) problems.push(`${where} ${table}:${id} should not be live, is ${JSON.stringify(got)}`);
  return problems;
}
