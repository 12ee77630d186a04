import type { Family } from './types.ts';

/**
 * Maps information_schema.columns (data_type, udt_name) to a family. udt_name is the reliable
 * key (it names the base type whatever alias the DDL used); data_type only tells arrays and
 * enums apart.
 */
const FAMILY_BY_UDT: Readonly<Record<string, Family>> = {
  int2: 'int',
  int4: 'int',
  int8: 'int',
  numeric: 'numeric',
  float4: 'float',
  float8: 'float',
  bool: 'bool',
  text: 'text',
  varchar: 'text',
  bpchar: 'bpchar',
  char: 'text',
  citext: 'text',
  name: 'text',
  uuid: 'uuid',
  timestamptz: 'timestamptz',
  timestamp: 'timestamp',
  date: 'date',
  time: 'time',
  timetz: 'time',
  json: 'json',
  jsonb: 'json',
  bytea: 'bytea',
};

/** A scalar type's family; enums, domains-over-unknown and anything unlisted pass through as text. */
function scalarFamily(udtName: string): Family {
  return FAMILY_BY_UDT[udtName.toLowerCase()] ?? 'other';
}

export function familyOf(pg: { dataType: string; udtName: string; elementUdtName?: string }): {
  family: Family;
  element?: Family;
} {
  const isArray = pg.dataType.toUpperCase() === 'ARRAY' || pg.udtName.startsWith('_');
  if (!isArray) return { family: scalarFamily(pg.udtName) };
  // Postgres names an array type after its element with a leading underscore (_int4 for int4[]).
  const elementUdt = pg.elementUdtName ?? pg.udtName.replace(/^_/, '');
  return { family: 'array', element: scalarFamily(elementUdt) };
}
