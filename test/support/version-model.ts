import type Database from 'better-sqlite3';
import type { TestPg } from './db.ts';

/**
 * The soak's version table: `docs`, conflict "version" on `version`, with a fallback for ties
 * (lww on even seeds, server-wins on odd ones). The simulated apps raise the version on every
 * edit from the value they see on their side (possync never invents one), and stamp updated_at
 * strictly after every earlier edit. Rows are inserted and updated, never deleted (a delete carries
 * no version: that is lww's ground, which the ledger tables cover).
 *
 * What must hold, whatever the order of syncs and kills: every row is on every side, and its
 * version is the highest one ever written for it. Two writes with that version are a true tie,
 * and they always meet as a conflict (an app that had seen one of them would have written a
 * higher version), so the fallback settles it:
 *  - lww: the tied write stamped last;
 *  - server-wins: the cloud's write when the cloud is among the tied writers (a till's tied write
 *    can only reach the cloud as a contested one, which the server keeps); between tills only, the
 *    first to reach the cloud, which kills make unknowable here: one of the tied writes.
 * A single write with the highest version is the row's content everywhere.
 */
export type VersionFallback = 'lww' | 'server-wins';

export const DOCS_PG = `
CREATE TABLE docs (id uuid PRIMARY KEY, body text NOT NULL, version integer NOT NULL, updated_at timestamptz(3) NOT NULL);`;
export const DOCS_SQLITE = `
CREATE TABLE docs (id TEXT PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL);`;
export function docsTable(fallback: VersionFallback): Record<string, unknown> {
  return { name: 'docs', pk: 'id', updatedCol: 'updated_at', conflict: 'version', versionCol: 'version', fallback };
}

export interface DocWrite {
  actor: string;
  body: string;
  version: number;
  /** Epoch ms. */
  updatedAt: number;
}

const show = (w: { body: string; version: number; updatedAt: number }) => JSON.stringify([w.body, w.version, w.updatedAt]);

export class VersionModel {
  /** Every write ever made to each row, in order. */
  readonly writes = new Map<string, DocWrite[]>();

  constructor(readonly fallback: VersionFallback) {}

  write(id: string, w: DocWrite): void {
    let list = this.writes.get(id);
    if (!list) this.writes.set(id, (list = []));
    list.push(w);
  }

  /** The writes with the row's highest version. */
  top(id: string): DocWrite[] {
    const list = this.writes.get(id) ?? [];
    const max = Math.max(...list.map((w) => w.version));
    return list.filter((w) => w.version === max);
  }

  /** The contents the row may end with: one, except for a tie between tills under server-wins. */
  allowed(id: string): DocWrite[] {
    const top = this.top(id);
    if (top.length === 1) return top;
    if (this.fallback === 'lww') return [top.reduce((a, b) => (b.updatedAt > a.updatedAt ? b : a))];
    const cloud = top.filter((w) => w.actor === 'pg');
    return cloud.length > 0 ? cloud : top;
  }

  /** Rows whose highest version was written more than once: true ties the fallback had to settle. */
  ties(): number {
    return [...this.writes.keys()].filter((id) => this.top(id).length > 1).length;
  }

  async pg(db: TestPg): Promise<Map<string, string>> {
    const rows = await db.query<{ id: string; body: string; version: number; updated_at: string }>(
      `SELECT id::text AS id, body, version, round(extract(epoch from updated_at) * 1000)::bigint::text AS updated_at FROM docs`,
    );
    return new Map(rows.map((r) => [r.id, show({ body: r.body, version: Number(r.version), updatedAt: Number(r.updated_at) })]));
  }

  sqlite(local: Database.Database): Map<string, string> {
    const rows = local.prepare(`SELECT id, body, version, updated_at FROM docs`).all() as Array<{ id: string; body: string; version: number; updated_at: string }>;
    return new Map(rows.map((r) => [r.id, show({ body: r.body, version: Number(r.version), updatedAt: Date.parse(r.updated_at) })]));
  }

  diff(actual: Map<string, string>, where: string): string[] {
    const out: string[] = [];
    for (const id of this.writes.keys()) {
      const allowed = this.allowed(id).map(show);
      const got = actual.get(id);
      if (got === undefined || !allowed.includes(got)) {
        out.push(`${where} docs:${id} is ${got ?? 'missing'}, want ${allowed.join(' or ')} (writes ${JSON.stringify(this.writes.get(id))})`);
      }
    }
    for (const id of actual.keys()) if (!this.writes.has(id)) out.push(`${where} docs:${id} should not exist`);
    return out;
  }
}
