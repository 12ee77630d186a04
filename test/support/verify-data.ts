import type { TableVerification, VerifyDataResult } from '../../src/engine/verify-data/report.ts';
import type { TestPg } from './db.ts';
import type { Terminal } from './ledger.ts';

// What the verify-data tests share: their results by table, and differences planted around possync
// (a restore, a manual fix), which the sync never hears of and only verify-data can find.

export const byTable = (r: VerifyDataResult) => Object.fromEntries(r.tables.map((t) => [t.table, t])) as Record<string, TableVerification>;

/** An edit on the till made around possync: the change-log entries it captured are removed. */
export function tillBehindPossync(till: Terminal, sql: string, ...params: unknown[]): void {
  till.local.prepare(sql).run(...params);
  till.local.exec(`DELETE FROM _possync_changes`);
}

/** An edit in the cloud made around possync: the tables' triggers are off while it runs, so nothing reaches the change log. */
export async function cloudBehindPossync(db: TestPg, tables: readonly string[], sql: string): Promise<void> {
  const triggers = (on: 'ENABLE' | 'DISABLE') => tables.map((t) => `ALTER TABLE ${t} ${on} TRIGGER USER;`).join(' ');
  await db.query(`BEGIN; ${triggers('DISABLE')} ${sql}; ${triggers('ENABLE')} COMMIT`);
}
