import { pgIdent, pgTable } from '../quote.ts';
import type { Queryable } from './gateway.ts';

export interface NaturalMatchQuery {
  schema: string;
  table: string;
  key: ReadonlyArray<{ name: string; castType: string }>;
  naturalKey: ReadonlyArray<{ name: string; castType: string }>;
  scope: ReadonlyArray<{ name: string; castType: string; value: string }>;
}

/**
 * For each candidate (its own key and its natural-key values, as wire text), the key of the
 * Postgres row that has the same natural key under another key, when the candidate's own key is
 * not in Postgres. Only rows in this terminal's scope are matched. Returns candidate index →
 * matched key (as Postgres prints it).
 */
export async function naturalKeyMatches(
  q: Queryable,
  m: NaturalMatchQuery,
  candidates: ReadonlyArray<{ key: readonly string[]; natural: readonly string[] }>,
): Promise<Map<number, string[]>> {
  if (candidates.length === 0) return new Map();
  const params: unknown[] = [];
  const arrays: string[] = [];
  const push = (values: unknown[], type: string) => {
    params.push(values);
    arrays.push(`$${params.length}::${type}[]`);
  };
  m.key.forEach((_, i) => push(candidates.map((c) => c.key[i]), 'text'));
  m.naturalKey.forEach((_, i) => push(candidates.map((c) => c.natural[i]), 'text'));
  push(candidates.map((_, i) => i), 'int');
  const k = m.key.map((_, i) => `k${i}`);
  const n = m.naturalKey.map((_, i) => `n${i}`);
  const table = pgTable(m.schema, m.table);
  const naturalOn = m.naturalKey.map((c, i) => `t.${pgIdent(c.name)} = u.${n[i]}::${c.castType}`).join(' AND ');
  const ownKey = m.key.map((c, i) => `x.${pgIdent(c.name)} = u.${k[i]}::${c.castType}`).join(' AND ');
  const scope = m.scope.map((s) => {
    params.push(s.value);
    return ` AND t.${pgIdent(s.name)} IS NOT DISTINCT FROM $${params.length}::text::${s.castType}`;
  });
  const keyOut = m.key.map((c, i) => `t.${pgIdent(c.name)}::text AS m${i}`).join(', ');
  const { rows } = await q.query<Record<string, string>>(
    `SELECT DISTINCT ON (u.i) u.i, ${keyOut}
       FROM unnest(${arrays.join(', ')}) AS u(${[...k, ...n, 'i'].join(', ')})
       JOIN ${table} t ON ${naturalOn}${scope.join('')}
      WHERE NOT EXISTS (SELECT 1 FROM ${table} x WHERE ${ownKey})
      ORDER BY u.i, ${m.key.map((c) => `t.${pgIdent(c.name)}`).join(', ')}`,
    params,
  );
  return new Map(rows.map((r) => [Number(r.i), m.key.map((_, i) => r[`m${i}`]!)]));
}
