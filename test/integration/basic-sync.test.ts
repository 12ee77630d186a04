import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { applied } from '../../src/engine/result.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// A small "library" schema, nothing like the POS fixture: the engine must not care.
const PG_SCHEMA = `
CREATE TABLE authors (id uuid PRIMARY KEY, name text NOT NULL, updated_at timestamptz(3) NOT NULL, deleted_at timestamptz(3));
CREATE TABLE books (id uuid PRIMARY KEY, author_id uuid NOT NULL REFERENCES authors(id), title text NOT NULL,
  price numeric(12,2), copies int NOT NULL DEFAULT 0, updated_at timestamptz(3) NOT NULL, deleted_at timestamptz(3));
`;
const SQLITE_SCHEMA = `
CREATE TABLE authors (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL, deleted_at TEXT);
CREATE TABLE books (id TEXT PRIMARY KEY, author_id TEXT NOT NULL REFERENCES authors(id), title TEXT NOT NULL,
  price TEXT, copies INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL, deleted_at TEXT);
`;

const A1 = '00000000-0000-4000-8000-000000000001';
const A2 = '00000000-0000-4000-8000-000000000002';
const B1 = '00000000-0000-4000-8000-000000000011';
const B2 = '00000000-0000-4000-8000-000000000012';

describe('push and pull on a small schema', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let sqlitePath: string;
  let config: ReturnType<typeof makeConfig>;

  beforeAll(async () => {
    db = await createTestPg('basic');
    await db.query(PG_SCHEMA);
    tmp = tempDir();
    sqlitePath = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(sqlitePath, SQLITE_SCHEMA);
    config = makeConfig(
      {
        sqlite: { path: sqlitePath },
        postgres: { url: db.url },
        terminalId: 'till-1',
        batchSize: 2,
        tables: [
          { name: 'authors', pk: 'id', updatedCol: 'updated_at', deletedCol: 'deleted_at' },
          { name: 'books', pk: 'id', updatedCol: 'updated_at', deletedCol: 'deleted_at' },
        ],
      },
      tmp.dir,
    );
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('pushes local rows, pulls cloud rows, and a second run applies nothing', async () => {
    const local = openSqlite(sqlitePath);
    local.prepare(`INSERT INTO authors VALUES (?, 'Ngugi', '2026-11-01T10:00:00.000Z', NULL)`).run(A1);
    local.prepare(`INSERT INTO books VALUES (?, ?, 'Weep Not, Child', '1234.50', 3, '2026-11-01T10:00:00.000Z', NULL)`).run(B1, A1);
    local.close();
    await db.query(`INSERT INTO authors VALUES ($1, 'Achebe', '2026-11-02T10:00:00.000Z', NULL)`, [A2]);
    await db.query(`INSERT INTO books VALUES ($1, $2, 'Arrow of God', 99.90, 1, '2026-11-02T10:00:00.000Z', NULL)`, [B2, A2]);

    const first = await runSync(config, { direction: 'both' });
    if (first.status !== 'success') console.log(JSON.stringify(first, null, 1));
    expect(first.status).toBe('success');
    const pgBooks = await db.query<{ id: string; price: string }>(`SELECT id, price::text FROM books ORDER BY id`);
    expect(pgBooks).toEqual([
      { id: B1, price: '1234.50' },
      { id: B2, price: '99.90' },
    ]);
    const check = openSqlite(sqlitePath);
    expect(check.prepare(`SELECT id, price FROM books ORDER BY id`).all()).toEqual([
      { id: B1, price: '1234.50' },
      { id: B2, price: '99.90' },
    ]);
    check.close();

    const second = await runSync(config, { direction: 'both' });
    expect(second.tables.map(applied).reduce((a, b) => a + b, 0)).toBe(0);
  });
});
