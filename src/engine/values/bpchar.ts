import type { FamilyHandler } from './types.ts';
import { textHandler } from './text.ts';

/**
 * char(n) ("bpchar"). Postgres pads a char(n) value with blanks to n characters, and the blanks
 * mean nothing to it: 'ab' = 'ab   ', and `col::text` (what a pull reads) drops them. So a till
 * value and the cloud's value are the same when they differ only in trailing blanks. Because
 * equality says so, a round trip never shows up as a change, and a pull that writes the row keeps
 * the till's own spelling (padded or not) instead of rewriting it (see keepLocalSpelling).
 *
 * Values move untouched otherwise (the text rules apply); a value longer than n once its
 * trailing blanks are set aside does not fit and is refused (see length.ts).
 */
const text = textHandler('text');

/** The value without trailing blanks (only U+0020: Postgres pads and trims nothing else). */
export function unpadded(value: string): string {
  return value.replace(/ +$/, '');
}

export const bpcharHandler: FamilyHandler = {
  fromPg: text.fromPg,
  fromSqlite: text.fromSqlite,
  toSqlite: text.toSqlite,
  same: (a, b) => unpadded(a) === unpadded(b),
  compare: (a, b) => text.compare(unpadded(a), unpadded(b)),
};
