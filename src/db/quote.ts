/**
 * Identifier and literal quoting: the one place where names from the config become SQL.
 * Config supplies table and column names, so this is a security boundary (test/unit/quote.test.ts
 * throws hostile names at it). Both dialects double the quote character; NUL can never appear.
 */
function assertUsable(name: string, what: string): void {
  if (name.length === 0) throw new Error(`empty ${what}`);
  if (name.includes('\u0000')) throw new Error(`${what} contains a NUL character`);
}

/** "name" for PostgreSQL. */
export function pgIdent(name: string): string {
  assertUsable(name, 'identifier');
  return `"${name.replace(/"/g, '""')}"`;
}

/** "schema"."table" for PostgreSQL. */
export function pgTable(schema: string, table: string): string {
  return `${pgIdent(schema)}.${pgIdent(table)}`;
}

/** 'text' for PostgreSQL (standard_conforming_strings, the default since 9.1). */
export function pgLiteral(value: string): string {
  assertUsable(value, 'literal');
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * A data value (a key, a scope value) as a PostgreSQL literal, for statements that take no
 * parameters (COPY … TO STDOUT). Unlike pgLiteral it is right whatever standard_conforming_strings
 * says: an E'' string with backslashes doubled as well as quotes, so a value ending in a backslash
 * cannot close the literal on a server where the setting is off. The empty string is a value here.
 */
export function pgValueLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('literal contains a NUL character');
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** "name" for SQLite. */
export function sqliteIdent(name: string): string {
  assertUsable(name, 'identifier');
  return `"${name.replace(/"/g, '""')}"`;
}

/** 'text' for SQLite. */
export function sqliteLiteral(value: string): string {
  assertUsable(value, 'literal');
  return `'${value.replace(/'/g, "''")}'`;
}
