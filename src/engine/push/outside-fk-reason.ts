import type { TablePlan } from '../plan/types.ts';

/**
 * The reason kept for a pushed row that Postgres refused for a foreign key to a table possync
 * does not sync. Such a row waits like a child whose parent has not arrived, but possync will
 * never bring that parent: it goes through only once the row reaches the cloud some other way.
 * The message says so, in the shape of every other wait (`sale:s1 waits for customer_id →
 * customer[c1]`), instead of only quoting Postgres. Undefined for any other refusal.
 */
export function outsideFkReason(t: TablePlan, synced: { has(name: string): boolean }, display: string, error: Error & { code?: string; constraint?: string; detail?: string }): string | undefined {
  if (error.code !== '23503' || error.constraint === undefined) return undefined;
  const fk = t.pg.foreignKeys.find((f) => f.name === error.constraint);
  if (!fk || (fk.refSchema === t.pg.schema && synced.has(fk.refTable))) return undefined;
  // detail: Key (customer_id)=(c1) is not present in table "customer".
  const value = /^Key \((?:.*)\)=\((.*)\) is not present/.exec(error.detail ?? '')?.[1] ?? '?';
  return `${display} waits for ${fk.columns.join(', ')} → ${fk.refTable}[${value}], a table possync does not sync: it goes through once that row is in the cloud (sync "${fk.refTable}" too, see verify-schemas)`;
}
