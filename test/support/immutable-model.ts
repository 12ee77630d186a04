import type Database from 'better-sqlite3';
import type { TestPg } from './db.ts';

/**
 * The soak's immutable table: `sales`, `immutable: true`. Sales are inserted on any side and must
 * reach every side with their original values. A "tamper" (an app updating or deleting a sale that
 * every side already has) must be refused by every side it would reach: held as rejected with the
 * immutable reason (push side on the till that made it; pull side on every till, for the cloud's),
 * never applied. A simulated admin later undoes it (writes the original row back on the tampering
 * side), after which the refusal clears. So the model is the set of inserted sales, as inserted.
 */
export const SALES_PG = `
CREATE TABLE sales (id uuid PRIMARY KEY, total numeric(12,2) NOT NULL, note text, updated_at timestamptz(3) NOT NULL);`;
export const SALES_SQLITE = `
CREATE TABLE sales (id TEXT PRIMARY KEY, total TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL);`;
export const SALES_TABLE = { name: 'sales', pk: 'id', updatedCol: 'updated_at', immutable: true };

export interface Sale {
  total: string;
  note: string | null;
  /** ISO text, as inserted. */
  updatedAt: string;
}

export interface Tamper {
  id: string;
  actor: string;
  kind: 'update' | 'delete';
  /** Undone by the admin: its refusal may still be listed until the next run of that side clears it. */
  undone: boolean;
  /** Seen listed as refused (by a run after the tamper). */
  listed: boolean;
}

export const IMMUTABLE_REASON = /table sales is immutable: the (till|cloud)'s (update|delete) of a synced row was refused/;

const show = (total: unknown, note: unknown, updatedAt: number) => JSON.stringify([Number(total).toFixed(2), note ?? null, updatedAt]);

export class ImmutableModel {
  readonly rows = new Map<string, Sale>();
  /** By sale id; a sale is tampered with at most once. */
  readonly tampers = new Map<string, Tamper>();

  outstanding(): Tamper[] {
    return [...this.tampers.values()].filter((t) => !t.undone);
  }

  /** Refusals seen listed. */
  refusals(): number {
    return [...this.tampers.values()].filter((t) => t.listed).length;
  }

  async pg(db: TestPg): Promise<Map<string, string>> {
    const rows = await db.query<{ id: string; total: string; note: string | null; updated_at: string }>(
      `SELECT id::text AS id, total::text AS total, note, round(extract(epoch from updated_at) * 1000)::bigint::text AS updated_at FROM sales`,
    );
    return new Map(rows.map((r) => [r.id, show(r.total, r.note, Number(r.updated_at))]));
  }

  sqlite(local: Database.Database): Map<string, string> {
    const rows = local.prepare(`SELECT id, total, note, updated_at FROM sales`).all() as Array<{ id: string; total: string; note: string | null; updated_at: string }>;
    return new Map(rows.map((r) => [r.id, show(r.total, r.note, Date.parse(r.updated_at))]));
  }

  diff(actual: Map<string, string>, where: string): string[] {
    const out: string[] = [];
    for (const [id, s] of this.rows) {
      const want = show(s.total, s.note, Date.parse(s.updatedAt));
      const got = actual.get(id);
      if (got !== want) out.push(`${where} sales:${id} is ${got ?? 'missing'}, want ${want}`);
    }
    for (const id of actual.keys()) if (!this.rows.has(id)) out.push(`${where} sales:${id} should not exist`);
    return out;
  }
}
