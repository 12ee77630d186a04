import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import { installSqliteCapture, sqliteTriggerState, withoutInsertCapture, type SqliteCaptureSpec } from '../../src/db/sqlite/capture.ts';
import { installSqliteBookkeeping } from '../../src/db/sqlite/possync-schema.ts';
import { createSqliteFile, openSqlite, tempDir } from '../support/db.ts';

// A first pull inserts with the till's insert trigger taken out, inside its write transaction.
// No other connection may ever see the table without the trigger, and the trigger must come back
// exactly as it was whatever happens inside.
const spec: SqliteCaptureSpec = { table: 'items', localKey: ['id'], sharedKey: ['id'], columns: ['id', 'name'] };
const triggerSql = (db: Database.Database) =>
  (db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = '_possync_items_ins'`).get() as { sql: string } | undefined)?.sql;
const captured = (db: Database.Database) => (db.prepare(`SELECT count(*) AS n FROM _possync_changes WHERE tbl = 'items'`).get() as { n: number }).n;

describe('withoutInsertCapture', () => {
  let tmp: ReturnType<typeof tempDir>;
  let possync: Database.Database;
  let till: Database.Database;
  let original: string | undefined;
  beforeEach(() => {
    tmp = tempDir();
    const file = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(file, `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);`);
    possync = openSqlite(file);
    installSqliteBookkeeping(possync);
    installSqliteCapture(possync, spec);
    original = triggerSql(possync);
    till = openSqlite(file);
  });
  afterEach(() => {
    possync.close();
    till.close();
    tmp.cleanup();
  });

  it('inserts without capture, while other connections still see the trigger, and puts it back exactly', () => {
    expect(original).toContain('AFTER INSERT ON');
    let seenByTill: string | undefined;
    possync.transaction(() =>
      withoutInsertCapture(possync, 'items', () => {
        expect(triggerSql(possync)).toBeUndefined();
        possync.prepare(`INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')`).run();
        seenByTill = triggerSql(till);
      }),
    ).immediate();
    expect(seenByTill).toBe(original);
    expect(triggerSql(possync)).toBe(original);
    expect(sqliteTriggerState(possync, spec)).toBe('ok');
    expect(captured(possync)).toBe(0);
    // The till app's own inserts are captured again.
    till.prepare(`INSERT INTO items (id, name) VALUES (3, 'c')`).run();
    expect(captured(possync)).toBe(1);
  });

  it('reports the error of the work and leaves the trigger in place when the work fails', () => {
    const boom = new Error('boom');
    expect(() =>
      possync.transaction(() =>
        withoutInsertCapture(possync, 'items', () => {
          possync.prepare(`INSERT INTO items (id, name) VALUES (1, 'a')`).run();
          throw boom;
        }),
      ).immediate(),
    ).toThrow(boom);
    expect(triggerSql(possync)).toBe(original);
    expect(possync.prepare(`SELECT count(*) AS n FROM items`).get()).toEqual({ n: 0 });
    till.prepare(`INSERT INTO items (id, name) VALUES (3, 'c')`).run();
    expect(captured(possync)).toBe(1);
  });

  it('refuses to run outside a transaction, where the till app could insert uncaptured', () => {
    let ran = false;
    expect(() => withoutInsertCapture(possync, 'items', () => (ran = true))).toThrow(/transaction/);
    expect(ran).toBe(false);
    expect(triggerSql(possync)).toBe(original);
  });

  it('runs the work as is on a table without capture', () => {
    possync.exec(`CREATE TABLE other (id INTEGER PRIMARY KEY)`);
    const out = possync.transaction(() => withoutInsertCapture(possync, 'other', () => possync.prepare(`INSERT INTO other (id) VALUES (1)`).run().changes)).immediate();
    expect(out).toBe(1);
    expect(triggerSql(possync)).toBe(original);
  });
});
