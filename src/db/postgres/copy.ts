import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { pgIdent, pgTable } from '../quote.ts';
import type { PgClient } from './gateway.ts';

type Row = ReadonlyArray<string | null>;

/** COPY text format: tab-separated, \N for NULL, backslash escapes for \ tab newline and CR. */
export function copyField(value: string | null): string {
  if (value === null) return '\\N';
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

export function copyText(rows: readonly Row[]): string {
  let text = '';
  for (const row of rows) text += `${row.map(copyField).join('\t')}\n`;
  return text;
}

async function* encode(slices: AsyncIterable<readonly Row[]>): AsyncGenerator<string> {
  for await (const rows of slices) if (rows.length > 0) yield copyText(rows);
}

/**
 * COPY rows (wire text, one array per row in `columns` order) straight into a table: the fastest
 * way into Postgres. Casting happens in Postgres' input functions, as with the unnest path. Rows
 * arrive as an async stream of slices, so the caller can produce the next slice while Postgres
 * parses the previous one.
 */
export async function copyRows(client: PgClient, schema: string, table: string, columns: readonly string[], slices: AsyncIterable<readonly Row[]>): Promise<void> {
  const sql = `COPY ${pgTable(schema, table)} (${columns.map(pgIdent).join(', ')}) FROM STDIN`;
  await pipeline(Readable.from(encode(slices)), client.query(copyFrom(sql)));
}
