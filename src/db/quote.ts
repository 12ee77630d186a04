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
