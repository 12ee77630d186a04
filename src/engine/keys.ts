import type { Wire } from './values/codec.ts';

/**
 * A row's shared identity is the list of its key columns' wire values; as a string it is their
 * JSON array. Both sides encode keys this way, so keys from the Postgres change log, the SQLite
 * change log and fetched rows compare as plain strings.
 */
export type Key = string[];

export function keyString(key: readonly string[]): string {
  return JSON.stringify(key);
}

export function parseKey(text: string): Key {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error(`not a key: ${text}`);
  return parsed.map((v) => (v === null ? '' : String(v)));
}

/** `ord_001`, or `(o1, 2)` for a composite key: how keys appear in reports. */
export function displayKey(key: readonly Wire[]): string {
  return key.length === 1 ? String(key[0]) : `(${key.map(String).join(', ')})`;
}
