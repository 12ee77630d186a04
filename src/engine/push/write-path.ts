import type { PgClient } from '../../db/postgres/gateway.ts';
import { copyText } from '../../db/postgres/copy.ts';
import { PLAIN_ROUTING } from '../../db/postgres/routing.ts';
import { copyThroughInsert, deleteRowsThenLog, insertRows, lockKeys, updateRows } from '../../db/postgres/routed-rows.ts';
import { deleteRowsAt, upsertRows, type PgColumnRef, type PgTableRef } from '../../db/postgres/rows.ts';
import type { TablePlan } from '../plan/types.ts';

/**
 * How a push writes one cloud table, decided from its introspected routing (db/postgres/routing.ts).
 *
 * - `upsert`: `INSERT … ON CONFLICT (key) DO UPDATE`, one statement per batch: a plain table, or a
 *   partitioned one whose key is a unique index (which then covers every partition).
 * - `update-then-insert`: where ON CONFLICT is refused (INSERT or UPDATE rules) or cannot see the
 *   rows (inheritance children: a unique index is per table). The batch already locked the rows it
 *   found (lockRows) and decided per row; existing rows get an `UPDATE … FROM unnest(…)` on the
 *   parent (which reaches the children) and new ones a plain `INSERT … SELECT`, which the rules
 *   route. No index guards a new key across the hierarchy, so pushes first take a transaction
 *   advisory lock per key, in key order: two terminals pushing the same new row queue, and the
 *   second finds the first's row and decides again.
 *
 * The first push's COPY ignores rules, so a table with INSERT rules is loaded through a staging
 * table and one `INSERT … SELECT`, which the rules route. A DELETE with RETURNING inside WITH is
 * refused on a table with rules, so deletes there are a plain DELETE logged separately.
 */
export interface WritePath {
  kind: 'upsert' | 'update-then-insert';
  /** Why, for verify-schemas; undefined for a plain table. */
  why: string | undefined;
  /** COPY straight into the table, or into a staging table and then an INSERT the rules route. */
  copy: 'direct' | 'staged';
  /** DELETE inside WITH … RETURNING is refused (the table has rules). */
  plainDelete: boolean;
}

export function writePathOf(t: Pick<TablePlan, 'pg' | 'key'>): WritePath {
  const routing = t.pg.routing ?? PLAIN_ROUTING;
  const events = new Set(routing.rules.map((r) => r.event));
  const rules = routing.rules.length > 0;
  const copy = events.has('insert') ? 'staged' : 'direct';
  const plainDelete = rules;
  if (events.has('insert') || events.has('update')) {
    const which = [events.has('insert') ? 'INSERT' : undefined, events.has('update') ? 'UPDATE' : undefined].filter(Boolean).join(' and ');
    const where = routing.descendants.length > 0 ? ' route rows to children' : ' rewrite writes';
    return { kind: 'update-then-insert', why: `${which} rules${where}, and Postgres refuses ON CONFLICT there`, copy, plainDelete };
  }
  if (routing.kind === 'inheritance') {
    return { kind: 'update-then-insert', why: `rows may live in its ${routing.descendants.length} inheritance ${routing.descendants.length === 1 ? 'child' : 'children'}, whose keys are unique per child table only`, copy, plainDelete };
  }
  if (routing.kind === 'partitioned') {
    const key = t.key.map((k) => k.pg);
    const unique = [t.pg.primaryKey, ...t.pg.uniqueKeys].some((u) => u.length === key.length && u.every((c) => key.includes(c)));
    if (unique) return { kind: 'upsert', why: `partitioned, and its key (${key.join(', ')}) is a unique index over every partition`, copy, plainDelete };
    return { kind: 'update-then-insert', why: `partitioned, and no unique index of it is exactly its key (${key.join(', ')}), so keys are unique per partition only`, copy, plainDelete };
  }
  return { kind: 'upsert', why: rules ? `it has ${routing.rules.map((r) => r.event.toUpperCase()).join(', ')} rules` : undefined, copy, plainDelete };
}

/** What verify-schemas says about a table's path, or undefined for a plain table. */
export function describeWritePath(t: Pick<TablePlan, 'pg' | 'key' | 'name'>): string | undefined {
  const path = writePathOf(t);
  if (path.why === undefined) return undefined;
  const how = path.kind === 'upsert' ? 'pushes use INSERT … ON CONFLICT' : 'pushes use update-then-insert';
  const first = path.copy === 'staged' ? '; a first push COPYs into a staging table and INSERTs from it, since COPY ignores rules' : '';
  return `${t.name}: ${path.why}: ${how}${first}`;
}

/** The statements a push batch writes with, for one table's path. */
export interface RowWriter {
  /** Before lockRows: serialise pushes of the same keys where no index does. */
  lockKeys(keys: ReadonlyArray<readonly string[]>): Promise<void>;
  /** Rows decided as new. Returns false when a row was not inserted (another writer got there first). */
  insert(rows: ReadonlyArray<ReadonlyArray<string | null>>): Promise<boolean>;
  /** Rows that exist; `changed` limits the SET list (undefined: every column and constant). */
  update(rows: ReadonlyArray<ReadonlyArray<string | null>>, changed?: ReadonlySet<string>): Promise<void>;
  delete(rows: ReadonlyArray<{ key: readonly string[]; at: string | null }>, log: { tbl: string; origin: string }): Promise<void>;
}

export function rowWriter(client: PgClient, t: Pick<TablePlan, 'pg' | 'key'>, ref: PgTableRef, columns: readonly PgColumnRef[], constants: ReadonlyArray<{ name: string; castType: string; value: string }>): RowWriter {
  const path = writePathOf(t);
  const routed = path.kind === 'update-then-insert';
  return {
    lockKeys: async (keys) => {
      if (routed) await lockKeys(client, ref, keys);
    },
    insert: async (rows) => {
      if (routed) {
        // Rules report the row count of their last rewritten statement only: not a count to trust.
        await insertRows(client, ref, columns, rows, constants);
        return true;
      }
      return (await upsertRows(client, ref, columns, rows, constants, { insertOnly: true })) === rows.length;
    },
    update: async (rows, changed) => {
      if (routed) await updateRows(client, ref, columns, rows, constants, changed);
      else await upsertRows(client, ref, columns, rows, constants, changed ? { updateColumns: changed } : {});
    },
    delete: async (rows, log) => {
      if (path.plainDelete) await deleteRowsThenLog(client, ref, rows, log);
      else await deleteRowsAt(client, ref, rows, log);
    },
  };
}

/** COPY text into the table (a first push), landing where an INSERT of the same rows would. */
export async function copyRows(client: PgClient, schema: string, t: Pick<TablePlan, 'pg' | 'key' | 'name'>, columns: readonly string[], text: AsyncIterable<string | Buffer>): Promise<void> {
  if (writePathOf(t).copy === 'staged') await copyThroughInsert(client, { schema, table: t.name, key: [] }, columns, text);
  else await copyText(client, schema, t.name, columns, text);
}
