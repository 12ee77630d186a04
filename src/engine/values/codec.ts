/**
 * The value codec: moves column values between SQLite and PostgreSQL exactly, through one text
 * "wire" form per type family. Pure functions, no database access.
 *
 * Postgres text given to fromPg must come from `col::text` in a session with TimeZone='UTC',
 * DateStyle='ISO, YMD', IntervalStyle='postgres', extra_float_digits=1, bytea_output='hex'.
 * SQLite values are what better-sqlite3 returns with safeIntegers(true).
 */
import type { ColumnCodec, Family, FamilyHandler, SqliteValue, Wire } from './types.ts';
import { arrayHandler } from './array.ts';
import { boolHandler } from './bool.ts';
import { bpcharHandler } from './bpchar.ts';
import { byteaHandler } from './bytea.ts';
import { floatHandler } from './float.ts';
import { intHandler } from './int.ts';
import { jsonHandler } from './json.ts';
import { numericHandler } from './numeric.ts';
import { textHandler } from './text.ts';
import { timeHandler } from './time.ts';
import { dateHandler, timestampHandler } from './timestamp.ts';
import { uuidHandler } from './uuid.ts';
import { orElse } from './value-error.ts';

export type { Affinity, ColumnCodec, Family, SqliteValue, TemporalForm, Wire } from './types.ts';
export { ValueError } from './value-error.ts';
export { familyOf } from './family.ts';
export { affinityOf } from './affinity.ts';
export { detectTemporalForm } from './temporal-form.ts';

/**
 * A family, or a column description that also names an array's element family. Pass the
 * ColumnCodec (or { family, element }) for array columns: with the bare 'array' family the
 * elements can only be compared as text ('{t}' and '{true}' then differ).
 */
export type FamilyRef = Family | { family: Family; element?: Family };

const SCALAR_HANDLERS: Readonly<Record<Exclude<Family, 'array'>, FamilyHandler>> = {
  text: textHandler('text'),
  bpchar: bpcharHandler,
  other: textHandler('other'),
  uuid: uuidHandler,
  int: intHandler,
  numeric: numericHandler,
  float: floatHandler,
  bool: boolHandler,
  timestamptz: timestampHandler('timestamptz'),
  timestamp: timestampHandler('timestamp'),
  date: dateHandler,
  time: timeHandler,
  json: jsonHandler,
  bytea: byteaHandler,
};

const arrayHandlers = new Map<Family, FamilyHandler>();

function handlerOf(ref: FamilyRef): FamilyHandler {
  const { family, element } = typeof ref === 'string' ? { family: ref, element: undefined } : ref;
  if (family !== 'array') return SCALAR_HANDLERS[family];
  // Arrays of arrays do not exist in Postgres (they are multi-dimensional arrays); use text.
  const elementFamily = element === undefined || element === 'array' ? 'text' : element;
  let handler = arrayHandlers.get(elementFamily);
  if (handler === undefined) {
    handler = arrayHandler(elementFamily, SCALAR_HANDLERS[elementFamily]);
    arrayHandlers.set(elementFamily, handler);
  }
  return handler;
}

/**
 * Postgres text output -> wire. Never throws: text it cannot normalise (BC dates, years after
 * 9999) is Postgres's own valid input and passes through; toSqlite then refuses it.
 */
export function fromPg(family: FamilyRef, text: string | null): Wire {
  return text === null ? null : handlerOf(family).fromPg(text);
}

/** A value read from SQLite -> wire. Throws ValueError if Postgres cannot hold it exactly. */
export function fromSqlite(codec: ColumnCodec, value: SqliteValue): Wire {
  return value === null ? null : handlerOf(codec).fromSqlite(value, codec);
}

/** Wire -> the value to bind in SQLite. Throws ValueError if SQLite cannot hold it exactly. */
export function toSqlite(codec: ColumnCodec, wire: Wire): SqliteValue {
  return wire === null ? null : handlerOf(codec).toSqlite(wire, codec);
}

/**
 * Semantic equality of two wire values (Postgres text is accepted too): '12.50' equals '12.5',
 * timestamps are equal at millisecond precision, JSON ignores key order. Never throws: a value
 * the family cannot parse is only equal to the identical string.
 */
export function same(family: FamilyRef, a: Wire, b: Wire): boolean {
  if (a === null || b === null) return a === b;
  if (a === b) return true;
  return orElse(() => handlerOf(family).same(a, b), false);
}

/** Orders two values of an updated_at/version column for last-writer-wins; null is oldest. */
export function compareVersion(family: FamilyRef, a: Wire, b: Wire): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const textOrder = a < b ? -1 : a > b ? 1 : 0;
  return orElse(() => handlerOf(family).compare(a, b), textOrder);
}
