import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { pgIdent, pgLiteral, pgTable, sqliteIdent, sqliteLiteral } from '../../src/db/quote.ts';

const HOSTILE = [
  'plain',
  'Mixed Case',
  'has"quote',
  '"; DROP TABLE users; --',
  "it's",
  'semi;colon',
  'back\\slash',
  'tab\tname',
  'new\nline',
  'ünïcødé_名前_🎉',
  '""',
  ' leading and trailing ',
];

describe('identifier quoting (a security boundary: names come from the config)', () => {
  it.each(HOSTILE)('SQLite: a table and column named %j round-trip and cannot break out', (name) => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE ${sqliteIdent(name)} (${sqliteIdent(name)} TEXT)`);
    db.prepare(`INSERT INTO ${sqliteIdent(name)} (${sqliteIdent(name)}) VALUES (${sqliteLiteral(name)})`).run();
    const tables = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).all() as { name: string }[];
    expect(tables).toEqual([{ name }]);
    expect(db.prepare(`SELECT ${sqliteIdent(name)} AS v FROM ${sqliteIdent(name)}`).get()).toEqual({ v: name });
    db.close();
  });

  it('Postgres quoting doubles quotes and wraps the whole name', () => {
    expect(pgIdent('a"b')).toBe('"a""b"');
    expect(pgIdent('"; DROP TABLE x; --')).toBe('"""; DROP TABLE x; --"');
    expect(pgTable('my schema', 'my"table')).toBe('"my schema"."my""table"');
    expect(pgLiteral("it's")).toBe("'it''s'");
  });

  it('rejects names that can never be safe', () => {
    expect(() => pgIdent('')).toThrow();
    expect(() => pgIdent('a\u0000b')).toThrow();
    expect(() => sqliteIdent('a\u0000b')).toThrow();
    expect(() => pgLiteral('a\u0000b')).toThrow();
  });
});
