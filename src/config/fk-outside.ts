import type { PgColumn, PgTableInfo } from '../db/postgres/introspect.ts';

/**
 * Foreign keys from a synced table to a table possync does not sync. The plan cannot order or
 * wait on such a link before writing (it has no parent table to look in), so a pushed row goes
 * straight to Postgres, which refuses it if the parent row is not in the cloud. possync then holds
 * the row as waiting (deferred, like a child whose parent has not arrived) and retries it on every
 * run: it goes through as soon as the parent row exists in the cloud (pushed by possync once the
 * table is synced, or written there by someone else), and waits for ever if it never does.
 */
export interface OutsideFk {
  constraint: string;
  columns: string[];
  refTable: string;
  refSchema: string;
  /** Every FK column may be left out of a push (nullable, or with a default). */
  droppable: boolean;
}

/**
 * The FKs of `pg` to tables outside `synced` (config names in the same schema), counting only FKs
 * whose columns are all synced (a column left out of the sync carries no value to check).
 */
export function outsideForeignKeys(pg: PgTableInfo, synced: ReadonlySet<string>, isSynced: (column: string) => boolean): OutsideFk[] {
  return pg.foreignKeys
    .filter((fk) => fk.refTable !== pg.name || fk.refSchema !== pg.schema)
    .filter((fk) => fk.refSchema !== pg.schema || !synced.has(fk.refTable))
    .filter((fk) => fk.columns.every(isSynced))
    .map((fk) => ({
      constraint: fk.name,
      columns: fk.columns,
      refTable: fk.refTable,
      refSchema: fk.refSchema,
      droppable: fk.columns.every((c) => canLeaveOut(pg.columns.find((p) => p.name === c))),
    }));
}

function canLeaveOut(c: PgColumn | undefined): boolean {
  return c !== undefined && (!c.notNull || c.hasDefault);
}

/** What will happen, said once for init and verify-schemas alike. */
export function outsideFkMessage(table: string, fk: OutsideFk): string {
  const cols = fk.columns.map((c) => `"${c}"`).join(', ');
  const ref = fk.refSchema === '' ? fk.refTable : `${fk.refSchema}.${fk.refTable}`;
  return `"${table}".${cols} references "${ref}" (foreign key ${fk.constraint}), which possync does not sync: a pushed row whose ${fk.refTable} row is not in the cloud waits: Postgres refuses it, possync holds it and retries it on every run (\`possync rejected --all\` lists it), and it goes through only once that row reaches the cloud some other way`;
}

/** The two ways out: sync the parent too, or drop the link from what is pushed. */
export function outsideFkFix(table: string, fk: OutsideFk, sqliteHasParent: boolean): string {
  const sync = sqliteHasParent
    ? `sync "${fk.refTable}" too: add { "name": "${fk.refTable}", "pk": "<its key>" } to tables (possync runs it before "${table}")`
    : `create "${fk.refTable}" on the till and sync it too, or make sure the cloud holds every ${fk.refTable} row the till refers to`;
  const drop = fk.droppable
    ? `drop the link: add ${fk.columns.map((c) => `"${c}"`).join(', ')} to tables["${table}"].localOnly (the column then stays on the till and is left out of pushes)`
    : `drop the link: ALTER TABLE "${table}" DROP CONSTRAINT "${fk.constraint}" (its column is NOT NULL without a default, so it cannot be left out of pushes)`;
  return `${sync}; or ${drop}`;
}
