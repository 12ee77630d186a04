import type { FamilyHandler, SqliteScalar } from './types.ts';
import { compareDecimalText, formatDecimal, parseDecimal, parseSpecial, plainNumberText } from './decimal.ts';
import { keepsNumericValue } from './storage.ts';
import { ValueError, rejectValue } from './value-error.ts';

/**
 * NUMERIC. The wire keeps the digits it was given, trailing zeros included ('12.50' stays
 * '12.50'), because Postgres derives the value's scale from them. All work is done on strings.
 */

/** Validates numeric text and rewrites it positionally ('1.5e2' -> '150', '+.5' -> '0.5'). */
function numericText(text: string): string | undefined {
  const trimmed = text.trim();
  const special = parseSpecial(trimmed);
  if (special !== undefined) return special;
  const parsed = parseDecimal(trimmed);
  return parsed === undefined ? undefined : formatDecimal(parsed);
}

function numericFromSqlite(value: SqliteScalar): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return plainNumberText(value);
  if (typeof value === 'string') {
    const text = numericText(value);
    if (text === undefined) throw rejectValue('numeric', value, 'not a decimal number');
    return text;
  }
  throw rejectValue('numeric', value);
}

/**
 * Plain decimal text, as Postgres prints nearly every numeric: valid for numericText (far inside
 * its digit limits) without parsing it. A test, not an exec: nothing is allocated per value.
 */
const PLAIN_DECIMAL = /^-?\d{1,1000}(?:\.\d{1,1000})?$/;

/** Optional '-', digits, optionally '.' and digits: numeric text that needs no normalising. */
export function isPlainDecimal(text: string): boolean {
  return PLAIN_DECIMAL.test(text);
}

export const numericHandler: FamilyHandler = {
  fromPg: (text) => text,
  fromSqlite: numericFromSqlite,
  toSqlite(wire, codec) {
    // Returned as text whatever the affinity: TEXT/BLOB columns keep it exactly, and INTEGER,
    // REAL and NUMERIC columns apply SQLite's own text-to-number conversion on insert.
    if (!PLAIN_DECIMAL.test(wire) && numericText(wire) === undefined) throw new ValueError(`${JSON.stringify(wire)} is not numeric text`);
    if (!keepsNumericValue(wire, codec.affinity)) {
      throw rejectValue('numeric', wire, `a SQLite ${codec.affinity} column would round it`);
    }
    return wire;
  },
  same: (a, b) => compareDecimalText(a, b) === 0,
  compare: compareDecimalText,
};
