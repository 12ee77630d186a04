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

/**
 * timestamptz and timestamp share everything but the wire's trailing 'Z': a timestamp's wall
 * time is read as UTC, and a SQLite string carrying an offset is converted to UTC wall time.
 * Equality and ordering use milliseconds, the precision both sides keep.
 */
export function timestampHandler(family: 'timestamptz' | 'timestamp'): FamilyHandler {
  const zoned = family === 'timestamptz';
  const defaultForm = zoned ? 'iso-ms-z' : 'iso-ms';
  const parse = (text: string) => parseDateTime(text, family);
  return {
    // Text we cannot normalise (BC dates, years past 9999) is Postgres's own valid input: keep it.
    fromPg: (text) => orElse(() => formatWireTimestamp(parse(text), zoned), text),
    fromSqlite: (value, codec) => formatWireTimestamp(stampFromSqlite(value, codec, family), zoned),
    toSqlite: (wire, codec) => stampToSqlite(parse(wire), codec.form ?? defaultForm, family),
    same: (a, b) => compareAtMs(parse(a), parse(b)) === 0,
    compare: (a, b) => compareAtMs(parse(a), parse(b)),
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
