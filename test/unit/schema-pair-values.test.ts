import { describe, expect, it } from 'vitest';
import { toSqlite } from '../../src/engine/values/codec.ts';
import { pgAddColumn } from '../../src/engine/verify/ddl.ts';
import type { SqliteColumn } from '../../src/db/sqlite/introspect.ts';

describe('a timestamp past year 9999 from Postgres', () => {
  it.each(['10000-01-01 00:00:00+00', '294276-12-31 23:59:59.999999+00'])('%s is refused as out of range, not as unreadable', (pg) => {
    expect(() => toSqlite({ family: 'timestamptz', affinity: 'TEXT', form: 'iso-ms-z' }, pg)).toThrow(/outside years 0001-9999/);
  });
});

describe('verify-schemas: the Postgres column suggested for a terminal column', () => {
  const col = (declaredType: string): SqliteColumn => ({ name: 'C', declaredType, notNull: false, defaultValue: null, pkPosition: 0, generated: false });
  it.each([
    ['DATE', 'date'],
    ['DATETIME', 'timestamp(3)'],
    ['timestamp', 'timestamp(3)'],
    ['BOOLEAN', 'boolean'],
    ['NUMERIC', 'numeric'],
    ['DECIMAL(10,2)', 'numeric'],
    ['INTEGER', 'bigint'],
    ['NVARCHAR(40)', 'text'],
    ['', 'bytea'],
  ])('%s -> %s', (declared, pg) => {
    expect(pgAddColumn('public', 't', col(declared), 'c')).toBe(`ALTER TABLE "public"."t" ADD COLUMN "c" ${pg};`);
  });
});
