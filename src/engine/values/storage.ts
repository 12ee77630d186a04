import type { Affinity } from './types.ts';
import { compareDecimalText, parseDecimal, parseSpecial, plainNumberText } from './decimal.ts';

/**
 * Predicts what SQLite does to bound text under a column's affinity. INTEGER, REAL and NUMERIC
 * columns convert text that looks like a number into an INTEGER or REAL (datatype3 §3.1), so the
 * codec refuses a value whose conversion would change it instead of letting it change silently.
 */
const INT64_MAX = 2n ** 63n - 1n;
const CANONICAL_INT = /^(?:0|-?[1-9]\d*)$/; // what bigint.toString() prints

const convertsText = (affinity: Affinity): boolean => affinity !== 'TEXT' && affinity !== 'BLOB';

function isInt64Text(text: string): boolean {
  if (!/^[+-]?\d+$/.test(text)) return false;
  const value = BigInt(text);
  return value <= INT64_MAX && value >= -INT64_MAX - 1n;
}

/**
 * Numeric wire text keeps its value (not necessarily its spelling: '12.50' reads back as 12.5).
 * Integers within int64 stay exact except in REAL columns; everything else becomes a double.
 */
export function keepsNumericValue(wire: string, affinity: Affinity): boolean {
  if (!convertsText(affinity)) return true;
  if (parseSpecial(wire) !== undefined) return true; // not a number to SQLite: stays TEXT
  if (isInt64Text(wire) && affinity !== 'REAL') return true;
  const stored = Number(wire);
  return Number.isFinite(stored) && compareDecimalText(plainNumberText(stored), wire) === 0;
}

/**
 * Text keeps its exact spelling: either SQLite leaves it as text, or the number it becomes reads
 * back (bigint.toString() / String(double)) as the very same string. '12' is safe, '12.0', '007',
 * ' 12' and '1e3' are not.
 */
export function keepsTextSpelling(text: string, affinity: Affinity): boolean {
  if (!convertsText(affinity) || parseDecimal(text.trim()) === undefined) return true;
  if (affinity !== 'REAL' && CANONICAL_INT.test(text) && isInt64Text(text)) return true;
  const stored = Number(text);
  // Integral doubles within int64 are stored as INTEGER by INTEGER/NUMERIC columns: same text.
  return String(stored) === text;
}
