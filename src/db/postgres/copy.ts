import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { pgIdent, pgTable } from '../quote.ts';
import type { PgClient } from './gateway.ts';

/** COPY text format: tab-separated, \N for NULL, backslash escapes for \ tab newline and CR. */
export function copyField(value: string | null): string {
  if (value === null) return '\\N';
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/**
 * COPY already-encoded text (COPY text format, one chunk per array element) straight into a
 * table: the fastest way into Postgres. Values are parsed by Postgres' input functions, exactly as
 * the unnest path casts them.
 */
export async function copyText(client: PgClient, schema: string, table: string, columns: readonly string[], text: Iterable<string | Buffer> | AsyncIterable<string | Buffer>): Promise<void> {
  const sql = `COPY ${pgTable(schema, table)} (${columns.map(pgIdent).join(', ')}) FROM STDIN`;
  await pipeline(Readable.from(text), client.query(copyFrom(sql)));
}

/**
 * COPY text into a temporary table shaped like `schema.table`'s `columns` (no constraints, no
 * triggers, dropped at COMMIT): where rows must reach their table through an INSERT instead of
 * COPY (rules route them; several tables go in one statement). Returns the stage's qualified name.
 */
export async function copyIntoStage(client: PgClient, schema: string, table: string, stage: string, columns: readonly string[], text: AsyncIterable<string | Buffer>): Promise<string> {
  const name = `pg_temp.${pgIdent(stage)}`;
  await client.query(`DROP TABLE IF EXISTS ${name}; CREATE TEMPORARY TABLE ${pgIdent(stage)} ON COMMIT DROP AS SELECT ${columns.map(pgIdent).join(', ')} FROM ONLY ${pgTable(schema, table)} WITH NO DATA`);
  await copyText(client, 'pg_temp', stage, columns, text);
  return name;
}
