import type { ColumnCodec, Family, SqliteScalar, TemporalForm } from './types.ts';
import { DAY_MS, MAX_MS, MIN_MS, civilOf, clockText, dateText, daysInMonth, midnightMs, pad } from './calendar.ts';
import { type Decimal, decimalOfNumber, parseDecimal } from './decimal.ts';
import { OFFSET_PATTERN, parseOffset } from './offset.ts';
import { rejectValue } from './value-error.ts';

/**
 * Instants for timestamptz, timestamp and date. Postgres keeps microseconds, SQLite applications
 * milliseconds, so an instant is whole epoch milliseconds plus the microseconds below them.
 */
export interface Stamp {
  /** Epoch milliseconds, floored; ±Infinity for Postgres 'infinity' / '-infinity'. */
  ms: number;
  /** Microseconds within the millisecond, 0-999. */
  us: number;
}

type TemporalFamily = 'timestamptz' | 'timestamp' | 'date';

// Years past 9999 (Postgres writes them with five or six digits) parse, so that they are refused
// for what they are: outside the range ISO text with four-digit years can hold.
const DATE_TIME = new RegExp(
  '^(\\d{4,6})-(\\d{2})-(\\d{2})' + // date
    '(?:[T ](\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d{1,9}))?)?' + // optional time, fraction
    `(${OFFSET_PATTERN})?)?$`, // optional zone, only after a time
);
const INFINITY = /^([+-]?)infinity$/i;

/**
 * Parses ISO 8601 / SQLite / Postgres date-time text into an instant. No zone means UTC; a zone
 * converts to UTC. Fraction digits beyond microseconds are truncated. Every field is validated.
 */
export function parseDateTime(text: string, family: Family): Stamp {
  const trimmed = text.trim();
  const infinite = INFINITY.exec(trimmed);
  if (infinite !== null) return { ms: infinite[1] === '-' ? -Infinity : Infinity, us: 0 };
  const match = DATE_TIME.exec(trimmed);
  if (match === null) throw rejectValue(family, text, 'not an ISO 8601 date/time');
  const [, y = '', mo = '', d = '', h = '0', mi = '0', s = '0', fraction = '', zone] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number, number, number, number, number, number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw rejectValue(family, text, 'no such date');
  }
  if (hour > 23 || minute > 59 || second > 59) throw rejectValue(family, text, 'no such time');
  const offsetSeconds = zone === undefined ? 0 : offsetOrReject(zone, family, text);
  const micros = fraction.padEnd(6, '0').slice(0, 6);
  const ms =
    midnightMs(year, month, day) +
    ((hour * 60 + minute) * 60 + second - offsetSeconds) * 1000 +
    Number(micros.slice(0, 3));
  return inRange({ ms, us: Number(micros.slice(3)) }, family, text);
}

function offsetOrReject(zone: string, family: Family, text: string): number {
  try {
    return parseOffset(zone);
  } catch {
    throw rejectValue(family, text, 'bad UTC offset');
  }
}

function inRange(stamp: Stamp, family: Family, original: unknown): Stamp {
  // Written so that NaN (a year past what Date can hold, e.g. 294276) is refused as well.
  if (!(stamp.ms >= MIN_MS && stamp.ms <= MAX_MS)) throw rejectValue(family, original, 'outside years 0001-9999');
  return stamp;
}

/**
 * Epoch seconds or milliseconds. An explicit epoch form decides the unit; otherwise a magnitude
 * of 1e11 or more means milliseconds (1e11 s is year 5138, 1e11 ms is 1973).
 */
function epochUnit(value: bigint | number, form: TemporalForm | undefined): 's' | 'ms' {
  if (form === 'epoch-s') return 's';
  if (form === 'epoch-ms') return 'ms';
  const large = typeof value === 'bigint' ? value >= 10n ** 11n || value <= -(10n ** 11n) : Math.abs(value) >= 1e11;
  return large ? 'ms' : 's';
}

/** Exact conversion of an epoch decimal to microseconds: no float multiplication, no rounding. */
function epochDecimalToStamp(dec: Decimal, unit: 's' | 'ms', family: Family, original: unknown): Stamp {
  const places = unit === 's' ? 6 : 3; // fraction digits that are whole microseconds
  const kept = dec.frac.padEnd(places, '0').slice(0, places);
  const dropped = /[1-9]/.test(dec.frac.slice(places));
  let micros = BigInt((dec.int === '' ? '0' : dec.int) + kept);
  // Truncate towards the past, as for positive values, so ordering is preserved.
  if (dec.negative) micros = -micros - (dropped ? 1n : 0n);
  if (micros < BigInt(MIN_MS) * 1000n || micros > BigInt(MAX_MS) * 1000n + 999n) {
    throw rejectValue(family, original, 'outside years 0001-9999');
  }
  const ms = micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n);
  return { ms: Number(ms), us: Number(micros - ms * 1000n) };
}

