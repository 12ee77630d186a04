import type { PgClient } from '../../db/postgres/gateway.ts';
import { changeLogName } from '../../db/postgres/possync-schema.ts';
import { pgErrorCode } from '../../db/postgres/errors.ts';
import { keyMatch, keyParams, type PgTableRef } from '../../db/postgres/rows.ts';
import { pgIdent, pgTable } from '../../db/quote.ts';
import { unseenSql, type PullSnapshot } from '../checkpoints.ts';
import { keyString, parseKey } from '../keys.ts';
import type { SyncPlan, TablePlan } from '../plan/types.ts';
import { pgRef } from '../push/apply.ts';
import { fromPg } from '../values/codec.ts';
import { bucketOf, bucketSql, normalFormsSql, rowHashSql, sliceSql, takeFrom, type BucketSum } from './checksum.ts';

/**
 * The cloud's side of verify-data: everything is computed in Postgres, so only bucket checksums,
 * then key + hash of the rows in differing buckets, cross the network. Run inside one
 * REPEATABLE READ transaction with possync's session settings (PgGateway.tx), so every query sees
 * one snapshot and prints values the way normalSql expects.
 */
/**
 * Key texts (`k0`…) and row hash (`rh`) of every cloud row in scope (with `byKey`, of the rows
 * with those keys only). Inside a query that uses `rh` more than once, it must be kept from
 * being merged into that query (`apart`), so md5 runs once a row: merged, each reference to `rh`
 * (bucket and two slices) would compute the hash again.
 * - `offset`: `OFFSET 0`. It also puts a LIMIT-like node above the parallel scan, so whatever the
 *   query around it does runs in the leader alone: fine for filtering rows (cloudLeaves).
 * - `volatile`: a volatile output column (Postgres never merges a subquery that has one), with no
 *   such node, so each parallel worker sums its own rows (cloudBuckets). The CASE is folded to
 *   NULL when the subquery is planned: clock_timestamp() is never called. A MATERIALIZED CTE
 *   would keep it apart as plainly, but scanning a CTE is parallel restricted (the manual's
 *   "Parallel Safety"): the sums would again run in the leader alone.
 */
const APART = 'CASE WHEN false THEN clock_timestamp() END AS _possync_apart';

function source(
  schema: string,
  t: TablePlan,
  params: unknown[],
  options: { withKeys?: boolean; byKey?: { ref: PgTableRef; keys: ReadonlyArray<readonly string[]> }; apart?: 'offset' | 'volatile' } = {},
): string {
  let join = '';
  const where: string[] = [];
  if (options.byKey) {
    const m = keyMatch(options.byKey.ref, params.length + 1);
    params.push(...keyParams(options.byKey.keys, t.key.length));
    join = m.join;
    where.push(m.where);
  }
  for (const s of t.scope) {
    params.push(s.value);
    where.push(`t.${pgIdent(s.pg)} = $${params.length}::text::${s.castType}`);
  }
  const keys = options.withKeys === false ? '' : t.key.map((k, i) => `t.${pgIdent(k.pg)}::text AS k${i}, `).join('');
  const keysOut = options.withKeys === false ? '' : t.key.map((_, i) => `u.k${i}, `).join('');
  // The normal forms are kept apart from the row text the same way (volatile), so each is
  // computed once a row although the text refers to a framed one twice (its length, then
  // itself): at 1M rows a tenth to a fifth less time for the cloud's pass.
  const inner = `SELECT ${keys}${normalFormsSql(t)}, ${APART}
                   FROM ${pgTable(schema, t.name)} t ${join} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`;
  return `SELECT ${keysOut}${rowHashSql(t)} AS rh${options.apart === 'volatile' ? `, ${APART}` : ''}
            FROM (${inner}) u${options.apart === 'offset' ? ' OFFSET 0' : ''}`;
}

/** The key string of a cloud row from its key columns' texts, as the till's rows are keyed. */
const keyOf = (t: TablePlan, texts: ReadonlyArray<string | null | undefined>) => keyString(t.key.map((k, i) => fromPg(k.codec, texts[i] ?? null) ?? ''));
/** The key texts (`k0`…) of a row of `source`. */
const sourceKey = (t: TablePlan, r: Record<string, string | null>) => t.key.map((_, i) => r[`k${i}`]);

export async function cloudBuckets(client: PgClient, schema: string, t: TablePlan, buckets: number): Promise<Map<number, BucketSum>> {
  const params: unknown[] = [];
  // The planner prices the per-row work (normal forms, md5) as nearly free, so by default it
  // reads even a large table in one process; hashing is what costs here, and it splits across
  // workers as a plain scan does. For this transaction only; small tables stay below
  // min_parallel_table_scan_size and are read by one process as before.
  await client.query(`SET LOCAL parallel_setup_cost = 100; SET LOCAL parallel_tuple_cost = 0.01`);
  const { rows } = await client.query<{ b: number; n: string; s1: string; s2: string }>(
    `SELECT ${bucketSql('s.rh', buckets)} AS b, count(*)::text AS n, sum(${sliceSql('s.rh', 1)})::text AS s1, sum(${sliceSql('s.rh', 8)})::text AS s2
       FROM (${source(schema, t, params, { withKeys: false, apart: 'volatile' })}) s GROUP BY 1`,
    params,
  );
  return new Map(rows.map((r) => [r.b, { n: Number(r.n), s1: Number(r.s1), s2: Number(r.s2) }]));
}

