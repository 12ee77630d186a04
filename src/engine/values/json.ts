import type { FamilyHandler, SqliteScalar } from './types.ts';
import { jsonEqual, parseJson } from './json-tree.ts';
import { checkPgText } from './text.ts';
import { rejectValue } from './value-error.ts';

/**
 * json/jsonb. Text is kept verbatim (json preserves it; jsonb reformats it on its own), and
 * compared structurally because jsonb hands back sorted keys and its own whitespace.
 */
function jsonFromSqlite(value: SqliteScalar): string {
  if (typeof value === 'string') {
    parseJson(checkPgText(value, 'json')); // validates; the text itself is sent unchanged
    return value;
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw rejectValue('json', value, 'JSON has no NaN or Infinity');
    return String(value);
  }
  // A blob may be SQLite's binary JSONB format, which is not JSON text: refuse to guess.
  throw rejectValue('json', value, 'expected JSON text');
}

export const jsonHandler: FamilyHandler = {
  fromPg: (text) => text,
  fromSqlite: jsonFromSqlite,
  toSqlite: (wire) => wire,
  same: (a, b) => jsonEqual(parseJson(a), parseJson(b)),
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
};
