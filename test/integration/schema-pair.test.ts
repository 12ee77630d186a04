import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { expectInSync } from '../support/ledger.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// Two teams, two conventions: a PascalCase till schema (DATETIME text, INTEGER cents, NVARCHAR)
// against a snake_case cloud schema (timestamp without time zone, numeric, varchar(n)). Composite
// keys, a self-referencing table, an FK cycle and a table with no updated column.
const PG = `
CREATE TABLE author (author_id uuid PRIMARY KEY, full_name varchar(40) NOT NULL, born date, updated_at timestamp(3) NOT NULL);
CREATE TABLE book (book_id uuid PRIMARY KEY, author_id uuid NOT NULL REFERENCES author, title varchar(60) NOT NULL,
  price numeric(8,2) NOT NULL, pages smallint, isbn13 bigint, rating real, updated_at timestamp(3) NOT NULL);
CREATE TABLE tag (tag_id text PRIMARY KEY, label text NOT NULL);
CREATE TABLE book_tag (book_id uuid NOT NULL REFERENCES book, tag_id text NOT NULL REFERENCES tag, added_at timestamp(3) NOT NULL,
  PRIMARY KEY (book_id, tag_id));
CREATE TABLE employee (employee_id uuid PRIMARY KEY, manager_id uuid REFERENCES employee, name text NOT NULL, updated_at timestamp(3) NOT NULL);
CREATE TABLE shelf (shelf_id uuid PRIMARY KEY, first_box uuid, name text NOT NULL, updated_at timestamp(3) NOT NULL);
CREATE TABLE box (box_id uuid PRIMARY KEY, shelf_id uuid NOT NULL REFERENCES shelf, name text NOT NULL, updated_at timestamp(3) NOT NULL);
ALTER TABLE shelf ADD FOREIGN KEY (first_box) REFERENCES box;
CREATE TABLE setting (key text PRIMARY KEY, value text);
`;
const SQLITE = `
CREATE TABLE Author (AuthorId TEXT PRIMARY KEY, FullName NVARCHAR(40) NOT NULL, Born DATE, UpdatedAt DATETIME NOT NULL);
CREATE TABLE Book (BookId TEXT PRIMARY KEY, AuthorId TEXT NOT NULL, Title NVARCHAR(200) NOT NULL, Price NUMERIC NOT NULL,
  Pages INTEGER, ISBN13 INTEGER, Rating REAL, UpdatedAt DATETIME NOT NULL);
CREATE TABLE Tag (TagId TEXT PRIMARY KEY, Label TEXT NOT NULL);
CREATE TABLE BookTag (BookId TEXT NOT NULL, TagId TEXT NOT NULL, AddedAt DATETIME NOT NULL, PRIMARY KEY (BookId, TagId));
CREATE TABLE Employee (EmployeeId TEXT PRIMARY KEY, ManagerId TEXT, Name TEXT NOT NULL, UpdatedAt DATETIME NOT NULL);
CREATE TABLE Shelf (ShelfId TEXT PRIMARY KEY, FirstBox TEXT, Name TEXT NOT NULL, UpdatedAt DATETIME NOT NULL);
CREATE TABLE Box (BoxId TEXT PRIMARY KEY, ShelfId TEXT NOT NULL, Name TEXT NOT NULL, UpdatedAt DATETIME NOT NULL);
CREATE TABLE Setting (Key TEXT PRIMARY KEY, Value TEXT);
`;

const TABLES = [
  { name: 'author', pk: 'author_id', updatedCol: 'updated_at' },
  { name: 'book', pk: 'book_id', updatedCol: 'updated_at' },
  { name: 'tag', pk: 'tag_id', conflict: 'server-wins' },
  { name: 'book_tag', pk: ['book_id', 'tag_id'], conflict: 'client-wins', columnMap: { AddedAt: 'added_at' } },
  { name: 'employee', pk: 'employee_id', updatedCol: 'updated_at' },
  { name: 'shelf', pk: 'shelf_id', updatedCol: 'updated_at' },
  { name: 'box', pk: 'box_id', updatedCol: 'updated_at' },
  { name: 'setting', pk: 'key', conflict: 'server-wins' },
];

function totals(r: RunResult) {
  return r.tables.reduce((a, t) => ({ applied: a.applied + t.inserted + t.updated + t.deleted, waiting: a.waiting + t.deferred + t.rejected }), { applied: 0, waiting: 0 });
}

