/**
 * Where rows of a cloud table really live, and what routes them there. Three shapes are common:
 *
 * - rules: `CREATE RULE … AS ON INSERT TO parent WHERE (…) DO INSTEAD INSERT INTO child …`, the
 *   old inheritance partitioning. Postgres refuses `INSERT … ON CONFLICT` on a table with INSERT
 *   or UPDATE rules, and COPY ignores rules (the rows would stay in the parent).
 * - inheritance: children `INHERITS (parent)`. A SELECT on the parent sees the children's rows,
 *   but a unique index belongs to one table only, so ON CONFLICT on the parent cannot see a key
 *   that lives in a child.
 * - partitioned (`PARTITION BY …`): a unique index on the parent covers every partition, so ON
 *   CONFLICT works when the key is such an index (it must include the partition key).
 *
 * Statement-level triggers fire only on the table a statement names: a row written straight into
 * a child (by another app, or by a rule's rewritten INSERT) fires the child's triggers, not the
 * parent's. So capture needs the descendants too.
 */
export interface PgRouting {
  kind: 'plain' | 'inheritance' | 'partitioned';
  /** The table's rules (views' `_RETURN` excluded), by event. */
  rules: Array<{ name: string; event: 'select' | 'update' | 'insert' | 'delete' }>;
  /** Every table below it (children, partitions, their own children), parents first. */
  descendants: PgDescendant[];
}

export interface PgDescendant {
  schema: string;
  name: string;
  /** A declarative partition: row-level triggers of its partitioned parent are cloned onto it. */
  partition: boolean;
}

export const PLAIN_ROUTING: PgRouting = { kind: 'plain', rules: [], descendants: [] };

const EVENTS = { '1': 'select', '2': 'update', '3': 'insert', '4': 'delete' } as const;

/**
 * The routing of the named tables of one schema ($1 the schema, $2 the names): one row per table
 * that exists. introspect.ts runs it inside its one catalog query.
 */
export const ROUTING_SQL = `WITH RECURSIVE roots AS (
       SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p')
     ), tree AS (
       SELECT r.oid AS root, i.inhrelid AS rel, 1 AS depth FROM roots r JOIN pg_inherits i ON i.inhparent = r.oid
       UNION ALL
       SELECT tree.root, i.inhrelid, tree.depth + 1 FROM tree JOIN pg_inherits i ON i.inhparent = tree.rel
     )
     SELECT r.relname AS table_name, r.relkind::text AS relkind,
            coalesce((SELECT jsonb_agg(jsonb_build_object('name', w.rulename, 'event', w.ev_type::text) ORDER BY w.rulename)
                        FROM pg_rewrite w WHERE w.ev_class = r.oid AND w.rulename <> '_RETURN'), '[]'::jsonb) AS rules,
            coalesce((SELECT jsonb_agg(jsonb_build_object('schema', dn.nspname, 'name', d.relname, 'partition', d.relispartition) ORDER BY t.depth, dn.nspname, d.relname)
                        FROM tree t JOIN pg_class d ON d.oid = t.rel JOIN pg_namespace dn ON dn.oid = d.relnamespace
                       WHERE t.root = r.oid AND d.relkind IN ('r', 'p')), '[]'::jsonb) AS descendants
       FROM roots r`;

export interface RoutingRow {
  table_name: string;
  relkind: string;
  rules: Array<{ name: string; event: string }>;
  descendants: PgDescendant[];
}

/** The routing of each table from ROUTING_SQL's rows. */
export function routingOf(rows: readonly RoutingRow[]): Map<string, PgRouting> {
  const out = new Map<string, PgRouting>();
  for (const r of rows) {
    out.set(r.table_name, {
      kind: r.relkind === 'p' ? 'partitioned' : r.descendants.length > 0 ? 'inheritance' : 'plain',
      rules: r.rules.map((w) => ({ name: w.name, event: EVENTS[w.event as keyof typeof EVENTS] ?? 'select' })),
      descendants: r.descendants,
    });
  }
  return out;
}
