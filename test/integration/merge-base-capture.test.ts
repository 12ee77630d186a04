import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ensureBaseTable } from '../../src/db/sqlite/base-copy.ts';
import { sqliteCaptureTriggers } from '../../src/db/sqlite/capture.ts';
import { installSqliteBookkeeping } from '../../src/db/sqlite/possync-schema.ts';

// The base copy is taken by the update trigger on the first local change after an agreement, and
// only then: a second edit, or an edit of a row with a change pending (a row the till created),
// leaves it alone. Table and column names are hostile (quotes, semicolons, `$1`, unicode).
describe('base capture (SQLite trigger)', () => {
  it('copies the OLD row once per agreement, keeps values as stored, and quotes every name', () => {
    const db = new Database(':memory:');
    try {
      installSqliteBookkeeping(db);
      const table = `we"ird; DROP TABLE x; -- ü`;
      const col = `co"l; $1`;
      const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
      db.exec(`CREATE TABLE ${q(table)} (id TEXT PRIMARY KEY, ${q(col)} NUMERIC, n INTEGER)`);
      const base = { table, heldTbl: table, localKey: ['id'], columns: [{ name: 'id', type: 'TEXT' }, { name: col, type: 'NUMERIC' }, { name: 'n', type: 'INTEGER' }] };
      ensureBaseTable(db, base);
      for (const t of sqliteCaptureTriggers({ table, localKey: ['id'], sharedKey: ['id'], columns: ['id', col, 'n'], base })) db.exec(t.sql);
      const baseRows = () => db.prepare(`SELECT * FROM ${q(`_possync_base_${table}`)} ORDER BY id`).all();

      // Agreed rows (as after a pull: nothing pending).
      db.prepare(`INSERT INTO ${q(table)} VALUES ('a', 1.5, 9007199254740993), ('b', 2, 1)`).run();
      db.exec(`DELETE FROM _possync_changes`);
      db.prepare(`UPDATE ${q(table)} SET ${q(col)} = 2.5 WHERE id = 'a'`).run();
      db.prepare(`UPDATE ${q(table)} SET ${q(col)} = 3.5 WHERE id = 'a'`).run();
      expect(db.prepare(`SELECT * FROM ${q(`_possync_base_${table}`)}`).safeIntegers(true).all()).toEqual([{ id: 'a', [col]: 1.5, n: 9007199254740993n }]);

      // A row created here, not pushed yet: no base (it was never agreed on).
      db.prepare(`INSERT INTO ${q(table)} VALUES ('c', 7, 7)`).run();
      db.prepare(`UPDATE ${q(table)} SET n = 8 WHERE id = 'c'`).run();
      expect(baseRows()).toHaveLength(1);

      // A row held back on push counts as pending too.
      db.exec(`DELETE FROM _possync_changes WHERE lkey = '["b"]'`);
      db.prepare(`INSERT INTO _possync_held (side, tbl, key, kind, reason, display) VALUES ('push', ?, '["b"]', 'rejected', 'r', 'd')`).run(table);
      db.prepare(`UPDATE ${q(table)} SET n = 2 WHERE id = 'b'`).run();
      expect(baseRows()).toHaveLength(1);

      // A changed column set recreates the table (its copies are dropped).
      ensureBaseTable(db, { ...base, columns: base.columns.slice(0, 2) });
      expect(baseRows()).toEqual([]);
    } finally {
      db.close();
    }
  });
});
