import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// Column merge keeps a base copy of each row the till changed (_possync_base_<table>). A table
// that stops merging, or leaves the config, loses those copies: kept, they would be stale the day
// merge is turned on again, and counter deltas would be worked out against them.
describe('base copies go when a table stops merging', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  const config = (tables: Array<Record<string, unknown>>) => makeConfig({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: 'till-base', tables }, tmp.dir);
  const item = (merge: 'row' | 'column') => ({ name: 'items', pk: 'id', updatedCol: 'updated_at', merge, counters: merge === 'column' ? ['qty'] : [] });
  const baseTable = () => {
    const till = openSqlite(file);
    try {
      const t = till.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name = '_possync_base_items'`).get() as { name: string } | undefined;
      return t ? (till.prepare(`SELECT count(*) AS n FROM _possync_base_items`).get() as { n: number }).n : undefined;
    } finally {
      till.close();
    }
  };
  const edit = (qty: number, at: string) => {
    const till = openSqlite(file);
    till.prepare(`UPDATE items SET qty = ?, updated_at = ? WHERE id = 1`).run(qty, at);
    till.close();
  };

  beforeAll(async () => {
    db = await createTestPg('merge_base_forget');
    await db.query(`CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, updated_at timestamptz(3) NOT NULL); CREATE TABLE notes (id int PRIMARY KEY, updated_at timestamptz(3) NOT NULL);
      INSERT INTO items VALUES (1, 10, '2026-12-01T09:00:00Z')`);
    tmp = tempDir();
    file = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(file, `CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL, updated_at TEXT NOT NULL); CREATE TABLE notes (id INTEGER PRIMARY KEY, updated_at TEXT NOT NULL);`);
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('merge turned off drops them; a table taken out of the config drops them too', async () => {
    const notes = { name: 'notes', pk: 'id', updatedCol: 'updated_at' };
    expect((await runSync(config([item('column'), notes]), { direction: 'both' })).status).toBe('success');
    edit(8, '2026-12-01T10:00:00.000Z');
    // The first local change after the sides agreed copies the agreed row.
    expect(baseTable()).toBe(1);
    expect((await runSync(config([item('row'), notes]), { direction: 'push' })).status).toBe('success');
    expect(baseTable()).toBeUndefined();

    // Back on: a fresh shadow table, no stale copy in it.
    expect((await runSync(config([item('column'), notes]), { direction: 'both' })).status).toBe('success');
    expect(baseTable()).toBe(0);
    edit(7, '2026-12-01T11:00:00.000Z');
    expect(baseTable()).toBe(1);
    expect((await runSync(config([notes]), { direction: 'both' })).status).toBe('success');
    expect(baseTable()).toBeUndefined();
  });
});
