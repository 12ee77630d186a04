import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// The form a till app stores a temporal column in is read from its values once and remembered
// (plan/temporal-forms.ts): a mostly-NULL column is not walked again on every run, and the form
// stays the app's even once no row holds a value to read it from.
describe('temporal forms are remembered', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  const config = () =>
    makeConfig({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: 'till-forms', tables: [{ name: 'tickets', pk: 'id', updatedCol: 'updated_at' }] }, tmp.dir);

  beforeAll(async () => {
    db = await createTestPg('temporal_forms');
    await db.query(`CREATE TABLE tickets (id int PRIMARY KEY, closed_at timestamptz(3), updated_at timestamptz(3) NOT NULL)`);
    tmp = tempDir();
    file = path.join(tmp.dir, 'till.sqlite');
    // The app writes SQLite's own datetime text ("YYYY-MM-DD HH:MM:SS"), not ISO.
    createSqliteFile(file, `CREATE TABLE tickets (id INTEGER PRIMARY KEY, closed_at DATETIME, updated_at TEXT NOT NULL);
      INSERT INTO tickets VALUES (1, '2026-12-01 09:30:00', '2026-12-01T09:30:00.000Z');`);
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('learns the form from the first values, remembers it, and writes pulled values in it after the last value is gone', async () => {
    expect((await runSync(config(), { direction: 'both' })).status).toBe('success');
    const till = openSqlite(file);
    const remembered = till.prepare(`SELECT setting_key, setting_value FROM system_settings WHERE setting_key LIKE 'possync.temporal-form.%' ORDER BY setting_key`).all();
    expect(remembered).toEqual([
      { setting_key: 'possync.temporal-form.["tickets","closed_at","DATETIME"]', setting_value: 'sqlite-datetime' },
      { setting_key: 'possync.temporal-form.["tickets","updated_at","TEXT"]', setting_value: 'iso-ms-z' },
    ]);
    // The ticket is reopened: no row holds a closed_at any more. Sampling alone would now fall back to ISO text.
    till.prepare(`UPDATE tickets SET closed_at = NULL, updated_at = '2026-12-02T09:00:00.000Z' WHERE id = 1`).run();
    till.close();
    expect((await runSync(config(), { direction: 'push' })).status).toBe('success');
    await db.query(`INSERT INTO tickets VALUES (2, '2026-12-03T17:45:00Z', '2026-12-03T17:45:00Z')`);
    expect((await runSync(config(), { direction: 'pull' })).status).toBe('success');
    const after = openSqlite(file);
    try {
      expect(after.prepare(`SELECT id, closed_at FROM tickets ORDER BY id`).all()).toEqual([
        { id: 1, closed_at: null },
        { id: 2, closed_at: '2026-12-03 17:45:00' },
      ]);
    } finally {
      after.close();
    }
  });
});
