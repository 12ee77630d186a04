import type { FamilyHandler, SqliteScalar } from './types.ts';
import { ValueError, order, rejectValue } from './value-error.ts';

/** Spellings SQLite applications use for booleans; Postgres itself prints 't'/'f'. */
const TRUE_WORDS = new Set(['true', 't', '1', 'yes', 'y']);
const FALSE_WORDS = new Set(['false', 'f', '0', 'no', 'n']);

/** true/false for an accepted spelling (case-insensitive, trimmed), else undefined. */
export function parseBoolText(text: string): boolean | undefined {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

function boolFromSqlite(value: SqliteScalar): boolean {
  if (typeof value === 'bigint' || typeof value === 'number') {
    // Only 0 and 1: treating 2 or -1 as true would make the round trip rewrite the value.
    if (value === 0 || value === 0n) return false;
    if (value === 1 || value === 1n) return true;
    throw rejectValue('bool', value, 'only 0 and 1 are booleans');
  }
  if (typeof value === 'string') {
    const parsed = parseBoolText(value);
    if (parsed === undefined) throw rejectValue('bool', value, 'not a boolean');
    return parsed;
  }
  throw rejectValue('bool', value);
}

function wireBool(wire: string): boolean {
  const parsed = parseBoolText(wire);
  if (parsed === undefined) throw new ValueError(`${JSON.stringify(wire)} is not boolean text`);
  return parsed;
}

export const boolHandler: FamilyHandler = {
  fromPg: (text) => {
    const parsed = parseBoolText(text);
    return parsed === undefined ? text : String(parsed);
  },
  fromSqlite: (value) => String(boolFromSqlite(value)),
  toSqlite(wire, codec) {
    const value = wireBool(wire);
    if (codec.affinity === 'TEXT') return String(value);
    return value ? 1n : 0n;
  },
  same: (a, b) => wireBool(a) === wireBool(b),
  compare: (a, b) => order(Number(wireBool(a)), Number(wireBool(b))),
};
