import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/engine/verify.ts';
import { runCli } from '../support/cli.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';
import { createPair, type Pair, type PairTerminal } from '../support/pair.ts';

// A library's loans keyed by (branch, copy): PascalCase on the till, snake_case in the cloud.
// The copy is a barcode (text): an integer in the key would draw the integer-key-both-ways warning.
const PG = `CREATE TABLE book_loan (branch_code text NOT NULL, copy_barcode text NOT NULL, borrower_name text NOT NULL, due_on date,
  PRIMARY KEY (branch_code, copy_barcode));`;
const SQLITE = `CREATE TABLE BookLoan (BranchCode TEXT NOT NULL, CopyBarcode TEXT NOT NULL, BorrowerName TEXT NOT NULL, DueOn DATE,
  PRIMARY KEY (BranchCode, CopyBarcode));`;
const TABLES = [{ name: 'book_loan', pk: ['branch_code', 'copy_barcode'], conflict: 'server-wins' }];

describe('verify-schemas on a composite-key, renamed pair', () => {
  let pair: Pair;
  let till: PairTerminal;
  const verify = (...args: string[]) => runCli(['verify-schemas', '-c', till.configPath, ...args]);
  beforeAll(async () => {
    pair = await createPair('verify_pair', PG, SQLITE, { naming: 'snake', tables: TABLES });
    till = pair.terminal('loans-desk');
  });
  afterAll(async () => {
    await pair.cleanup();
  });

  it('a clean pair passes once synced', async () => {
    const db = openSqlite(till.sqlitePath);
    db.prepare(`INSERT INTO BookLoan VALUES ('MAIN', 'LIB-0001', 'Ann', '2026-12-01')`).run();
    db.close();
    expect((await runCli(['trigger', '-d', 'both', '-c', till.configPath])).code).toBe(0);
    const r = await verify();
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('✓ 1 table: both databases match the config');
  });

  it('a dropped column on either side: exit 1, each finding naming both sides\' tables and columns', async () => {
    // The till dropped the borrower (NOT NULL in the cloud); the cloud dropped the due date.
    const db = openSqlite(till.sqlitePath);
    db.exec(`CREATE TABLE BookLoan2 (BranchCode TEXT NOT NULL, CopyBarcode TEXT NOT NULL, DueOn DATE, PRIMARY KEY (BranchCode, CopyBarcode));
      INSERT INTO BookLoan2 SELECT BranchCode, CopyBarcode, DueOn FROM BookLoan; DROP TABLE BookLoan; ALTER TABLE BookLoan2 RENAME TO BookLoan;`);
    db.close();
    await pair.db.query(`ALTER TABLE book_loan DROP COLUMN due_on`);

    const r = await verify();
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    const borrower = lines.find((l) => l.includes('"borrower_name"'));
    expect(borrower).toMatch(/^error +book_loan: Postgres column "book_loan"\."borrower_name" \(text, NOT NULL, no default\) has no SQLite counterpart in "BookLoan"/);
    expect(borrower).toContain('fix: ALTER TABLE "BookLoan" ADD COLUMN');
    const due = lines.find((l) => l.includes('"DueOn"'));
    expect(due).toMatch(/^warning +book_loan: SQLite column "BookLoan"\."DueOn" has no Postgres counterpart in "book_loan"/);
    expect(due).toContain('ALTER TABLE "public"."book_loan" ADD COLUMN "due_on" date;');
    expect(r.stdout).toMatch(/✗ drift: \d+ errors?, \d+ warnings?/);

    const json = await verify('--json');
    expect(json.code).toBe(1);
    const findings = (JSON.parse(json.stdout) as { findings: Finding[] }).findings;
    expect(findings.filter((f) => f.code === 'column-missing-sqlite' || f.code === 'column-missing-postgres').map((f) => [f.severity, f.table, f.code])).toEqual([
      ['error', 'book_loan', 'column-missing-sqlite'],
      ['warning', 'book_loan', 'column-missing-postgres'],
    ]);
  });
});

describe('possync init on a pair whose names already agree', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    db = await createTestPg('init_exact');
    await db.query(`CREATE TABLE loan_line (order_id text NOT NULL, line_no integer NOT NULL, sku text NOT NULL, updated_at timestamptz(3) NOT NULL,
      PRIMARY KEY (order_id, line_no))`);
    tmp = tempDir();
    createSqliteFile(path.join(tmp.dir, 'till.sqlite'), `CREATE TABLE loan_line (order_id TEXT NOT NULL, line_no INTEGER NOT NULL, sku TEXT NOT NULL,
      updated_at TEXT NOT NULL, PRIMARY KEY (order_id, line_no))`);
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('writes no naming key, and picks the composite key and updatedCol', async () => {
    const r = await runCli(['init', '--sqlite', path.join(tmp.dir, 'till.sqlite'), '--database-url', db.url], { cwd: tmp.dir, env: { SQLITE_PATH: '', DATABASE_URL: '' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'possync.config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).not.toHaveProperty('naming');
    expect(config.tables).toEqual([{ name: 'loan_line', pk: ['order_id', 'line_no'], updatedCol: 'updated_at' }]);
  });
});
