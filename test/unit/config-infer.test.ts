import { describe, expect, it } from 'vitest';
import { inferConfig } from '../../src/config/infer.ts';
import type { PgColumn, PgTableInfo } from '../../src/db/postgres/introspect.ts';
import type { SqliteColumn, SqliteTableInfo } from '../../src/db/sqlite/introspect.ts';

const pgCol = (name: string, udt = 'text', extra: Partial<PgColumn> = {}): PgColumn => ({
  name, dataType: udt, udtName: udt, elementUdtName: undefined, castType: udt, declaredType: udt, notNull: false, hasDefault: false, generated: false, identity: undefined, ...extra,
});
const pgTable = (name: string, columns: PgColumn[], primaryKey: string[], refs: Array<[string, string]> = []): PgTableInfo => ({
  schema: 'public', name, columns, primaryKey, uniqueKeys: [], foreignKeys: refs.map(([col, ref]) => ({ name: `${name}_${col}_fkey`, columns: [col], refSchema: 'public', refTable: ref, refColumns: ['id'], deferrable: false })),
});
const sqCol = (name: string, pk = 0, declaredType = 'TEXT'): SqliteColumn => ({ name, declaredType, notNull: false, defaultValue: null, pkPosition: pk, generated: false });
const sqTable = (name: string, columns: SqliteColumn[]): SqliteTableInfo => ({
  name, columns, primaryKey: columns.filter((c) => c.pkPosition > 0).map((c) => c.name), foreignKeys: [], rowidPk: false, withoutRowid: false,
});

describe('inferConfig (possync init)', () => {
  it('guesses localPk/serverIdCol when the terminal keeps its own integer key', () => {
    const pg = new Map([['orders', pgTable('orders', [pgCol('id', 'uuid', { notNull: true }), pgCol('total', 'numeric'), pgCol('updated_at', 'timestamptz')], ['id'])]]);
    const sqlite = [sqTable('orders', [sqCol('local_id', 1, 'INTEGER'), sqCol('server_id'), sqCol('total'), sqCol('updated_at'), sqCol('sync_status')])];
    const inferred = inferConfig(pg, sqlite);
    expect(inferred.tables).toEqual([{ name: 'orders', pk: 'id', localPk: 'local_id', updatedCol: 'updated_at', localOnly: ['sync_status'] }]);
    expect(inferred.notes.join('\n')).toContain('the terminal keeps its own key "local_id"');
  });

  it('orders parents first, keeps going on an FK cycle, and skips tables without a usable key', () => {
    const pg = new Map([
      ['a', pgTable('a', [pgCol('id'), pgCol('b_id')], ['id'], [['b_id', 'b']])],
      ['b', pgTable('b', [pgCol('id'), pgCol('a_id')], ['id'], [['a_id', 'a']])],
      ['child', pgTable('child', [pgCol('id'), pgCol('a_id')], ['id'], [['a_id', 'a']])],
      ['nokey', pgTable('nokey', [pgCol('x')], [])],
    ]);
    const sqlite = ['a', 'b', 'child', 'nokey'].map((n) => sqTable(n, n === 'nokey' ? [sqCol('x')] : [sqCol('id', 1), sqCol(n === 'a' ? 'b_id' : 'a_id')]));
    const inferred = inferConfig(pg, sqlite);
    const names = inferred.tables.map((t) => t.name);
    expect(names).toHaveLength(3);
    expect(names.indexOf('a')).toBeLessThan(names.indexOf('child'));
    expect(inferred.notes.join('\n')).toContain('skipped nokey: the Postgres table has no primary key');
    // init says how the cycle will be applied.
    expect(inferred.notes.join('\n')).toMatch(/foreign keys form a cycle between a, b: the first push into empty cloud tables loads them together/);
  });

  it('uses sqliteName only for names the snake convention cannot find, and never syncs possync or checkpoint tables', () => {
    const pg = new Map([
      ['order_item', pgTable('order_item', [pgCol('id')], ['id'])],
      ['stock', pgTable('stock', [pgCol('id')], ['id'])],
      ['system_settings', pgTable('system_settings', [pgCol('setting_key')], ['setting_key'])],
    ]);
    const sqlite = [sqTable('OrderItem', [sqCol('Id', 1)]), sqTable('stock', [sqCol('id', 1)]), sqTable('system_settings', [sqCol('setting_key', 1)]), sqTable('_possync_changes', [sqCol('seq', 1)])];
    const inferred = inferConfig(pg, sqlite);
    expect(inferred.naming).toBe('snake');
    expect(inferred.tables.map((t) => [t.name, t.sqliteName])).toEqual([
      ['order_item', undefined],
      ['stock', undefined],
    ]);
    expect(inferred.tables.every((t) => t.conflict === 'server-wins')).toBe(true);
  });
});
