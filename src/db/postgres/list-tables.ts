import type { PgGateway } from './gateway.ts';

/** Ordinary and partitioned tables of one schema (not views, not partitions), by name. */
export async function listPgTables(pg: PgGateway, schema: string): Promise<string[]> {
  const rows = await pg.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
    [schema],
  );
  return rows.map((r) => r.name);
}