/** Key and row hash of every cloud row in the given buckets, by key string: one more hashing pass over the table. */
export async function cloudLeaves(client: PgClient, schema: string, t: TablePlan, buckets: number, which: readonly number[]): Promise<Map<string, string>> {
  if (which.length === 0) return new Map();
  const params: unknown[] = [];
  const from = source(schema, t, params, { apart: 'offset' });
  params.push(which);
  const { rows } = await client.query<Record<string, string>>(
    `SELECT * FROM (${from}) s WHERE ${bucketSql('s.rh', buckets)} = ANY($${params.length}::int[])`,
    params,
  );
  return new Map(rows.map((r) => [keyOf(t, sourceKey(t, r)), r.rh!]));
}

/**
 * Key and row hash of every cloud row in the given buckets, found without hashing the table
 * again when it can be: the rows with `keys` (the till's rows of those buckets, and the keys in
 * flight) are read by key and hashed; taken out of the buckets' sums from pass 1 (`sums`, same
 * snapshot), what is left is the cloud's rows of those buckets with other keys. A bucket with
 * nothing left is complete; only buckets with rows left (rows the till lacks, whose keys nobody
 * knows) are read by a full pass (cloudLeaves). A key Postgres cannot read (a till key of no
 * valid spelling for the column's type) makes the lookup fail: then every bucket is.
 * `hashed` counts the rows that crossed as key + hash, `passes` the full passes (0 or 1).
 */
export async function cloudLeavesByKey(
  client: PgClient,
  plan: SyncPlan,
  t: TablePlan,
  buckets: number,
  which: readonly number[],
  sums: ReadonlyMap<number, BucketSum>,
  keys: readonly string[],
): Promise<{ leaves: Map<string, string>; hashed: number; passes: number }> {
  if (which.length === 0) return { leaves: new Map(), hashed: 0, passes: 0 };
  // Looking up a good share of the table costs more than a second pass over it.
  let rows = 0;
  for (const s of sums.values()) rows += s.n;
  if (keys.length > rows / 4) {
    const leaves = await cloudLeaves(client, plan.schema, t, buckets, which);
    return { leaves, hashed: leaves.size, passes: 1 };
  }
  // One statement for every key (one array parameter per key column), not one a thousand keys:
  // on a distant cloud each statement is a round trip, and the keys are at most a quarter of the
  // table's rows.
  const found = new Map<string, string>();
  if (keys.length > 0) {
    const params: unknown[] = [];
    const lookup = source(plan.schema, t, params, { byKey: { ref: pgRef(plan, t), keys: keys.map(parseKey) } });
    await client.query('SAVEPOINT possync_verify_keys');
    try {
      const { rows } = await client.query<Record<string, string>>(lookup, params);
      for (const r of rows) found.set(keyOf(t, sourceKey(t, r)), r.rh!);
      await client.query('RELEASE SAVEPOINT possync_verify_keys');
    } catch (err) {
      // Only a key Postgres cannot read (a data exception, class 22: 22003 out of range, 22P02 bad
      // text) is answered by the full pass; anything else (a lost link, a timeout, a refused read)
      // would fail that pass the same way, only later.
      if (!pgErrorCode(err)?.startsWith('22')) throw err;
      await client.query('ROLLBACK TO SAVEPOINT possync_verify_keys');
      const leaves = await cloudLeaves(client, plan.schema, t, buckets, which);
      return { leaves, hashed: leaves.size, passes: 1 };
    }
  }
  const left = new Map(which.map((b) => [b, { n: 0, s1: 0, s2: 0, ...sums.get(b) }]));
  const leaves = new Map<string, string>();
  for (const [key, rh] of found) {
    const sum = left.get(bucketOf(rh, buckets));
    if (!sum) continue;
    leaves.set(key, rh);
    takeFrom(sum, rh);
  }
  const rest = [...left].filter(([, s]) => s.n !== 0 || s.s1 !== 0 || s.s2 !== 0).map(([b]) => b);
  if (rest.length === 0) return { leaves, hashed: found.size, passes: 0 };
  const more = await cloudLeaves(client, plan.schema, t, buckets, rest);
  for (const [key, rh] of more) leaves.set(key, rh);
  return { leaves, hashed: found.size + more.size, passes: 1 };
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
    else if (r.key) keys.add(keyOf(t, r.key));
  }
  return { keys, reloaded };
}
