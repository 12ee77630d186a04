import { pgIdent, pgTable, pgValueLiteral } from '../quote.ts';
import type { PgClient, Queryable } from './gateway.ts';
import { copyOut, type CopyPage } from './copy-out.ts';

/**
 * Set-based row access for one Postgres table. Every value crosses as text: reads select
 * `col::text` (exact numeric, µs timestamps, bigint), writes send `text[]` arrays and cast each
 * element to the column type server-side, so one statement handles a whole batch.
 */
export interface PgTableRef {
  schema: string;
  table: string;
  /** Shared key columns with their cast types. */
  key: ReadonlyArray<{ name: string; castType: string }>;
}

export interface PgColumnRef {
  name: string;
  castType: string;
}

export type TextRow = Record<string, string | null>;

export function keyMatch(ref: PgTableRef, firstParam: number, alias = 't'): { join: string; where: string } {
  if (ref.key.length === 1) {
    const k = ref.key[0]!;
    return { join: '', where: `${alias}.${pgIdent(k.name)} = ANY($${firstParam}::text[]::${k.castType}[])` };
  }
  const cols = ref.key.map((k, i) => `$${firstParam + i}::text[]`).join(', ');
  const names = ref.key.map((_, i) => `k${i}`).join(', ');
  const on = ref.key.map((k, i) => `${alias}.${pgIdent(k.name)} = u.k${i}::${k.castType}`).join(' AND ');
  return { join: `JOIN unnest(${cols}) AS u(${names}) ON ${on}`, where: 'true' };
}

/** Key values transposed into one text[] parameter per key column. */
export function keyParams(keys: ReadonlyArray<readonly string[]>, width: number): string[][] {
  const params: string[][] = Array.from({ length: width }, () => []);
  for (const key of keys) for (let i = 0; i < width; i++) params[i]!.push(key[i]!);
  return params;
}

const selectList = (columns: readonly PgColumnRef[], alias = 't') =>
  columns.map((c) => `${alias}.${pgIdent(c.name)}::text AS ${pgIdent(c.name)}`).join(', ');

/**
 * Current rows for `keys`, locked FOR UPDATE in key order: two terminals pushing overlapping
 * rows take their locks in the same order, so they queue instead of deadlocking.
 */
export async function lockRows(
  q: Queryable,
  ref: PgTableRef,
  columns: readonly PgColumnRef[],
  keys: ReadonlyArray<readonly string[]>,
  scope: ReadonlyArray<{ name: string; castType: string; value: string }> = [],
): Promise<Array<TextRow & { possync_in_scope?: boolean }>> {
  if (keys.length === 0) return [];
  const m = keyMatch(ref, 1);
  const params: unknown[] = keyParams(keys, ref.key.length);
  // Whether each row belongs to this terminal's scope, so a push never overwrites another's row.
  const inScope = scope.map((s) => {
    params.push(s.value);
    return `t.${pgIdent(s.name)} IS NOT DISTINCT FROM $${params.length}::text::${s.castType}`;
  });
  const scopeSql = inScope.length > 0 ? `, (${inScope.join(' AND ')}) AS possync_in_scope` : '';
  const order = ref.key.map((k) => `t.${pgIdent(k.name)}`).join(', ');
  // FOR NO KEY UPDATE: possync never changes a key, and this mode does not block the FOR KEY
  // SHARE locks other writers' FK checks take on these rows (a sale referencing a product this
  // batch updates), which would otherwise deadlock with them.
  const sql = `SELECT ${selectList(columns)}${scopeSql} FROM ${pgTable(ref.schema, ref.table)} t ${m.join} WHERE ${m.where} ORDER BY ${order} FOR NO KEY UPDATE OF t`;
  return (await q.query<TextRow & { possync_in_scope?: boolean }>(sql, params)).rows;
}

/** Current rows for `keys` (no lock), filtered by `where` conditions (scope). */
export async function fetchRows(
  q: Queryable,
  ref: PgTableRef,
  columns: readonly PgColumnRef[],
  keys: ReadonlyArray<readonly string[]>,
  scope: ReadonlyArray<{ name: string; castType: string; value: string }> = [],
): Promise<TextRow[]> {
  if (keys.length === 0) return [];
  const m = keyMatch(ref, 1);
  const params: unknown[] = keyParams(keys, ref.key.length);
  const scopeSql = scope.map((s) => {
    params.push(s.value);
    return ` AND t.${pgIdent(s.name)} = $${params.length}::text::${s.castType}`;
  });
  const sql = `SELECT ${selectList(columns)} FROM ${pgTable(ref.schema, ref.table)} t ${m.join} WHERE ${m.where}${scopeSql.join('')}`;
  return (await q.query<TextRow>(sql, params)).rows;
}

