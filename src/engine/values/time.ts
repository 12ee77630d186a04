import type { FamilyHandler, SqliteScalar } from './types.ts';
import { formatOffset, OFFSET_PATTERN, parseOffset } from './offset.ts';
import { orElse, order, rejectValue } from './value-error.ts';

/**
 * time and timetz. The wire is 'HH:MM:SS', then the fraction as given (at most 6 digits), then
 * the offset in Postgres's spelling ('+05', '+05:30') when there is one.
 */
interface TimeOfDay {
  /** 'HH:MM:SS[.ffffff]' as it will appear on the wire. */
  clock: string;
  /** Microseconds since midnight, for comparison. */
  micros: number;
  /** Seconds east of UTC, or undefined for a time without zone. */
  offset: number | undefined;
}

const TIME = new RegExp(`^(\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d{1,9}))?)?(${OFFSET_PATTERN})?$`);
const MAX_TIMETZ_OFFSET_HOURS = 15; // Postgres rejects larger timetz displacements

function parseTime(text: string): TimeOfDay {
  const match = TIME.exec(text.trim());
  if (match === null) throw rejectValue('time', text, 'not HH:MM[:SS[.fraction]]');
  const [, h = '', m = '', s = '00', fractionGiven, zone] = match;
  // Postgres never prints more than microseconds; longer SQLite fractions are truncated, as for
  // timestamps.
  const fraction = fractionGiven?.slice(0, 6);
  const [hour, minute, second] = [Number(h), Number(m), Number(s)];
  const micros = ((hour * 60 + minute) * 60 + second) * 1e6 + Number((fraction ?? '').padEnd(6, '0'));
  // Postgres accepts 24:00:00 (end of day) but nothing after it.
  const endOfDay = hour === 24 && micros === 24 * 3600 * 1e6;
  if ((hour > 23 && !endOfDay) || minute > 59 || second > 59) throw rejectValue('time', text, 'no such time');
  let offset: number | undefined;
  try {
    offset = zone === undefined ? undefined : parseOffset(zone, MAX_TIMETZ_OFFSET_HOURS);
  } catch {
    throw rejectValue('time', text, 'bad UTC offset');
  }
  const clock = `${h}:${m}:${s}${fraction === undefined ? '' : `.${fraction}`}`;
  return { clock, micros, offset };
}

function formatTime(t: TimeOfDay): string {
  return t.clock + (t.offset === undefined ? '' : formatOffset(t.offset));
}

/**
 * Postgres's timetz order: by the UTC instant, then by offset. A missing offset counts as UTC,
 * as it does for timestamps, so '12:00:00' and '12:00:00+00' are the same value.
 */
function compareTimes(a: TimeOfDay, b: TimeOfDay): number {
  const utc = (t: TimeOfDay): number => t.micros - (t.offset ?? 0) * 1e6;
  return order(utc(a), utc(b)) || order(a.offset ?? 0, b.offset ?? 0);
}

function timeFromSqlite(value: SqliteScalar): string {
  if (typeof value !== 'string') throw rejectValue('time', value, 'expected HH:MM:SS text');
  return formatTime(parseTime(value));
}

export const timeHandler: FamilyHandler = {
  fromPg: (text) => orElse(() => formatTime(parseTime(text)), text),
  fromSqlite: timeFromSqlite,
  toSqlite: (wire) => formatTime(parseTime(wire)),
  same: (a, b) => compareTimes(parseTime(a), parseTime(b)) === 0,
  compare: (a, b) => compareTimes(parseTime(a), parseTime(b)),
};