function epochToStamp(value: bigint | number, form: TemporalForm | undefined, family: Family): Stamp {
  if (typeof value === 'number' && !Number.isFinite(value)) throw rejectValue(family, value, 'not a finite epoch');
  const dec: Decimal =
    typeof value === 'bigint'
      ? { negative: value < 0n, int: (value < 0n ? -value : value).toString(), frac: '' }
      : decimalOfNumber(value);
  return epochDecimalToStamp(dec, epochUnit(value, form), family, value);
}

const isEpochForm = (form: TemporalForm | undefined): boolean => form === 'epoch-s' || form === 'epoch-ms';

/** A SQLite value (text, or an epoch number) as an instant. */
export function stampFromSqlite(value: SqliteScalar, codec: ColumnCodec, family: TemporalFamily): Stamp {
  if (typeof value === 'bigint' || typeof value === 'number') return epochToStamp(value, codec.form, family);
  if (typeof value !== 'string') throw rejectValue(family, value, 'expected text or an epoch number');
  // An epoch column declared TEXT stores digits as text; read them exactly, not via Number.
  const dec = isEpochForm(codec.form) ? parseDecimal(value.trim()) : undefined;
  if (dec !== undefined) return epochDecimalToStamp(dec, codec.form === 'epoch-s' ? 's' : 'ms', family, value);
  return parseDateTime(value, family);
}

const isInfinite = (stamp: Stamp): boolean => !Number.isFinite(stamp.ms);
const infinityText = (stamp: Stamp): string => (stamp.ms > 0 ? 'infinity' : '-infinity');

/** Wire text: 'YYYY-MM-DDTHH:MM:SS.ffffff' plus 'Z' for timestamptz. */
export function formatWireTimestamp(stamp: Stamp, zoned: boolean): string {
  if (isInfinite(stamp)) return infinityText(stamp);
  const c = civilOf(stamp.ms);
  const micros = pad(c.millisecond * 1000 + stamp.us, 6);
  return `${dateText(c)}T${clockText(c)}.${micros}${zoned ? 'Z' : ''}`;
}

/** Wire text for a date: 'YYYY-MM-DD'. */
export function formatWireDate(stamp: Stamp): string {
  return isInfinite(stamp) ? infinityText(stamp) : dateText(civilOf(stamp.ms));
}

/** Throws unless the instant is exactly midnight UTC: a date column cannot hold a time of day. */
export function requireMidnight(stamp: Stamp, original: unknown): Stamp {
  const timeOfDay = ((stamp.ms % DAY_MS) + DAY_MS) % DAY_MS;
  if (!isInfinite(stamp) && (timeOfDay !== 0 || stamp.us !== 0)) {
    throw rejectValue('date', original, 'has a time of day');
  }
  return stamp;
}

/**
 * The instant in the SQLite column's storage form, at millisecond precision (microseconds are
 * truncated: SQLite applications keep milliseconds).
 */
export function stampToSqlite(stamp: Stamp, form: TemporalForm, family: Family): SqliteScalar {
  if (isInfinite(stamp)) {
    if (isEpochForm(form)) throw rejectValue(family, infinityText(stamp), 'no epoch number for infinity');
    return infinityText(stamp);
  }
  const c = civilOf(stamp.ms);
  const seconds = `${dateText(c)}T${clockText(c)}`;
  const millis = pad(c.millisecond, 3);
  switch (form) {
    case 'iso-ms-z':
      return `${seconds}.${millis}Z`;
    case 'iso-ms':
      return `${seconds}.${millis}`;
    case 'sqlite-datetime':
      return `${dateText(c)} ${clockText(c)}${c.millisecond === 0 ? '' : `.${millis}`}`;
    case 'epoch-ms':
      return BigInt(stamp.ms);
    case 'epoch-s':
      // Whole seconds stay integers; otherwise ms / 1000 is the double nearest the exact decimal.
      return stamp.ms % 1000 === 0 ? BigInt(stamp.ms / 1000) : stamp.ms / 1000;
  }
}

/** Date columns: only the epoch forms differ from the plain 'YYYY-MM-DD' text. */
export function dateToSqlite(stamp: Stamp, form: TemporalForm | undefined): SqliteScalar {
  if (!isEpochForm(form)) return formatWireDate(stamp);
  if (isInfinite(stamp)) throw rejectValue('date', infinityText(stamp), 'no epoch number for infinity');
  return form === 'epoch-ms' ? BigInt(stamp.ms) : BigInt(stamp.ms / 1000);
}

/** Orders instants at millisecond precision, the precision both databases share. */
export function compareAtMs(a: Stamp, b: Stamp): number {
  return a.ms < b.ms ? -1 : a.ms > b.ms ? 1 : 0;
}
