import { pgIdent, sqliteIdent } from '../../src/db/quote.ts';
import { openSqlite, type TestPg } from './db.ts';

/**
 * Everything stored on both sides, to prove an operation wrote nothing at all: every table of the
 * terminal database (the app's tables, possync's `_possync_*` bookkeeping, system_settings,
 * sqlite_sequence) with its definition and triggers, and every table of the given Postgres
 * schemas (the synced tables and possync's change log, checkpoints, conflicts, run logs,
 * terminals) plus possync's capture triggers and their versions. Rows are sorted, so only
 * content counts, not physical order.
 */
export interface BothSides {
  sqlite: { schema: unknown[]; rows: Record<string, string[]> };
  postgres: { triggers: unknown[]; rows: Record<string, string[]> };
}

export async function snapshotBothSides(sqlitePath: string, pg: TestPg, schemas: string[] = ['public', 'possync']): Promise<BothSides> {
  const db = openSqlite(sqlitePath);
  const sqlite: BothSides['sqlite'] = { schema: [], rows: {} };
  try {
    sqlite.schema = db.prepare(`SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name`).all();
    const tables = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).all() as Array<{ name: string }>;
    for (const { name } of tables) {
      sqlite.rows[name] = (db.prepare(`SELECT * FROM ${sqliteIdent(name)}`).all() as unknown[]).map((r) => JSON.stringify(r)).sort();
    }
  } finally {
    db.close();
  }
  const postgres: BothSides['postgres'] = { triggers: [], rows: {} };
  const tables = await pg.query<{ schema: string; name: string }>(
    `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
      WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE' ORDER BY 1, 2`,
    [schemas],
  );
  for (const t of tables) {
    const rows = await pg.query<{ j: string }>(`SELECT to_jsonb(x)::text AS j FROM ${pgIdent(t.schema)}.${pgIdent(t.name)} x`);
    postgres.rows[`${t.schema}.${t.name}`] = rows.map((r) => r.j).sort();
  }
  postgres.triggers = await pg.query(
    `SELECT c.relname, t.tgname, obj_description(t.tgfoid, 'pg_proc') AS version
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND n.nspname = ANY($1::text[]) ORDER BY 1, 2`,
    [schemas],
  );
  return { sqlite, postgres };
}
