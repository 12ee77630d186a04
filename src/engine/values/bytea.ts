import type { FamilyHandler, SqliteScalar } from './types.ts';
import { checkPgText } from './text.ts';
import { ValueError, rejectValue } from './value-error.ts';

/** bytea. The wire is Postgres's hex format, '\x' followed by lowercase hex, two digits a byte. */
const HEX_FORMAT = /^\\x((?:[0-9a-fA-F]{2})*)$/;

function hexWire(bytes: Uint8Array): string {
  return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

function byteaFromSqlite(value: SqliteScalar): string {
  if (value instanceof Uint8Array) return hexWire(value);
  if (typeof value === 'string') {
    // Text already in hex format was written by a tool that knew about bytea; anything else is
    // the string's UTF-8 bytes (a lone surrogate would be encoded as U+FFFD, so refuse it).
    if (HEX_FORMAT.test(value)) return value.toLowerCase();
    return hexWire(Buffer.from(checkPgText(value, 'bytea'), 'utf8'));
  }
  throw rejectValue('bytea', value, 'expected a blob');
}

function wireBytes(wire: string): Buffer {
  const match = HEX_FORMAT.exec(wire);
  // Buffer.from(_, 'hex') stops silently at the first bad digit, hence the regex first.
  if (match === null) throw new ValueError(`${JSON.stringify(wire.slice(0, 40))} is not bytea hex text`);
  return Buffer.from(match[1] ?? '', 'hex');
}

export const byteaHandler: FamilyHandler = {
  fromPg: (text) => (HEX_FORMAT.test(text) ? text.toLowerCase() : text),
  fromSqlite: byteaFromSqlite,
  toSqlite: wireBytes,
  same: (a, b) => wireBytes(a).equals(wireBytes(b)),
  compare: (a, b) => Buffer.compare(wireBytes(a), wireBytes(b)),
};