/** One page of a full scan in key order, after `after` (exclusive). */
export async function scanRows(
  q: Queryable,
  ref: PgTableRef,
  columns: readonly PgColumnRef[],
  after: readonly string[] | null,
  limit: number,
  scope: ReadonlyArray<{ name: string; castType: string; value: string }> = [],
): Promise<TextRow[]> {
  const { sql, params } = scanSql(ref, columns, after, limit, scope);
  return (await q.query<TextRow>(sql, params)).rows;
}

/**
 * The statement of one scan page. With `literal`, values are written into the SQL as literals
 * (for `COPY (SELECT …)`, which takes no parameters) instead of as parameters.
 */
function scanSql(
  ref: PgTableRef,
  columns: readonly PgColumnRef[],
  after: readonly string[] | null,
  limit: number,
  scope: ReadonlyArray<{ name: string; castType: string; value: string }>,
  literal = false,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const bind = (value: string | number) => {
    if (literal) return typeof value === 'number' ? String(Math.trunc(value)) : pgValueLiteral(value);
    params.push(value);
    return `$${params.length}`;
  };
  const conditions: string[] = [];
  if (after) {
    const lhs = ref.key.map((k) => `t.${pgIdent(k.name)}`).join(', ');
    const rhs = ref.key.map((k, i) => `${bind(after[i]!)}::text::${k.castType}`);
    conditions.push(`(${lhs}) > (${rhs.join(', ')})`);
  }
  for (const s of scope) conditions.push(`t.${pgIdent(s.name)} = ${bind(s.value)}::text::${s.castType}`);
  const order = ref.key.map((k) => `t.${pgIdent(k.name)}`).join(', ');
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const sql = `SELECT ${selectList(columns)} FROM ${pgTable(ref.schema, ref.table)} t ${where} ORDER BY ${order} LIMIT ${bind(limit)}`;
  return { sql, params };
}

/**
 * One page of a full scan in key order, after `after` (exclusive), read through COPY (see
 * copy-out.ts): each row's values are the texts scanRows returns, in `columns` order.
 */
export async function scanPage(
  client: PgClient,
  ref: PgTableRef,
  columns: readonly PgColumnRef[],
  after: readonly string[] | null,
  limit: number,
  scope: ReadonlyArray<{ name: string; castType: string; value: string }> = [],
): Promise<CopyPage> {
  return copyOut(client, scanSql(ref, columns, after, limit, scope, true).sql, columns.length);
}

/**
 * INSERT … SELECT FROM unnest(text[] …) ON CONFLICT (key) DO UPDATE: one statement per batch.
 * `rows` are in `columns` order; Postgres-only constants are appended as literal parameters.
 */
export async function upsertRows(
  q: Queryable,
  ref: PgTableRef,
  columns: readonly PgColumnRef[],
  rows: ReadonlyArray<ReadonlyArray<string | null>>,
  constants: ReadonlyArray<{ name: string; castType: string; value: string }> = [],
  options: { insertOnly?: boolean; updateColumns?: ReadonlySet<string> } = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  const params: unknown[] = columns.map((_, i) => rows.map((r) => r[i] ?? null));
  const names = columns.map((_, i) => `c${i}`);
  const selects = columns.map((c, i) => `u.c${i}::${c.castType}`);
  const targets = columns.map((c) => pgIdent(c.name));
  for (const k of constants) {
    params.push(k.value);
    selects.push(`$${params.length}::text::${k.castType}`);
    targets.push(pgIdent(k.name));
  }
  const keyNames = new Set(ref.key.map((k) => k.name));
  // Only columns that change are SET: updating a column of a unique index (sku, say) would take
  // the row lock that conflicts with other writers' FK checks, even when its value is the same.
  const updates = targets
    .filter((_, i) => (i >= columns.length ? !options.updateColumns : !keyNames.has(columns[i]!.name) && (!options.updateColumns || options.updateColumns.has(columns[i]!.name))))
    .map((t) => `${t} = EXCLUDED.${t}`);
  // insertOnly: rows decided as new must not overwrite a row someone inserted meanwhile; the
  // caller sees the shortfall in the row count and decides again.
  const conflict = `ON CONFLICT (${ref.key.map((k) => pgIdent(k.name)).join(', ')}) ${updates.length > 0 && !options.insertOnly ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING'}`;
  const unnest = columns.map((_, i) => `$${i + 1}::text[]`).join(', ');
  const sql = `INSERT INTO ${pgTable(ref.schema, ref.table)} (${targets.join(', ')}) SELECT ${selects.join(', ')} FROM unnest(${unnest}) AS u(${names.join(', ')}) ${conflict}`;
  const result = await q.query(sql, params);
  return result.rowCount ?? 0;
}

