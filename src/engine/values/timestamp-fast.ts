import { daysInMonth } from './calendar.ts';

/**
 * Fast paths for the spellings that make up nearly all real data, so bulk loads do not pay for
 * general ISO parsing per value. Each returns undefined when the text is not in its exact form,
 * and the caller then takes the general path, so behaviour is identical either way.
 */

// 2026-11-24T01:18:19.123Z (JavaScript's toISOString, the common SQLite form)
const ISO_MS_Z = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/;
// 2026-11-24 01:18:19.123456+00 (Postgres' timestamptz output in UTC). No capture groups: it
// runs once per value of a bulk pull, and test() then allocates nothing.
const PG_TSTZ = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?\+00$/;
// 2026-11-24T01:18:19.123456Z (the wire form itself)
const WIRE_TSTZ = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function valid(y: string, mo: string, d: string, h: string, mi: string, s: string): boolean {
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && Number(h) <= 23 && Number(mi) <= 59 && Number(s) <= 59;
}

/** SQLite 'YYYY-MM-DDTHH:MM:SS.sssZ' → wire, or undefined. */
export function fastIsoMsZToWire(text: string): string | undefined {
  const m = ISO_MS_Z.exec(text);
  if (m === null || !valid(m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!)) return undefined;
  return `${text.slice(0, 23)}000Z`;
}

/** Postgres timestamptz text in UTC → wire, or undefined. */
export function fastPgTimestamptzToWire(text: string): string | undefined {
  if (!PG_TSTZ.test(text) || text.startsWith('0000')) return undefined;
  // The fraction (1 to 6 digits) sits between the seconds and '+00'.
  const fraction = text.length > 22 ? text.slice(20, -3) : '';
  return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction}${'000000'.slice(fraction.length)}Z`;
}

/** True for a wire timestamptz in its exact canonical spelling. */
export function isWireTimestamptz(text: string): boolean {
  return WIRE_TSTZ.test(text);
}
