import { pgIdent, pgTable } from '../quote.ts';
import { copyIntoStage } from './copy.ts';
import type { PgClient, Queryable } from './gateway.ts';
import { keyParams, type PgColumnRef, type PgTableRef } from './rows.ts';

/**
 * Writes for tables where `INSERT … ON CONFLICT` cannot be used: a parent whose INSERT rules
 * route rows to children, an inheritance hierarchy, a partitioned table whose key is not one of
 * its unique indexes (see engine/push/write-path.ts). Each is one set-based statement per batch,
 * like rows.ts, and each goes through the table's rules as any other writer's statement would.
 */

type Constant = { name: string; castType: string; value: string };

/**
 * Transaction advisory locks on `keys`, taken in one statement in a fixed order. The two-int form
 * keeps them apart from applications' one-bigint advisory locks. Hash collisions only make two
 * pushes wait for each other.
 */
export async function lockKeys(q: Queryable, ref: PgTableRef, keys: ReadonlyArray<readonly string[]>): Promise<void> {
  if (keys.length === 0) return;
  const space = `${ref.schema}.${ref.table}`;
  await q.query(
    `SELECT pg_advisory_xact_lock(s.a, s.b)
       FROM (SELECT DISTINCT hashtext($1) AS a, hashtext(k) AS b FROM unnest($2::text[]) AS k ORDER BY 1, 2) s`,
    [space, keys.map((k) => JSON.stringify(k))],
  );
}

function unnestSelect(columns: readonly PgColumnRef[], constants: readonly Constant[], params: unknown[]): { targets: string[]; selects: string[]; from: string } {
  const targets = columns.map((c) => pgIdent(c.name));
  const selects = columns.map((c, i) => `u.c${i}::${c.castType}`);
  for (const k of constants) {
    params.push(k.value);
    selects.push(`$${params.length}::text::${k.castType}`);
    targets.push(pgIdent(k.name));
  }
  const from = `unnest(${columns.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${columns.map((_, i) => `c${i}`).join(', ')})`;
  return { targets, selects, from };
}

/** INSERT … SELECT FROM unnest(…), without ON CONFLICT: the rows go where the table's rules send them. */
export async function insertRows(q: Queryable, ref: PgTableRef, columns: readonly PgColumnRef[], rows: ReadonlyArray<ReadonlyArray<string | null>>, constants: readonly Constant[] = []): Promise<void> {
  if (rows.length === 0) return;
  const params: unknown[] = columns.map((_, i) => rows.map((r) => r[i] ?? null));
  const { targets, selects, from } = unnestSelect(columns, constants, params);
  await q.query(`INSERT INTO ${pgTable(ref.schema, ref.table)} (${targets.join(', ')}) SELECT ${selects.join(', ')} FROM ${from}`, params);
}

/**
 * UPDATE … FROM unnest(…) on the parent, which reaches rows in its children. Only `changed`
 * columns are SET (all, with the constants, when it is undefined), as upsertRows does; keys
 * never change.
 */
export async function updateRows(
  q: Queryable,
  ref: PgTableRef,
  columns: readonly PgColumnRef[],
  rows: ReadonlyArray<ReadonlyArray<string | null>>,
  constants: readonly Constant[] = [],
  changed?: ReadonlySet<string>,
): Promise<void> {
  if (rows.length === 0) return;
  const params: unknown[] = columns.map((_, i) => rows.map((r) => r[i] ?? null));
  const keyNames = new Set(ref.key.map((k) => k.name));
  const { targets, selects, from } = unnestSelect(columns, changed ? [] : constants, params);
  const sets = targets
    .map((t, i) => ({ t, s: selects[i]!, name: i < columns.length ? columns[i]!.name : undefined }))
    .filter((x) => x.name === undefined || (!keyNames.has(x.name) && (!changed || changed.has(x.name))))
    .map((x) => `${x.t} = ${x.s}`);
  if (sets.length === 0) return;
  const on = ref.key.map((k) => {
    const i = columns.findIndex((c) => c.name === k.name);
    return `t.${pgIdent(k.name)} = u.c${i}::${k.castType}`;
  });
  await q.query(`UPDATE ${pgTable(ref.schema, ref.table)} t SET ${sets.join(', ')} FROM ${from} WHERE ${on.join(' AND ')}`, params);
}

/**
 * deleteRowsAt for a table with rules, where a DELETE inside WITH is refused: a plain DELETE,
 * then the change-log entries for the keys, with the terminal's delete times. The callers pass
 * rows they found and locked, so each was there to delete.
 */
export async function deleteRowsThenLog(q: Queryable, ref: PgTableRef, rows: ReadonlyArray<{ key: readonly string[]; at: string | null }>, log: { tbl: string; origin: string }): Promise<void> {
  if (rows.length === 0) return;
  const n = ref.key.length;
  const params: unknown[] = keyParams(rows.map((r) => r.key), n);
  const on = ref.key.map((k, i) => `t.${pgIdent(k.name)} = u.k${i}::${k.castType}`).join(' AND ');
  await q.query(`SET LOCAL possync.bulk = 'on'`);
  await q.query(`DELETE FROM ${pgTable(ref.schema, ref.table)} t USING unnest(${ref.key.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${ref.key.map((_, i) => `k${i}`).join(', ')}) WHERE ${on}`, params);
  await q.query(`SET LOCAL possync.bulk = 'off'`);
  await q.query(
    `INSERT INTO possync.changes (tbl, op, origin, at, keys)
     SELECT $1, 'D', $2, coalesce(u.at::timestamptz, clock_timestamp()), jsonb_agg(u.key::jsonb)
       FROM unnest($3::text[], $4::text[]) AS u(key, at) GROUP BY u.at`,
    [log.tbl, log.origin, rows.map((r) => JSON.stringify(r.key)), rows.map((r) => r.at)],
  );
}

const STAGE = 'possync_stage';

/**
 * COPY ignores rules: COPY into the parent would leave the rows there, not in the children its
 * rules route them to. So the text goes into a temporary table with the same columns (dropped at
 * commit) and one INSERT … SELECT moves it on, through the rules.
 */
export async function copyThroughInsert(q: PgClient, ref: PgTableRef, columns: readonly string[], text: AsyncIterable<string | Buffer>): Promise<void> {
  const list = columns.map(pgIdent).join(', ');
  const stage = await copyIntoStage(q, ref.schema, ref.table, STAGE, columns, text);
  await q.query(`INSERT INTO ${pgTable(ref.schema, ref.table)} (${list}) SELECT ${list} FROM ${stage}; DROP TABLE ${stage}`);
}