/**
 * Deletes rows a terminal deleted, logging each delete in possync.changes with the time it
 * happened on the terminal (not the time it reached Postgres), so last-writer-wins can compare a
 * delete pushed late with an update made after it. The capture trigger is told to stand aside
 * for this statement (possync.bulk) so the delete is not logged twice.
 */
export async function deleteRowsAt(
  q: Queryable,
  ref: PgTableRef,
  rows: ReadonlyArray<{ key: readonly string[]; at: string | null }>,
  log: { tbl: string; origin: string },
): Promise<number> {
  if (rows.length === 0) return 0;
  const params: unknown[] = keyParams(rows.map((r) => r.key), ref.key.length);
  params.push(rows.map((r) => r.at), log.tbl, log.origin);
  const n = ref.key.length;
  const cols = ref.key.map((_, i) => `k${i}`).join(', ');
  const on = ref.key.map((k, i) => `t.${pgIdent(k.name)} = u.k${i}::${k.castType}`).join(' AND ');
  const key = `jsonb_build_array(${ref.key.map((k) => `t.${pgIdent(k.name)}::text`).join(', ')})`;
  await q.query(`SET LOCAL possync.bulk = 'on'`);
  const result = await q.query<{ n: string }>(
    `WITH u AS (SELECT * FROM unnest(${ref.key.map((_, i) => `$${i + 1}::text[]`).join(', ')}, $${n + 1}::text[]) AS u(${cols}, at)),
          d AS (DELETE FROM ${pgTable(ref.schema, ref.table)} t USING u WHERE ${on} RETURNING ${key} AS key, u.at),
          logged AS (INSERT INTO possync.changes (tbl, op, origin, at, keys)
                     SELECT $${n + 2}, 'D', $${n + 3}, coalesce(d.at::timestamptz, clock_timestamp()), jsonb_agg(d.key) FROM d GROUP BY d.at)
     SELECT count(*)::text AS n FROM d`,
    params,
  );
  await q.query(`SET LOCAL possync.bulk = 'off'`);
  return Number(result.rows[0]?.n ?? 0);
}

export async function deleteRows(q: Queryable, ref: PgTableRef, keys: ReadonlyArray<readonly string[]>): Promise<number> {
  if (keys.length === 0) return 0;
  const m = keyMatch(ref, 1);
  const sql = m.join
    ? `DELETE FROM ${pgTable(ref.schema, ref.table)} t USING (SELECT * FROM unnest(${ref.key.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${ref.key.map((_, i) => `k${i}`).join(', ')})) u WHERE ${ref.key.map((k, i) => `t.${pgIdent(k.name)} = u.k${i}::${k.castType}`).join(' AND ')}`
    : `DELETE FROM ${pgTable(ref.schema, ref.table)} t WHERE ${m.where}`;
  const result = await q.query(sql, keyParams(keys, ref.key.length));
  return result.rowCount ?? 0;
}

/** Values among `values` that no row of the parent table has in `column`. */
export async function missingParents(q: Queryable, schema: string, table: string, column: PgColumnRef, values: readonly string[]): Promise<Set<string>> {
  if (values.length === 0) return new Set();
  const sql = `SELECT v FROM unnest($1::text[]) AS v WHERE NOT EXISTS (SELECT 1 FROM ${pgTable(schema, table)} p WHERE p.${pgIdent(column.name)} = v::${column.castType})`;
  const rows = (await q.query<{ v: string }>(sql, [values])).rows;
  return new Set(rows.map((r) => r.v));
}
