import type Database from 'better-sqlite3';
import type { TestPg } from './db.ts';

/**
 * The soak's column-merge table: `stocks`, merge "column" with two counters (qty integer,
 * weight numeric(14,3)) and a label. Counter edits add a delta and do not stamp updated_at; label
 * edits stamp it, strictly later than every earlier edit. So, whatever the order of syncs and
 * crashes, each counter must end at its start plus the sum of every delta (exactly), and the
 * label at its last edit: a clash on label goes to lww, which compares the rows' updated_at, and
 * only label edits move it.
 */
export const STOCK_PG = `
CREATE TABLE stocks (id uuid PRIMARY KEY, label text NOT NULL, qty integer NOT NULL, weight numeric(14,3) NOT NULL, updated_at timestamptz(3) NOT NULL);`;
export const STOCK_SQLITE = `
CREATE TABLE stocks (id TEXT PRIMARY KEY, label TEXT NOT NULL, qty INTEGER NOT NULL, weight TEXT NOT NULL, updated_at TEXT NOT NULL);`;
export const STOCK_TABLE = { name: 'stocks', pk: 'id', updatedCol: 'updated_at', merge: 'column', counters: ['qty', 'weight'] };

export interface StockRow {
  label: string;
  qty: bigint;
  /** Thousandths. */
  weight: bigint;
  updatedAt: number;
}

const milli = (text: string): bigint => {
  const neg = text.startsWith('-');
  const [i = '0', f = ''] = text.replace('-', '').split('.');
  const n = BigInt(i) * 1000n + BigInt(f.padEnd(3, '0').slice(0, 3));
  return neg ? -n : n;
};

export function weightText(m: bigint): string {
  const neg = m < 0n;
  const a = neg ? -m : m;
  return `${neg ? '-' : ''}${a / 1000n}.${String(a % 1000n).padStart(3, '0')}`;
}

function canon(r: { label: string; qty: unknown; weight: unknown; updated_at: unknown }): string {
  const at = typeof r.updated_at === 'number' || (typeof r.updated_at === 'string' && /^\d+$/.test(r.updated_at)) ? Number(r.updated_at) : Date.parse(String(r.updated_at));
  return JSON.stringify([r.label, String(r.qty), weightText(milli(String(r.weight))), at]);
}

export class StockModel {
  readonly rows = new Map<string, StockRow>();

  expected(): Map<string, string> {
    return new Map([...this.rows].map(([id, r]) => [id, canon({ label: r.label, qty: r.qty, weight: weightText(r.weight), updated_at: r.updatedAt })]));
  }

  async pg(db: TestPg): Promise<Map<string, string>> {
    const rows = await db.query<{ id: string; label: string; qty: string; weight: string; updated_at: string }>(
      `SELECT id::text AS id, label, qty::text AS qty, weight::text AS weight, round(extract(epoch from updated_at) * 1000)::bigint::text AS updated_at FROM stocks`,
    );
    return new Map(rows.map((r) => [r.id, canon(r)]));
  }

  sqlite(local: Database.Database): Map<string, string> {
    const rows = local.prepare(`SELECT id, label, qty, weight, updated_at FROM stocks`).all() as Array<{ id: string; label: string; qty: number; weight: string; updated_at: string }>;
    return new Map(rows.map((r) => [r.id, canon(r)]));
  }

  diff(actual: Map<string, string>, where: string): string[] {
    const want = this.expected();
    const out: string[] = [];
    for (const [id, w] of want) if (actual.get(id) !== w) out.push(`${where} stocks:${id} is ${actual.get(id) ?? 'missing'}, want ${w}`);
    for (const id of actual.keys()) if (!want.has(id)) out.push(`${where} stocks:${id} should not exist`);
    return out;
  }
}

export { milli };
