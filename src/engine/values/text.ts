import { TextDecoder } from 'node:util';
import type { FamilyHandler, SqliteScalar } from './types.ts';
import { keepsTextSpelling } from './storage.ts';
import { rejectValue } from './value-error.ts';

/**
 * text-like columns (text, varchar, char, citext, name) and 'other' (enums and unknown types,
 * passed through as their text). Strings are moved untouched; only what Postgres or UTF-8
 * cannot hold is refused.
 */

// fatal: invalid UTF-8 is an error, not U+FFFD. ignoreBOM: keep a leading BOM, byte-exact.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// A lone UTF-16 surrogate has no UTF-8 encoding; the driver would replace it with U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Returns `text` if Postgres can store it exactly: no NUL (text cannot hold it), valid UTF-16. */
export function checkPgText(text: string, family: string): string {
  if (text.includes('\u0000')) throw rejectValue(family, text, 'Postgres text cannot contain NUL');
  if (LONE_SURROGATE.test(text)) throw rejectValue(family, text, 'unpaired UTF-16 surrogate');
  return text;
}

export function decodeUtf8(bytes: Uint8Array, family: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw rejectValue(family, bytes, 'not valid UTF-8');
  }
}

function textFromSqlite(value: SqliteScalar, family: string): string {
  if (typeof value === 'string') return checkPgText(value, family);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return String(value);
  return checkPgText(decodeUtf8(value, family), family);
}

/** Handler for 'text' and 'other': pass-through both ways, equality by string. */
export function textHandler(family: 'text' | 'other'): FamilyHandler {
  return {
    fromPg: (text) => text,
    fromSqlite: (value) => textFromSqlite(value, family),
    toSqlite(wire, codec) {
      if (!keepsTextSpelling(wire, codec.affinity)) {
        throw rejectValue(family, wire, `a SQLite ${codec.affinity} column would store it as a number`);
      }
      return wire;
    },
    same: (a, b) => a === b,
    compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  };
}