describe('a schema pair designed by two teams', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  const terminal = (name: string) => {
    const file = path.join(tmp.dir, `${name}.sqlite`);
    createSqliteFile(file, SQLITE);
    return makeConfig({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: name, naming: 'snake', batchSize: 100, tables: TABLES }, tmp.dir);
  };
  beforeAll(async () => {
    db = await createTestPg('schema_pair');
    await db.query(PG);
    tmp = tempDir();
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('matches PascalCase to snake_case, names both sides in results, and round-trips values stored in SQLite\'s usual forms', async () => {
    const till = terminal('till-1');
    const local = openSqlite(till.sqlitePath);
    const A = randomUUID();
    local.prepare(`INSERT INTO Author VALUES (?, 'Chimamanda Adichie', '1977-09-15', '2026-11-20 08:00:00')`).run(A);
    local.prepare(`INSERT INTO Book VALUES (?, ?, 'Half of a Yellow Sun', 12.5, 448, 9780007200283, 4.5, '2026-11-20T08:00:01.250')`).run(randomUUID(), A);
    local.prepare(`INSERT INTO Book VALUES (?, ?, 'Americanah', '19.99', NULL, NULL, NULL, 1763625602)`).run(randomUUID(), A);
    local.prepare(`INSERT INTO Tag VALUES ('fiction', 'Fiction'), ('award', 'Award winner')`).run();
    local.prepare(`INSERT INTO Setting VALUES ('currency', 'KES'), ('empty', NULL)`).run();
    local.close();

    const r = await runSync(till, { direction: 'both' });
    expect(r.status).toBe('success');
    expect(r.tables.find((t) => t.table === 'book_tag')!.label).toBe('BookTag → book_tag');
    const books = await db.query<{ title: string; price: string; isbn13: string; updated_at: string }>(
      `SELECT title, price::text, isbn13::text, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.MS') AS updated_at FROM book ORDER BY title`,
    );
    expect(books).toEqual([
      { title: 'Americanah', price: '19.99', isbn13: null, updated_at: '2025-11-20 08:00:02.000' },
      { title: 'Half of a Yellow Sun', price: '12.50', isbn13: '9780007200283', updated_at: '2026-11-20 08:00:01.250' },
    ]);
    expect(await db.query(`SELECT born::text FROM author`)).toEqual([{ born: '1977-09-15' }]);
    await expectInSync(till);
    expect(totals(await runSync(till, { direction: 'both' })).applied).toBe(0);
  });

  it('syncs a join table with a composite key both ways, deletes included', async () => {
    const till = terminal('till-2');
    expect((await runSync(till, { direction: 'both' })).status).toBe('success');
    const [book] = await db.query<{ book_id: string }>(`SELECT book_id::text FROM book ORDER BY title LIMIT 1`);
    const local = openSqlite(till.sqlitePath);
    local.prepare(`INSERT INTO BookTag VALUES (?, 'fiction', '2026-11-21 10:00:00')`).run(book!.book_id);
    local.close();
    await db.query(`INSERT INTO book_tag VALUES ($1, 'award', '2026-11-21 11:00:00')`, [book!.book_id]);
    expect((await runSync(till, { direction: 'both' })).status).toBe('success');
    expect(await db.query(`SELECT tag_id FROM book_tag ORDER BY tag_id`)).toEqual([{ tag_id: 'award' }, { tag_id: 'fiction' }]);

    const again = openSqlite(till.sqlitePath);
    again.prepare(`DELETE FROM BookTag WHERE TagId = 'fiction'`).run();
    again.close();
    await db.query(`DELETE FROM book_tag WHERE tag_id = 'award'`);
    expect((await runSync(till, { direction: 'both' })).status).toBe('success');
    expect(await db.query(`SELECT tag_id FROM book_tag`)).toEqual([]);
    expect(openSqlite(till.sqlitePath).prepare(`SELECT count(*) AS n FROM BookTag`).get()).toEqual({ n: 0 });
    await expectInSync(till);
  });

  it('applies 2,000 self-referencing rows in random order, and an FK cycle between two tables, both ways', async () => {
    const ids = Array.from({ length: 2000 }, () => randomUUID());
    const manager = ids.map((_, i) => (i === 0 ? null : ids[Math.floor(Math.random() * i)]!));
    const order = ids.map((_, i) => i).sort(() => Math.random() - 0.5);
    const till = terminal('till-3');
    const local = openSqlite(till.sqlitePath);
    const insert = local.prepare(`INSERT INTO Employee VALUES (?, ?, ?, '2026-11-22 09:00:00')`);
    local.transaction(() => {
      for (const i of order) insert.run(ids[i], manager[i], `employee ${i}`);
    })();
    const [shelf, box] = [randomUUID(), randomUUID()];
    local.prepare(`INSERT INTO Shelf VALUES (?, ?, 'Shelf A', '2026-11-22 09:00:00')`).run(shelf, box);
    local.prepare(`INSERT INTO Box VALUES (?, ?, 'Box 1', '2026-11-22 09:00:00')`).run(box, shelf);
    local.close();

    const pushed = await runSync(till, { direction: 'push' });
    expect(pushed.status).toBe('success');
    expect(await db.query(`SELECT count(*)::int AS n FROM employee`)).toEqual([{ n: 2000 }]);
    expect(await db.query(`SELECT first_box::text FROM shelf WHERE shelf_id = $1`, [shelf])).toEqual([{ first_box: box }]);

    // A second, empty terminal pulls them all (self-references and the cycle) in one run.
    const other = terminal('till-4');
    const pulled = await runSync(other, { direction: 'pull' });
    expect(pulled.status).toBe('success');
    expect(totals(pulled).waiting).toBe(0);
    await expectInSync(other);

    // And edits flow back through the change log in random order too.
    await db.query(`UPDATE employee SET manager_id = NULL, updated_at = '2026-11-23 09:00:00' WHERE employee_id = $1`, [ids[5]]);
    const newIds = Array.from({ length: 300 }, () => randomUUID());
    await db.query(`INSERT INTO employee SELECT u.id::uuid, NULL, 'new', '2026-11-23 09:00:00' FROM unnest($1::text[]) u(id)`, [newIds]);
    await db.query(`UPDATE employee SET manager_id = $1::uuid WHERE employee_id = ANY($2::uuid[])`, [newIds[299], newIds.slice(0, 299)]);
    expect((await runSync(other, { direction: 'pull' })).status).toBe('success');
    await expectInSync(other);
  });
});
