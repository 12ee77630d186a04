import type { PgClient } from '../../db/postgres/gateway.ts';
import { changeLogName } from '../../db/postgres/possync-schema.ts';
import { pgIdent, pgTable } from '../../db/quote.ts';
import { unseenSql, type PullSnapshot } from '../checkpoints.ts';
import { keyString } from '../keys.ts';
import type { TablePlan } from '../plan/types.ts';
import { fromPg } from '../values/codec.ts';
import { bucketSql, rowHashSql, sliceSql, type BucketSum } from './checksum.ts';

/**
 * The cloud's side of verify-data: everything is computed in Postgres, so only bucket checksums,
 * then key + hash of the rows in differing buckets, cross the network. Run inside one
 * REPEATABLE READ transaction with possync's session settings (PgGateway.tx), so every query sees
 * one snapshot and prints values the way normalSql expects.
 */
/**
 * Key texts (`k0`…) and row hash (`rh`) of every cloud row in scope. Kept from being merged into
 * the query around it (OFFSET 0): merged, each reference to `rh` (bucket and two slices) would
 * compute the hash again. Unmerged, the hash is computed where the table is read, in each
 * parallel worker when the planner splits the scan.
 */
function source(schema: string, t: TablePlan, params: unknown[], withKeys = true): string {
  const where = t.scope.map((s) => {
    params.push(s.value);
    return `t.${pgIdent(s.pg)} = $${params.length}::text::${s.castType}`;
  });
  const keys = withKeys ? t.key.map((k, i) => `t.${pgIdent(k.pg)}::text AS k${i}, `).join('') : '';
  return `SELECT ${keys}${rowHashSql(t)} AS rh
            FROM ${pgTable(schema, t.name)} t ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} OFFSET 0`;
}

export async function cloudBuckets(client: PgClient, schema: string, t: TablePlan, buckets: number): Promise<Map<number, BucketSum>> {
  const params: unknown[] = [];
  // The planner prices the per-row work (normal forms, md5) as nearly free, so by default it
  // reads even a large table in one process; hashing is what costs here, and it splits across
  // workers as a plain scan does. For this transaction only; small tables stay below
  // min_parallel_table_scan_size and are read by one process as before.
  await client.query(`SET LOCAL parallel_setup_cost = 100; SET LOCAL parallel_tuple_cost = 0.01`);
  const { rows } = await client.query<{ b: number; n: string; s1: string; s2: string }>(
    `SELECT ${bucketSql('s.rh', buckets)} AS b, count(*)::text AS n, sum(${sliceSql('s.rh', 1)})::text AS s1, sum(${sliceSql('s.rh', 8)})::text AS s2
       FROM (${source(schema, t, params, false)}) s GROUP BY 1`,
    params,
  );
  return new Map(rows.map((r) => [r.b, { n: Number(r.n), s1: Number(r.s1), s2: Number(r.s2) }]));
}

/** Key and row hash of every cloud row in the given buckets, by key string. */
export async function cloudLeaves(client: PgClient, schema: string, t: TablePlan, buckets: number, which: readonly number[]): Promise<Map<string, string>> {
  if (which.length === 0) return new Map();
  const params: unknown[] = [];
  const from = source(schema, t, params);
  params.push(which);
  const { rows } = await client.query<Record<string, string>>(
    `SELECT * FROM (${from}) s WHERE ${bucketSql('s.rh', buckets)} = ANY($${params.length}::int[])`,
    params,
  );
  return new Map(rows.map((r) => [keyString(t.key.map((k, i) => fromPg(k.codec, r[`k${i}`] ?? null) ?? '')), r.rh!]));
}

/**
 * Keys of the table changed in Postgres by transactions this till's pull checkpoint has not seen
 * (changes still in flight towards the till), and whether one of them reloaded the whole table.
 */
export async function unpulledKeys(client: PgClient, schema: string, t: TablePlan, from: PullSnapshot): Promise<{ keys: Set<string>; reloaded: boolean }> {
  const { rows } = await client.query<{ key: string[] | null; reload: boolean }>(
    `SELECT DISTINCT ARRAY(SELECT jsonb_array_elements_text(k.value)) AS key, c.op = 'T' AS reload
       FROM possync.changes c LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN c.op = 'T' THEN '[]'::jsonb ELSE c.keys END) AS k ON true
      WHERE c.tbl = $1 AND ${unseenSql('$2', '$3')}`,
    [changeLogName(schema, t.name), from.fence, from.snapshot],
  );
  const keys = new Set<string>();
  let reloaded = false;
  for (const r of rows) {
    if (r.reload) reloaded = true;
    else if (r.key) keys.add(keyString(t.key.map((k, i) => fromPg(k.codec, r.key![i] ?? null) ?? '')));
  }
  return { keys, reloaded };
}
