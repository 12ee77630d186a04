import { pgIdent, pgTable } from '../quote.ts';
import { copyIntoStage } from './copy.ts';
import type { PgClient, Queryable } from './gateway.ts';
import type { PgColumnRef, PgTableRef } from './rows.ts';

/** New rows for one table of an insert-together statement (wire text, in `columns` order). */
export interface TogetherPart {
  ref: PgTableRef;
  columns: readonly PgColumnRef[];
  constants: ReadonlyArray<{ name: string; castType: string; value: string }>;
  rows: ReadonlyArray<ReadonlyArray<string | null>>;
}

/**
 * Inserts rows into several tables in ONE statement: a data-modifying `WITH` with one
 * `INSERT … ON CONFLICT DO NOTHING` per table. A foreign key that is not DEFERRABLE is still
 * checked at the end of the statement, not after each row, so rows that reference each other
 * around a cycle of NOT NULL foreign keys (a branch's manager is an employee, an employee's
 * branch is a branch) go in together, where any order of separate statements fails. Returns,
 * per part, the keys (text) of the rows it inserted: a key that already existed is skipped.
 */
export async function insertTogether(q: Queryable, parts: readonly TogetherPart[]): Promise<string[][][]> {
  const params: unknown[] = [];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const ctes = parts.map((p, n) => {
    const names = p.columns.map((_, i) => `c${i}`);
    const arrays = p.columns.map((_, i) => `${param(p.rows.map((r) => r[i] ?? null))}::text[]`);
    const selects = [...p.columns.map((c, i) => `u.c${i}::${c.castType}`), ...p.constants.map((k) => `${param(k.value)}::text::${k.castType}`)];
    const targets = [...p.columns.map((c) => pgIdent(c.name)), ...p.constants.map((k) => pgIdent(k.name))];
    const key = p.ref.key.map((k) => pgIdent(k.name));
    return `t${n} AS (INSERT INTO ${pgTable(p.ref.schema, p.ref.table)} (${targets.join(', ')})
      SELECT ${selects.join(', ')} FROM unnest(${arrays.join(', ')}) AS u(${names.join(', ')})
      ON CONFLICT (${key.join(', ')}) DO NOTHING
      RETURNING ${n} AS part, ARRAY[${key.map((k) => `${k}::text`).join(', ')}] AS key)`;
  });
  const sql = `WITH ${ctes.join(',\n')}\n${parts.map((_, n) => `SELECT part, key FROM t${n}`).join(' UNION ALL ')}`;
  const { rows } = await q.query<{ part: number; key: string[] }>(sql, params);
  const out: string[][][] = parts.map(() => []);
  for (const r of rows) out[r.part]!.push(r.key);
  return out;
}

/** One table of a staged insert-together: its rows arrive as COPY text. */
export interface StagedPart {
  schema: string;
  table: string;
  columns: readonly string[];
  text: AsyncIterable<string | Buffer>;
}

/**
 * The bulk form of insertTogether, for whole tables: each part is COPYed into a temporary
 * staging table (no constraints, dropped at COMMIT), then ONE statement inserts every staging
 * table into its target (`WITH t0 AS (INSERT … SELECT …), …`). The foreign keys between the
 * targets are checked at the end of that statement, so tables that reference each other around a
 * NOT NULL cycle load at COPY speed. Returns the rows inserted per part. The caller's transaction
 * holds it all; any refused row fails the statement whole.
 */
export async function insertStagedTogether(q: PgClient, parts: readonly StagedPart[]): Promise<number[]> {
  const stages: string[] = [];
  for (const [n, p] of parts.entries()) stages.push(await copyIntoStage(q, p.schema, p.table, `possync_stage_${n}`, p.columns, p.text));
  const ctes = parts.map((p, n) => {
    const list = p.columns.map(pgIdent).join(', ');
    return `t${n} AS (INSERT INTO ${pgTable(p.schema, p.table)} (${list}) SELECT ${list} FROM ${stages[n]} RETURNING 1)`;
  });
  // The stages go at COMMIT (ON COMMIT DROP): no statement of its own for them.
  const { rows } = await q.query<Record<string, string>>(`WITH ${ctes.join(',\n')}\nSELECT ${parts.map((_, n) => `(SELECT count(*) FROM t${n}) AS n${n}`).join(', ')}`);
  return parts.map((_, n) => Number(rows[0]![`n${n}`]));
}
