import type { FamilyHandler, SqliteScalar } from './types.ts';
import { ValueError, order, rejectValue } from './value-error.ts';

/**
 * int2/int4/int8. Always BigInt, never Number: int8 values beyond 2^53 would be rounded by a
 * double. The range check is int8's (the widest); a narrower column is checked by Postgres.
 */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const INTEGER = /^[+-]?\d+$/;
// '12.0' is an integer that went through a REAL or a formatter somewhere; accept it.
const INTEGRAL_DECIMAL = /^([+-]?\d+)\.0*$/;

/** Parses integer text ('+7', ' 12 ', '12.00'), or undefined. */
function parseIntText(text: string): bigint | undefined {
  const trimmed = text.trim();
  const digits = INTEGER.test(trimmed) ? trimmed : INTEGRAL_DECIMAL.exec(trimmed)?.[1];
  return digits === undefined ? undefined : BigInt(digits);
}

function checked(value: bigint, original: unknown): bigint {
  if (value < INT64_MIN || value > INT64_MAX) throw rejectValue('int', original, 'outside signed 64-bit range');
  return value;
}

function intFromSqlite(value: SqliteScalar): bigint {
  if (typeof value === 'bigint') return checked(value, value);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw rejectValue('int', value, 'not an integer');
    // BigInt(number) is exact for every integral double; no rounding happens here.
    return checked(BigInt(value), value);
  }
  if (typeof value === 'string') {
    const parsed = parseIntText(value);
    if (parsed === undefined) throw rejectValue('int', value, 'not an integer');
    return checked(parsed, value);
  }
  throw rejectValue('int', value);
}

/** A wire (or Postgres) integer as BigInt; ValueError if it is not integer text. */
export function wireInt(wire: string): bigint {
  const parsed = parseIntText(wire);
  if (parsed === undefined) throw new ValueError(`${JSON.stringify(wire)} is not integer text`);
  return parsed;
}

export const intHandler: FamilyHandler = {
  fromPg: (text) => text,
  fromSqlite: (value) => intFromSqlite(value).toString(),
  toSqlite(wire, codec) {
    const value = checked(wireInt(wire), wire);
    if (codec.affinity === 'TEXT') return value.toString();
    // A REAL column stores integers as doubles; refuse those a double cannot hold exactly.
    if (codec.affinity === 'REAL' && BigInt(Number(value)) !== value) {
      throw rejectValue('int', wire, 'a SQLite REAL column would round it');
    }
    return value;
  },
  same: (a, b) => wireInt(a) === wireInt(b),
  compare: (a, b) => order(wireInt(a), wireInt(b)),
};
