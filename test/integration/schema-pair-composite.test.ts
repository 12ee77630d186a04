import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { inSync } from '../../src/engine/compare.ts';
import { describeDiff, expectInSync, expectNoTableErrors, sidesDiff } from '../support/ledger.ts';
import { createPair, type Pair } from '../support/pair.ts';

// A library's loans, keyed by (branch, copy number): PascalCase on the till, snake_case in the
// cloud, where the borrower's name is capped at 20 characters. ShelfCopy is a WITHOUT ROWID join
// table, so a full scan walks its composite key itself, page by page.
const PG = `
CREATE TABLE branch (branch_code text PRIMARY KEY, branch_name text NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE loan (branch_code text NOT NULL REFERENCES branch, copy_no integer NOT NULL, borrower varchar(20) NOT NULL,
  due_on date, updated_at timestamptz(3) NOT NULL, PRIMARY KEY (branch_code, copy_no));
CREATE TABLE shelf_copy (branch_code text NOT NULL, copy_no integer NOT NULL, shelf text NOT NULL, PRIMARY KEY (branch_code, copy_no));
`;
const SQLITE = `
CREATE TABLE Branch (BranchCode TEXT PRIMARY KEY, BranchName TEXT NOT NULL, UpdatedAt DATETIME NOT NULL);
CREATE TABLE Loan (BranchCode TEXT NOT NULL, CopyNo INTEGER NOT NULL, Borrower NVARCHAR(40) NOT NULL, DueOn DATE,
  UpdatedAt DATETIME NOT NULL, PRIMARY KEY (BranchCode, CopyNo));
CREATE TABLE ShelfCopy (BranchCode TEXT NOT NULL, CopyNo INTEGER NOT NULL, Shelf TEXT NOT NULL, PRIMARY KEY (BranchCode, CopyNo)) WITHOUT ROWID;
`;
const TABLES = [
  { name: 'branch', pk: 'branch_code', updatedCol: 'updated_at' },
  { name: 'loan', pk: ['branch_code', 'copy_no'], updatedCol: 'updated_at' },
  { name: 'shelf_copy', pk: ['branch_code', 'copy_no'], conflict: 'server-wins' },
];

