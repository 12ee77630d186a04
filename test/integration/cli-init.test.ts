import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// A small lending-library pair with the usual mismatches: a PascalCase SQLite table and columns,
// a composite key without an updated-at column, a terminal-only column and table, a cloud-only table.
const PG = `
CREATE TABLE branches (id uuid PRIMARY KEY, name text NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE book_copies (id uuid PRIMARY KEY, branch_id uuid NOT NULL REFERENCES branches(id), barcode text NOT NULL,
  created_at timestamptz(3), updated_at timestamptz(3) NOT NULL, deleted_at timestamptz(3));
CREATE TABLE loans (book_copy_id uuid NOT NULL REFERENCES book_copies(id), member text NOT NULL, lent_on date,
  PRIMARY KEY (book_copy_id, member));
CREATE TABLE audit_events (id bigserial PRIMARY KEY, what text);
`;
const SQLITE = `
CREATE TABLE branches (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL, local_note TEXT);
CREATE TABLE BookCopies (Id TEXT PRIMARY KEY, BranchId TEXT NOT NULL REFERENCES branches(id), Barcode TEXT NOT NULL,
  CreatedAt TEXT, UpdatedAt TEXT NOT NULL, DeletedAt TEXT);
CREATE TABLE loans (book_copy_id TEXT NOT NULL, member TEXT NOT NULL, lent_on TEXT, PRIMARY KEY (book_copy_id, member));
CREATE TABLE till_settings (k TEXT PRIMARY KEY, v TEXT);
`;
const BRANCH = '00000000-0000-4000-8000-00000000b001';
const COPY = '00000000-0000-4000-8000-00000000c001';

describe('possync init (subprocess)', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let sqlitePath: string;
  let output: string;
  const init = (...args: string[]) => runCli(['init', '--sqlite', sqlitePath, '--database-url', db.url, ...args], { cwd: tmp.dir, env: { SQLITE_PATH: '', DATABASE_URL: '' } });

  beforeAll(async () => {
    db = await createTestPg('init');
    await db.query(PG);
    await db.query(`INSERT INTO branches VALUES ($1, 'Central', '2026-11-01T08:00:00Z')`, [BRANCH]);
    tmp = tempDir();
    sqlitePath = path.join(tmp.dir, 'till.sqlite');
    createSqliteFile(sqlitePath, SQLITE);
    output = path.join(tmp.dir, 'possync.config.json');
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('writes a starter config: tables on both sides in FK order, keys, timestamps, localOnly, naming', async () => {
    const r = await init();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${output}: 3 tables in foreign-key order (branches, book_copies, loans)`);
    expect(r.stdout).toContain('only in Postgres, not synced: audit_events');
    expect(r.stdout).toContain('only in SQLite, not synced: till_settings');
    expect(r.stdout).toContain('loans: no updated-at column found, so conflicts are settled "server-wins"');
    expect(r.stdout).toContain('possync verify-schemas');
    const config = JSON.parse(fs.readFileSync(output, 'utf8')) as Record<string, unknown>;
    expect(config).toEqual({
      sqlite: { path: 'till.sqlite' },
      postgres: { url: 'env:DATABASE_URL' },
      terminalId: 'env:TERMINAL_ID',
      naming: 'snake',
      tables: [
        { name: 'branches', pk: 'id', updatedCol: 'updated_at', localOnly: ['local_note'] },
        { name: 'book_copies', pk: 'id', updatedCol: 'updated_at', createdCol: 'created_at', deletedCol: 'deleted_at' },
        { name: 'loans', pk: ['book_copy_id', 'member'], conflict: 'server-wins' },
      ],
    });
    expect(fs.readFileSync(output, 'utf8')).not.toContain(db.url);
  });

  it('refuses to overwrite without --force (exit 2), overwrites with it', async () => {
    fs.writeFileSync(output, '{"keep": "me"}');
    const r = await init();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('already exists; not overwriting it');
    expect(r.stderr).toContain('--force');
    expect(fs.readFileSync(output, 'utf8')).toBe('{"keep": "me"}');
    const forced = await init('--force', '--json');
    expect(forced.code).toBe(0);
    const doc = JSON.parse(forced.stdout) as { file: string; config: { tables: unknown[] }; notes: string[] };
    expect(doc.file).toBe(output);
    expect(doc.config.tables).toHaveLength(3);
    expect(doc.notes.length).toBeGreaterThan(0);
  });

  it('the written config works: verify-schemas is clean and trigger syncs both ways', async () => {
    const env = { DATABASE_URL: db.url, TERMINAL_ID: 'till-init', SQLITE_PATH: '' };
    // First run: the cloud's branch comes down. Then the till lends a copy, and the second run pushes it.
    const first = await runCli(['trigger', '-d', 'both', '--json'], { cwd: tmp.dir, env });
    expect(first.code).toBe(0);
    const local = openSqlite(sqlitePath);
    local.prepare(`INSERT INTO BookCopies VALUES (?, ?, 'LIB-0001', '2026-11-02T08:00:00.000Z', '2026-11-02T08:00:00.000Z', NULL)`).run(COPY, BRANCH);
    local.prepare(`INSERT INTO loans VALUES (?, 'm-17', '2026-11-03')`).run(COPY);
    local.close();
    const second = await runCli(['trigger', '-d', 'both', '--json'], { cwd: tmp.dir, env });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'success' });
    expect(await db.query(`SELECT barcode FROM book_copies`)).toEqual([{ barcode: 'LIB-0001' }]);
    expect(await db.query(`SELECT member, lent_on::text FROM loans`)).toEqual([{ member: 'm-17', lent_on: '2026-11-03' }]);
    const check = openSqlite(sqlitePath);
    expect(check.prepare(`SELECT name FROM branches`).all()).toEqual([{ name: 'Central' }]);
    check.close();
    const verify = await runCli(['verify-schemas'], { cwd: tmp.dir, env });
    expect(verify.code).toBe(0);
  });

  it('needs both databases (exit 2 when one is not given)', async () => {
    const r = await runCli(['init', '--database-url', db.url], { cwd: tmp.dir, env: { SQLITE_PATH: '', DATABASE_URL: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --sqlite <path> or set SQLITE_PATH');
    const r2 = await runCli(['init', '--sqlite', sqlitePath, '-o', 'other.json'], { cwd: tmp.dir, env: { SQLITE_PATH: '', DATABASE_URL: '' } });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('set DATABASE_URL');
  });
});
