import type { ColumnCodec, SqliteValue } from './types.ts';
import { fromPg, toSqlite } from './codec.ts';
import { isPlainDecimal } from './numeric.ts';
import { fastPgTimestamptzToWire } from './timestamp-fast.ts';
import { isCanonicalUuid } from './uuid.ts';

/**
 * One column's converter from Postgres text output straight to the value SQLite binds: exactly
 * `toSqlite(codec, fromPg(codec, text))`, including its ValueError for a value SQLite cannot hold,
 * with shortcuts for the spellings Postgres prints for nearly every value (a first pull converts
 * millions). A shortcut answers only for text in its exact form and returns what the composition
 * returns; anything else goes through the composition. test/unit/values-pg-to-sqlite.test.ts
 * holds the two side by side.
 */
export type PgToSqlite = (text: string | null) => SqliteValue;

export function pgToSqlite(codec: ColumnCodec): PgToSqlite {
  const general = (text: string | null): SqliteValue => toSqlite(codec, fromPg(codec, text));
  const textual = codec.affinity === 'TEXT' || codec.affinity === 'BLOB';
  const fast = shortcut(codec, textual);
  if (fast === undefined) return general;
  return (text) => (text === null ? null : (fast(text) ?? general(text)));
}

/** The family's shortcut for the codec, or undefined when it has none. Returns undefined to decline. */
function shortcut(codec: ColumnCodec, textual: boolean): ((text: string) => SqliteValue | undefined) | undefined {
  switch (codec.family) {
    // Text moves untouched when SQLite stores it as text (keepsTextSpelling holds for TEXT/BLOB).
    case 'text':
    case 'other':
      return textual ? (text) => text : undefined;
    case 'uuid':
      return codec.affinity === 'BLOB' ? undefined : (text) => (isCanonicalUuid(text) ? text : undefined);
    // 'true'/'false' from bool::text, 't'/'f' from the bool output function.
    case 'bool':
      if (codec.affinity === 'TEXT') return (text) => (text === 'true' || text === 't' ? 'true' : text === 'false' || text === 'f' ? 'false' : undefined);
      return (text) => (text === 'true' || text === 't' ? 1n : text === 'false' || text === 'f' ? 0n : undefined);
    case 'int':
      // Up to 15 digits: inside int64, and exact as a double (for a REAL column).
      return (text) => (isCanonicalInt(text, 15) ? (codec.affinity === 'TEXT' ? text : BigInt(text)) : undefined);
    case 'numeric':
      return textual ? (text) => (isPlainDecimal(text) ? text : undefined) : undefined;
    case 'timestamptz':
      return (codec.form ?? 'iso-ms-z') === 'iso-ms-z' ? pgUtcStampToIsoMsZ : undefined;
    default:
      return undefined;
  }
}

/** '0', or an optional '-' and 1..maxDigits digits without a leading zero. */
function isCanonicalInt(s: string, maxDigits: number): boolean {
  const start = s.charCodeAt(0) === 45 ? 1 : 0;
  const digits = s.length - start;
  if (digits < 1 || digits > maxDigits) return false;
  if (s.charCodeAt(start) === 48) return digits === 1 && start === 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Postgres UTC timestamptz text → the 'iso-ms-z' SQLite form ('2026-11-24T01:18:19.123Z'): the
 * wire form (timestamp-fast.ts) cut to milliseconds, as timestampHandler does.
 */
function pgUtcStampToIsoMsZ(text: string): string | undefined {
  const wire = fastPgTimestamptzToWire(text);
  return wire === undefined ? undefined : `${wire.slice(0, 23)}Z`;
}