describe('composite primary keys on a schema pair', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await createPair('composite', PG, SQLITE, { naming: 'snake', batchSize: 100, tables: TABLES });
  });
  afterAll(async () => {
    await pair.cleanup();
  });

  const borrowers = async (branch: string) =>
    (await pair.db.query<{ copy_no: number; borrower: string }>(`SELECT copy_no, borrower FROM loan WHERE branch_code = $1 ORDER BY copy_no`, [branch])).map((r) => [r.copy_no, r.borrower]);

  it('a conflict on a composite-key row is decided by lww and recorded with both versions, in each direction', async () => {
    const till = pair.terminal('desk-1');
    const local = openSqlite(till.sqlitePath);
    local.prepare(`INSERT INTO Branch VALUES ('MAIN', 'Main library', '2026-11-20T08:00:00.000Z')`).run();
    local.prepare(`INSERT INTO Loan VALUES ('MAIN', 1, 'Ann', '2026-12-01', '2026-11-20T08:00:00.000Z'), ('MAIN', 2, 'Ben', NULL, '2026-11-20T08:00:00.000Z')`).run();
    expectNoTableErrors(await runSync(till.config, { direction: 'both' }));

    // Push: both sides edit (MAIN, 1); the till's edit is newer and wins.
    await pair.db.query(`UPDATE loan SET borrower = 'Cloud Carl', updated_at = '2026-11-20T09:00:00Z' WHERE branch_code = 'MAIN' AND copy_no = 1`);
    local.prepare(`UPDATE Loan SET Borrower = 'Till Tina', UpdatedAt = '2026-11-20T10:00:00.000Z' WHERE BranchCode = 'MAIN' AND CopyNo = 1`).run();
    const pushed = await runSync(till.config, { direction: 'push' });
    expectNoTableErrors(pushed);
    expect(pushed.tables.find((t) => t.table === 'loan')).toMatchObject({ label: 'Loan → loan', updated: 1, conflicts: 1 });
    expect(await borrowers('MAIN')).toEqual([[1, 'Till Tina'], [2, 'Ben']]);
    const pushConflicts = await pair.db.query(
      `SELECT direction, key, policy, winner, local_row->>'borrower' AS mine, server_row->>'borrower' AS theirs, server_row->>'copy_no' AS copy FROM possync.conflicts WHERE tbl = 'loan'`,
    );
    expect(pushConflicts).toEqual([{ direction: 'push', key: '["MAIN","1"]', policy: 'lww', winner: 'local', mine: 'Till Tina', theirs: 'Cloud Carl', copy: '1' }]);

    // Pull: both sides edit (MAIN, 2); the cloud's edit is newer and wins on the till.
    await pair.db.query(`UPDATE loan SET borrower = 'Cloud Cora', updated_at = '2026-11-20T12:00:00Z' WHERE branch_code = 'MAIN' AND copy_no = 2`);
    local.prepare(`UPDATE Loan SET Borrower = 'Till Tom', UpdatedAt = '2026-11-20T11:00:00.000Z' WHERE BranchCode = 'MAIN' AND CopyNo = 2`).run();
    const pulled = await runSync(till.config, { direction: 'pull' });
    expectNoTableErrors(pulled);
    expect(pulled.tables.find((t) => t.table === 'loan')).toMatchObject({ updated: 1, conflicts: 1 });
    expect(local.prepare(`SELECT CopyNo, Borrower, UpdatedAt FROM Loan ORDER BY CopyNo`).all()).toEqual([
      { CopyNo: 1, Borrower: 'Till Tina', UpdatedAt: '2026-11-20T10:00:00.000Z' },
      { CopyNo: 2, Borrower: 'Cloud Cora', UpdatedAt: '2026-11-20T12:00:00.000Z' },
    ]);
    expect(local.prepare(`SELECT direction, tbl, key, policy, winner, json_extract(local_row, '$.borrower') AS mine, json_extract(server_row, '$.borrower') AS theirs FROM _possync_conflicts`).all()).toEqual([
      { direction: 'pull', tbl: 'loan', key: '["MAIN","2"]', policy: 'lww', winner: 'server', mine: 'Till Tom', theirs: 'Cloud Cora' },
    ]);
    local.close();
    // The losing local edit is not pushed later over the winner.
    const after = await runSync(till.config, { direction: 'both' });
    expect(after.tables.map((t) => t.inserted + t.updated + t.deleted)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await borrowers('MAIN')).toEqual([[1, 'Till Tina'], [2, 'Cloud Cora']]);
    await expectInSync(till.config);
  });

  it('deleting one of two rows that share the first key column deletes only that row, in each direction', async () => {
    const till = pair.terminal('desk-2');
    const local = openSqlite(till.sqlitePath);
    local.prepare(`INSERT INTO Branch VALUES ('EAST', 'East wing', '2026-11-21T08:00:00.000Z')`).run();
    local.prepare(`INSERT INTO Loan VALUES ('EAST', 1, 'Eve', NULL, '2026-11-21T08:00:00.000Z'), ('EAST', 2, 'Eli', NULL, '2026-11-21T08:00:00.000Z')`).run();
    expectNoTableErrors(await runSync(till.config, { direction: 'both' }));
    expect(await borrowers('EAST')).toEqual([[1, 'Eve'], [2, 'Eli']]);

    local.prepare(`DELETE FROM Loan WHERE BranchCode = 'EAST' AND CopyNo = 1`).run();
    const pushed = await runSync(till.config, { direction: 'push' });
    expect(pushed.tables.find((t) => t.table === 'loan')).toMatchObject({ deleted: 1, inserted: 0, updated: 0 });
    expect(await borrowers('EAST')).toEqual([[2, 'Eli']]);

    await pair.db.query(`INSERT INTO branch VALUES ('WEST', 'West wing', '2026-11-21T08:00:00Z')`);
    await pair.db.query(`INSERT INTO loan VALUES ('WEST', 1, 'Wu', NULL, '2026-11-21T08:00:00Z'), ('WEST', 2, 'Wanda', NULL, '2026-11-21T08:00:00Z')`);
    expectNoTableErrors(await runSync(till.config, { direction: 'pull' }));
    await pair.db.query(`DELETE FROM loan WHERE branch_code = 'WEST' AND copy_no = 2`);
    const pulled = await runSync(till.config, { direction: 'pull' });
    expect(pulled.tables.find((t) => t.table === 'loan')).toMatchObject({ deleted: 1, inserted: 0, updated: 0 });
    expect(local.prepare(`SELECT BranchCode, CopyNo FROM Loan WHERE BranchCode IN ('EAST', 'WEST') ORDER BY BranchCode, CopyNo`).all()).toEqual([
      { BranchCode: 'EAST', CopyNo: 2 },
      { BranchCode: 'WEST', CopyNo: 1 },
    ]);
    local.close();
    await expectInSync(till.config);
  });

  it('a deferred and a rejected composite-key row: reported, listed, shown by status, discarded by key', async () => {
    const till = pair.terminal('desk-3');
    const cli = (...args: string[]) => runCli([...args, '-c', till.configPath]);
    expectNoTableErrors(await runSync(till.config, { direction: 'pull' }));
    const local = openSqlite(till.sqlitePath);
    // NORTH is in neither database yet; the borrower's name is too long for the cloud.
    local.prepare(`INSERT INTO Loan VALUES ('NORTH', 7, 'Nia', NULL, '2026-11-22T08:00:00.000Z')`).run();
    local.prepare(`INSERT INTO Loan VALUES ('MAIN', 8, ?, NULL, '2026-11-22T08:00:00.000Z'), ('MAIN', 9, 'Mo', NULL, '2026-11-22T08:00:00.000Z')`).run('Bartholomew Featherstonehaugh');
    local.close();

    const r = await runSync(till.config, { direction: 'push' });
    expect(r.status).toBe('partial');
    const loan = r.tables.find((t) => t.table === 'loan')!;
    expect(loan).toMatchObject({ inserted: 1, deferred: 1, rejected: 1 });
    expect(loan.reasons).toContain('loan:(NORTH, 7) waits for branch_code → branch[NORTH]');
    expect(loan.reasons.find((x) => x.startsWith('loan:(MAIN, 8): '))).toMatch(/value too long for type character varying\(20\)/);

    // The trigger summary names the row the same way.
    const trigger = await cli('trigger', '--direction', 'push');
    expect(trigger.code).toBe(1);
    expect(trigger.stdout).toContain('Loan → loan');
    expect(trigger.stdout).toContain('push loan:(NORTH, 7) waits for branch_code → branch[NORTH]');
    expect(trigger.stdout).toMatch(/push loan:\(MAIN, 8\): value too long/);

    const listed = await cli('rejected');
    expect(listed.code).toBe(1);
    expect(listed.stdout).toMatch(/Loan → loan\s+\(MAIN, 8\)\s+rejected/);
    expect(listed.stdout).not.toContain('NORTH');
    const all = JSON.parse((await cli('rejected', '--all', '--json')).stdout) as { rows: Array<{ table: string; side: string; kind: string; display: string; key: string }> };
    expect(all.rows.map((x) => [x.side, x.table, x.kind, x.display, x.key]).sort()).toEqual([
      ['push', 'loan', 'deferred', 'loan:(NORTH, 7)', '["NORTH","7"]'],
      ['push', 'loan', 'rejected', 'loan:(MAIN, 8)', '["MAIN","8"]'],
    ]);

    // status, human and JSON, shows the rejected row (issue 8 point 6).
    const human = await cli('status');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Loan → loan\s+0\s+\S+\s+1\s+1\s/);
    // Each held row is named once, followed by the database's reason.
    expect(human.stdout).toMatch(/push rejected loan:\(MAIN, 8\): value too long for type character varying\(20\): it is 29 characters long; it is not cut \(column Borrower\) \(\d+ attempts? since /);
    expect(human.stdout).toContain('push deferred loan:(NORTH, 7) waits for branch_code → branch[NORTH]');
    expect(human.stdout).not.toContain('loan:(MAIN, 8): loan:(MAIN, 8)');
    const json = JSON.parse((await cli('status', '--json')).stdout) as { tables: Array<{ table: string; sqliteTable: string; deferred: number; rejected: number }>; held: Array<{ kind: string; display: string; reason: string }> };
    expect(json.tables.find((t) => t.table === 'loan')).toMatchObject({ sqliteTable: 'Loan', deferred: 1, rejected: 1 });
    expect(json.held.find((h) => h.kind === 'rejected')).toMatchObject({ display: 'loan:(MAIN, 8)', reason: expect.stringMatching(/value too long/) as unknown });

    // --discard takes the key as listed: `(a, b)` in one argument, its parts as separate
    // arguments, or the JSON array.
    expect((await cli('rejected', '--discard', 'loan', '(MAIN, 9)')).code).toBe(2); // went through: nothing held
    expect((await cli('rejected', '--discard', 'loan', 'MAIN', '9')).code).toBe(2);
    const discarded = await cli('rejected', '--discard', 'loan', 'MAIN', '8');
    expect(discarded.code).toBe(0);
    expect(discarded.stdout).toContain('discarded');
    expect(discarded.stdout).toContain('loan:(MAIN, 8)');
    expect((await cli('rejected')).code).toBe(0);

    // The deferred row lands once its parent exists; or could be discarded by its JSON key.
    await pair.db.query(`INSERT INTO branch VALUES ('NORTH', 'North', '2026-11-22T08:00:00Z')`);
    const landed = await runSync(till.config, { direction: 'both' });
    expect(landed.status).toBe('success');
    expect(await borrowers('NORTH')).toEqual([[7, 'Nia']]);
    expect((await cli('rejected', '--all')).code).toBe(0);
    expect((await cli('rejected', '--discard', 'loan', '["NORTH","7"]')).code).toBe(2); // nothing held any more
  });

  it('a first push (full scan) and a resync longer than one page walk a composite key without gaps', async () => {
    const till = pair.terminal('big', { batchSize: 500 });
    const local = openSqlite(till.sqlitePath);
    const insert = local.prepare(`INSERT INTO ShelfCopy VALUES (?, ?, ?)`);
    // 3 x 4,115 rows: page boundaries (push: 10,000; pull: every 1,000) fall inside a branch, with
    // copy numbers whose text order differs from their numeric order (9 < 10 < 100 ...).
    local.transaction(() => {
      for (const b of ['B1', 'B2', 'B3']) for (let n = 1; n <= 4115; n++) insert.run(b, n, `shelf ${b}-${n % 37}`);
    })();
    local.close();
    // Postgres is not empty, so the scan cannot COPY: it goes page by page by key.
    await pair.db.query(`INSERT INTO shelf_copy VALUES ('B2', 99999, 'from the cloud')`);

    const pushed = await runSync(till.config, { direction: 'push', tables: ['shelf_copy'] });
    expectNoTableErrors(pushed);
    expect(pushed.tables[0]).toMatchObject({ label: 'ShelfCopy → shelf_copy', inserted: 12_345, updated: 0, deferred: 0, rejected: 0 });
    expect(await pair.db.query(`SELECT branch_code, count(*)::int AS n, min(copy_no) AS lo, max(copy_no) AS hi FROM shelf_copy GROUP BY 1 ORDER BY 1`)).toEqual([
      { branch_code: 'B1', n: 4115, lo: 1, hi: 4115 },
      { branch_code: 'B2', n: 4116, lo: 1, hi: 99999 },
      { branch_code: 'B3', n: 4115, lo: 1, hi: 4115 },
    ]);

    // The till's first pull resyncs the table in pages and sweeps local rows the cloud lacks:
    // a page boundary that skipped keys would delete them here.
    const resync = await runSync(till.config, { direction: 'pull', tables: ['shelf_copy'] });
    expectNoTableErrors(resync);
    expect(resync.tables[0]).toMatchObject({ inserted: 1, updated: 0, deleted: 0, unchanged: 12_345 });
    const count = openSqlite(till.sqlitePath);
    expect(count.prepare(`SELECT count(*) AS n FROM ShelfCopy`).get()).toEqual({ n: 12_346 });
    count.close();

    // A new terminal pulls it all (the empty-table bulk path), two pages as well.
    const other = pair.terminal('big-2', { batchSize: 500 });
    const fresh = await runSync(other.config, { direction: 'pull', tables: ['shelf_copy'] });
    expectNoTableErrors(fresh);
    expect(fresh.tables[0]).toMatchObject({ inserted: 12_346, deferred: 0, rejected: 0 });
    for (const config of [till.config, other.config]) {
      const diff = (await sidesDiff(config)).find((d) => d.table === 'shelf_copy')!;
      expect(inSync(diff), describeDiff(diff)).toBe(true);
      expect(diff.sqliteRows).toBe(12_346);
    }
  });
});
