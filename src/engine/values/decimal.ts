import { ValueError, order } from './value-error.ts';

/**
 * Exact decimal arithmetic on strings. Numeric values must never pass through a JS number: a
 * double keeps ~15 significant digits and would silently round Postgres NUMERIC values.
 */

/** A finite decimal with its exponent applied: `int` has no leading zeros ('' means 0). */
export interface Decimal {
  negative: boolean;
  int: string;
  /** Fraction digits exactly as given, trailing zeros kept (they carry the scale). */
  frac: string;
}

export type Special = 'NaN' | 'Infinity' | '-Infinity';

const LITERAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const SPECIAL = /^(?:(nan)|([+-]?)inf(?:inity)?)$/i;

// Postgres NUMERIC limits: 131072 digits before the point, 16383 after. Anything larger cannot be
// stored, and checking early stops '1e999999999' from building a gigabyte string.
const MAX_INT_DIGITS = 131_072;
const MAX_FRAC_DIGITS = 16_383;

/** Parses a decimal literal (sign, digits, fraction, exponent); undefined if not one. */
export function parseDecimal(text: string): Decimal | undefined {
  const match = LITERAL.exec(text);
  if (match === null) return undefined;
  const [, sign = '', int = '', frac = '', exponent = '0'] = match;
  if (int === '' && frac === '') return undefined;
  return applyExponent(sign === '-', int, frac, Number(exponent));
}

/** Moves the decimal point by `exponent` places, keeping every given digit (so scale is kept). */
function applyExponent(negative: boolean, int: string, frac: string, exponent: number): Decimal | undefined {
  if (Math.abs(exponent) > MAX_INT_DIGITS + MAX_FRAC_DIGITS) return undefined;
  const digits = int + frac;
  const point = int.length + exponent;
  let intPart: string;
  let fracPart: string;
  if (point <= 0) {
    intPart = '';
    fracPart = '0'.repeat(-point) + digits;
  } else if (point >= digits.length) {
    intPart = digits + '0'.repeat(point - digits.length);
    fracPart = '';
  } else {
    intPart = digits.slice(0, point);
    fracPart = digits.slice(point);
  }
  intPart = intPart.replace(/^0+/, '');
  if (intPart.length > MAX_INT_DIGITS || fracPart.length > MAX_FRAC_DIGITS) return undefined;
  return { negative, int: intPart, frac: fracPart };
}

/** 'NaN' | 'Infinity' | '-Infinity' for Postgres's spellings (nan, inf, +infinity, ...). */
export function parseSpecial(text: string): Special | undefined {
  const match = SPECIAL.exec(text);
  if (match === null) return undefined;
  if (match[1] !== undefined) return 'NaN';
  return match[2] === '-' ? '-Infinity' : 'Infinity';
}

/** Plain positional text ('0.0000001', never '1e-7'); a zero never carries a minus sign. */
export function formatDecimal(d: Decimal): string {
  const isZero = /^0*$/.test(d.int + d.frac);
  const sign = d.negative && !isZero ? '-' : '';
  return sign + (d.int === '' ? '0' : d.int) + (d.frac === '' ? '' : `.${d.frac}`);
}

/** The exact value of a JS number as plain decimal text (1e21 -> '1000000000000000000000'). */
export function decimalOfNumber(n: number): Decimal {
  // String(n) is the shortest text that round-trips to n, so it is the value SQLite holds.
  const parsed = parseDecimal(String(n));
  if (parsed === undefined || !Number.isFinite(n)) throw new ValueError(`${n} is not a finite number`);
  return parsed;
}

export function plainNumberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  return formatDecimal(decimalOfNumber(n));
}

/** Compares two numeric texts exactly. Order: -Infinity < finite < Infinity < NaN (as Postgres). */
export function compareDecimalText(a: string, b: string): number {
  const x = rankOf(a);
  const y = rankOf(b);
  if (x.tier !== y.tier) return order(x.tier, y.tier);
  return x.value === undefined || y.value === undefined ? 0 : compareFinite(x.value, y.value);
}

function rankOf(text: string): { tier: number; value?: Decimal } {
  const special = parseSpecial(text.trim());
  if (special === '-Infinity') return { tier: -1 };
  if (special === 'Infinity') return { tier: 1 };
  if (special === 'NaN') return { tier: 2 };
  const value = parseDecimal(text.trim());
  if (value === undefined) throw new ValueError(`${JSON.stringify(text)} is not a decimal number`);
  return { tier: 0, value };
}

function compareFinite(a: Decimal, b: Decimal): number {
  const x = canonical(a);
  const y = canonical(b);
  if (x.negative !== y.negative) return x.negative ? -1 : 1;
  const magnitude = compareMagnitude(x, y);
  return x.negative ? 0 - magnitude : magnitude; // not -magnitude, which can be -0
}

/** Drops trailing fraction zeros and the sign of zero, so equal values have equal parts. */
function canonical(d: Decimal): Decimal {
  const frac = d.frac.replace(/0+$/, '');
  const isZero = d.int === '' && frac === '';
  return { negative: d.negative && !isZero, int: d.int, frac };
}

function compareMagnitude(a: Decimal, b: Decimal): number {
  // int has no leading zeros, so a longer integer part is a larger number.
  if (a.int.length !== b.int.length) return order(a.int.length, b.int.length);
  if (a.int !== b.int) return order(a.int, b.int);
  const width = Math.max(a.frac.length, b.frac.length);
  return order(a.frac.padEnd(width, '0'), b.frac.padEnd(width, '0'));
}
