import type { FamilyHandler } from './types.ts';
import {
  compareAtMs,
  dateToSqlite,
  formatWireDate,
  formatWireTimestamp,
  parseDateTime,
  requireMidnight,
  stampFromSqlite,
  stampToSqlite,
} from './temporal.ts';
import { orElse } from './value-error.ts';
import { fastIsoMsZToWire, fastPgTimestamptzToWire, isWireTimestamptz } from './timestamp-fast.ts';

/**
 * timestamptz and timestamp share everything but the wire's trailing 'Z': a timestamp's wall
 * time is read as UTC, and a SQLite string carrying an offset is converted to UTC wall time.
 * Equality and ordering use milliseconds, the precision both sides keep.
 */
export function timestampHandler(family: 'timestamptz' | 'timestamp'): FamilyHandler {
  const zoned = family === 'timestamptz';
  const defaultForm = zoned ? 'iso-ms-z' : 'iso-ms';
  const parse = (text: string) => parseDateTime(text, family);
  // Canonical wire timestamptz values compare at millisecond precision as plain text: the first
  // 23 characters are the instant to the millisecond, in a fixed-width, zero-padded spelling.
  const compare = (a: string, b: string) => {
    if (zoned && isWireTimestamptz(a) && isWireTimestamptz(b)) {
      const x = a.slice(0, 23);
      const y = b.slice(0, 23);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return compareAtMs(parse(a), parse(b));
  };
  return {
    // Text we cannot normalise (BC dates, years past 9999) is Postgres's own valid input: keep it.
    fromPg: (text) => (zoned ? fastPgTimestamptzToWire(text) : undefined) ?? orElse(() => formatWireTimestamp(parse(text), zoned), text),
    fromSqlite: (value, codec) =>
      (zoned && typeof value === 'string' && codec.form !== 'epoch-ms' && codec.form !== 'epoch-s' ? fastIsoMsZToWire(value) : undefined) ??
      formatWireTimestamp(stampFromSqlite(value, codec, family), zoned),
    toSqlite: (wire, codec) => {
      const form = codec.form ?? defaultForm;
      if (zoned && form === 'iso-ms-z' && isWireTimestamptz(wire)) return `${wire.slice(0, 23)}Z`;
      return stampToSqlite(parse(wire), form, family);
    },
    same: (a, b) => compare(a, b) === 0,
    compare,
  };
}

const parseDate = (text: string) => requireMidnight(parseDateTime(text, 'date'), text);

/** date: an instant that must be midnight UTC; epoch storage is seconds/ms of that midnight. */
export const dateHandler: FamilyHandler = {
  fromPg: (text) => orElse(() => formatWireDate(parseDate(text)), text),
  fromSqlite: (value, codec) => formatWireDate(requireMidnight(stampFromSqlite(value, codec, 'date'), value)),
  toSqlite: (wire, codec) => dateToSqlite(parseDate(wire), codec.form),
  same: (a, b) => compareAtMs(parseDate(a), parseDate(b)) === 0,
  compare: (a, b) => compareAtMs(parseDate(a), parseDate(b)),
};
