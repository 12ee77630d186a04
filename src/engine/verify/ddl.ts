import type { PgColumn } from '../../db/postgres/introspect.ts';
import type { SqliteColumn } from '../../db/sqlite/introspect.ts';
import { pgIdent, pgTable, sqliteIdent } from '../../db/quote.ts';
import { affinityOf, familyOf, type Family } from '../values/codec.ts';

/**
 * The SQLite type a Postgres column should get on the terminal. Money and other numerics are
 * TEXT: SQLite has no decimal type and a NUMERIC/REAL column would store '12.50' as a double.
 */
const SQLITE_TYPE: Record<Family, string> = {
  int: 'INTEGER',
  float: 'REAL',
  bool: 'INTEGER',
  bytea: 'BLOB',
  numeric: 'TEXT',
  text: 'TEXT',
  bpchar: 'TEXT',
  uuid: 'TEXT',
  timestamptz: 'TEXT',
  timestamp: 'TEXT',
  date: 'TEXT',
  time: 'TEXT',
  json: 'TEXT',
  array: 'TEXT',
  other: 'TEXT',
};

/** `ALTER TABLE "t" ADD COLUMN "c" TEXT;` (SQLite cannot add a NOT NULL column without a default). */
export function sqliteAddColumn(sqliteTable: string, column: PgColumn, name: string = column.name): string {
  const { family } = familyOf(column);
  return `ALTER TABLE ${sqliteIdent(sqliteTable)} ADD COLUMN ${sqliteIdent(name)} ${SQLITE_TYPE[family]};`;
}

const PG_TYPE = { INTEGER: 'bigint', REAL: 'double precision', TEXT: 'text', BLOB: 'bytea', NUMERIC: 'numeric' } as const;

/**
 * The Postgres type for a terminal column. A few declarations say more than their affinity:
 * `DATE`, `DATETIME` and `BOOLEAN` have NUMERIC affinity, but hold dates, times and 0/1, which a
 * numeric column would refuse or misread.
 */
function pgTypeOf(declaredType: string): string {
  const declared = declaredType.trim().toUpperCase();
  if (declared === 'DATE') return 'date';
  if (/^(DATETIME|TIMESTAMP)\b/.test(declared)) return 'timestamp(3)';
  if (/^BOOL(EAN)?$/.test(declared)) return 'boolean';
  return PG_TYPE[affinityOf(declaredType)];
}

/** `ALTER TABLE "public"."t" ADD COLUMN "c" text;` for a terminal column Postgres lacks. */
export function pgAddColumn(schema: string, table: string, column: SqliteColumn, name: string = column.name): string {
  return `ALTER TABLE ${pgTable(schema, table)} ADD COLUMN ${pgIdent(name)} ${pgTypeOf(column.declaredType)};`;
}
