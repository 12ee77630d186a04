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
