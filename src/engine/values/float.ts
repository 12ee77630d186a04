import type { FamilyHandler, SqliteScalar } from './types.ts';
import { compareDecimalText, parseSpecial } from './decimal.ts';
import { ValueError, rejectValue } from './value-error.ts';

/**
 * float4/float8. The wire is JS's shortest round-trip text, which Postgres parses back to the
 * same double (it rounds decimal input correctly, as JS does).
 */
const FLOAT_LITERAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses float text strictly; Number() alone would accept '', '0x10' and ' '. */
function parseFloatText(text: string): number | undefined {
  const trimmed = text.trim();
  const special = parseSpecial(trimmed);
  if (special !== undefined) return Number(special);
  return FLOAT_LITERAL.test(trimmed) ? Number(trimmed) : undefined;
}

/** Shortest round-trip text; keeps the sign of -0, which float8 can store. */
function floatText(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

function wireFloat(wire: string): number {
  const n = parseFloatText(wire);
  if (n === undefined) throw new ValueError(`${JSON.stringify(wire)} is not float text`);
  return n;
}

/**
 * A double (float8) holds ~16 significant digits; Postgres would round an integer beyond 2^53 or
 * text with more digits (or beyond the double range) to the nearest double without a word. Such a
 * value is refused instead: a REAL already is a double, so only INTEGER and TEXT storage can differ.
 */
function floatFromSqlite(value: SqliteScalar): string {
  if (typeof value === 'number') return floatText(value);
  if (typeof value === 'bigint') {
    const n = Number(value);
    if (BigInt(n) !== value) throw rejectValue('float', value, `a double would round it to ${floatText(n)}`);
    return floatText(n);
  }
  if (typeof value === 'string') {
    const n = parseFloatText(value);
    if (n === undefined) throw rejectValue('float', value, 'not a number');
    const text = floatText(n);
    const trimmed = value.trim();
    if (parseSpecial(trimmed) === undefined && compareDecimalText(text, trimmed) !== 0) {
      throw rejectValue('float', value, `a double would round it to ${text}`);
    }
    return text;
  }
  throw rejectValue('float', value);
}

/** Postgres ordering: NaN is greater than every other value and equal to itself. */
function compareFloats(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Postgres writes '1.5e-07'; normalise to JS's '1.5e-7' so both sides produce one spelling. */
function normaliseFloatText(text: string): string {
  const n = parseFloatText(text);
  return n === undefined ? text : floatText(n);
}

export const floatHandler: FamilyHandler = {
  fromPg: normaliseFloatText,
  fromSqlite: floatFromSqlite,
  toSqlite(wire, codec) {
    const n = wireFloat(wire);
    // SQLite turns a bound NaN into NULL, and converts a REAL to TEXT with only 15-17 digits of
    // its own formatting; a TEXT column gets our exact text instead.
    if (codec.affinity === 'TEXT') return floatText(n);
    if (Number.isNaN(n)) throw rejectValue('float', wire, 'SQLite stores NaN as NULL');
    return n;
  },
  same: (a, b) => compareFloats(wireFloat(a), wireFloat(b)) === 0,
  compare: (a, b) => compareFloats(wireFloat(a), wireFloat(b)),
};
