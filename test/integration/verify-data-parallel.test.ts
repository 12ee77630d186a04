import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PossyncError } from '../../src/errors.ts';
import { openAndPlan } from '../../src/engine/run.ts';
import type { VerifyDataResult } from '../../src/engine/verify-data/report.ts';
import { runVerifyData } from '../../src/engine/verify-data/run.ts';
import { tillBuckets, tillScanOf } from '../../src/engine/verify-data/till.ts';
import { rowidRanges, scanInWorkers } from '../../src/engine/verify-data/till-parallel.ts';
import { runCli } from '../support/cli.ts';
import { at, createLedger, expectNoTableErrors, uid, type Ledger, type Terminal } from '../support/ledger.ts';
import { byTable, cloudBehindPossync, tillBehindPossync } from '../support/verify-data.ts';

// verify-data's till scan split over worker threads (till-parallel.ts): each worker hashes one
// rowid range over its own read-only connection. It must hash exactly what one thread hashes
// (rows SQLite gives no text for, invalid UTF-8 and rowids beyond 2^53 included), find the same
// differences, call rows the POS app writes during the scan in flight rather than different, and
// work from the bundled command (dist/verify-data-worker.mjs beside dist/possync.mjs).

const BIG = 2n ** 53n;
const BULK = 120_000;
const key = (n: number) => JSON.stringify([uid(n)]);

describe('verify-data: the till scan on worker threads', () => {
  let ledger: Ledger;
  let till: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('verify_parallel', {
      extraPg: `CREATE TABLE big (id bigint PRIMARY KEY, label text NOT NULL, updated_at timestamptz(3) NOT NULL);
        CREATE TABLE bulk (id int PRIMARY KEY, label text NOT NULL, qty int NOT NULL, updated_at timestamptz(3) NOT NULL);`,
      extraSqlite: `CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE bulk (id INTEGER PRIMARY KEY, label TEXT NOT NULL, qty INTEGER NOT NULL, updated_at TEXT NOT NULL);`,
      extraTables: [
        { name: 'big', pk: 'id', updatedCol: 'updated_at' },
        { name: 'bulk', pk: 'id', updatedCol: 'updated_at' },
      ],
    });
    till = ledger.terminal('till-parallel');
    const tag = till.local.prepare(`INSERT INTO tags VALUES (?, ?, ?)`);
    for (let i = 1; i <= 3000; i++) {
      // Every 97th row in a spelling SQLite builds no text for (the push's conversion hashes it),
      // and one label of invalid UTF-8 (its whole chunk goes to the conversion).
      if (i === 1500) till.local.prepare(`INSERT INTO tags VALUES (?, CAST(x'61ff62' AS TEXT), ?)`).run(uid(i), at(i));
      else tag.run(uid(i), `tag ${i}`, i % 97 === 0 ? at(i).replace('T', ' ').replace('Z', '') : at(i));
    }
    const big = till.local.prepare(`INSERT INTO big VALUES (?, ?, ?)`);
    for (let i = 1n; i <= 300n; i++) big.run(i % 2n === 0n ? BIG + i : -i * 1000n, `big ${i}`, at(Number(i)));
    const bulk = till.local.prepare(`INSERT INTO bulk VALUES (?, ?, ?, ?)`);
    till.local.transaction(() => {
      for (let i = 1; i <= BULK; i++) bulk.run(i, `bulk ${i}`, i % 50, at(i));
    })();
    expectNoTableErrors(await till.sync('both'));
  }, 120_000);
  afterAll(() => ledger?.cleanup());

  it('hashes every row as one thread does: the same bucket sums, rows and rowids', async () => {
    const { sqlite, plan, close } = await openAndPlan(till.config);
    try {
      for (const name of ['tags', 'big', 'bulk']) {
        const t = plan.tables.find((x) => x.name === name)!;
        const scan = (workers: number) => tillBuckets(sqlite.db, plan, t, 256, tillScanOf(sqlite.db, t, till.sqlitePath, { workers, parallelFrom: 0 }), async () => {});
        const one = await scan(1);
        const three = await scan(3);
        expect([one.threads, three.threads], name).toEqual([1, 3]);
        expect(three.rows, name).toBe(one.rows);
        expect([...three.sums].sort(([a], [b]) => a - b), name).toEqual([...one.sums].sort(([a], [b]) => a - b));
        const every = new Set(Array.from({ length: 256 }, (_, i) => i));
        const rowids = (r: typeof one) => r.byRowid!.in(every).map(String).sort();
        expect(rowids(three), name).toEqual(rowids(one));
      }
    } finally {
      await close();
    }
  });

  it('finds the planted differences the one-thread scan finds, in every range', async () => {
    tillBehindPossync(till, `UPDATE tags SET label = 'till fix' WHERE id IN (?, ?)`, uid(10), uid(2990));
    tillBehindPossync(till, `INSERT INTO tags VALUES (?, 'till only', ?)`, uid(5000), at(5000));
    await cloudBehindPossync(ledger.db, ['tags'], `INSERT INTO tags VALUES ('${uid(5001)}', 'cloud only', '${at(5001)}');
      UPDATE tags SET label = 'cloud fix' WHERE id = '${uid(1400)}'`);
    const one = byTable(await runVerifyData(till.config, { tables: ['tags'], bucketRows: 8, tillWorkers: 1 })).tags!;
    const many = byTable(await runVerifyData(till.config, { tables: ['tags'], bucketRows: 8, tillWorkers: 3, parallelFrom: 0 })).tags!;
    expect([one.tillThreads, many.tillThreads]).toEqual([1, 3]);
    expect(many.rows).toEqual(one.rows);
    expect(many.rows).toEqual([
      { key: key(10), kind: 'different', columns: ['label'] },
      { key: key(1400), kind: 'different', columns: ['label'] },
      { key: key(2990), kind: 'different', columns: ['label'] },
      { key: key(5000), kind: 'extra' },
      { key: key(5001), kind: 'missing' },
    ]);
    // Put the sides back for the next tests.
    tillBehindPossync(till, `UPDATE tags SET label = CASE id WHEN ? THEN 'tag 10' ELSE 'tag 2990' END WHERE id IN (?, ?)`, uid(10), uid(10), uid(2990));
    tillBehindPossync(till, `DELETE FROM tags WHERE id = ?`, uid(5000));
    await cloudBehindPossync(ledger.db, ['tags'], `DELETE FROM tags WHERE id = '${uid(5001)}'; UPDATE tags SET label = 'tag 1400' WHERE id = '${uid(1400)}'`);
    expect(byTable(await runVerifyData(till.config, { tables: ['tags'], tillWorkers: 3, parallelFrom: 0 })).tags!.status).toBe('equal');
  });

  it('the POS app writing while the workers scan: its rows are in flight, not different', async () => {
    // A second process updating bulk rows in a loop, each write captured by possync's triggers in
    // the same transaction, as the POS app's writes are.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(${JSON.stringify(till.sqlitePath)});
         db.pragma('busy_timeout = 5000');
         const up = db.prepare("UPDATE bulk SET qty = qty + 1, updated_at = ? WHERE id = ?");
         let n = 0; process.stdout.write('ready\\n');
         const tick = () => { up.run(new Date(Date.UTC(2027, 0, 1) + n).toISOString(), 1 + ((n * 7919) % ${BULK})); n++; setImmediate(tick); };
         tick();`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve) => writer.stdout.once('data', () => resolve()));
      const before = pendingBulk(till);
      const r = byTable(await runVerifyData(till.config, { tables: ['bulk'], tillWorkers: 2, parallelFrom: 0 })).bulk!;
      expect(pendingBulk(till)).toBeGreaterThan(before); // the app did write during the run
      expect(r.tillThreads).toBe(2);
      expect(r.rows).toEqual([]);
      expect(r.status).toBe('equal');
    } finally {
      writer.kill('SIGKILL');
      await new Promise((resolve) => writer.once('close', resolve));
    }
    // Once synced, the same rows are equal with no change in flight.
    expectNoTableErrors(await till.sync('both'));
    expect(byTable(await runVerifyData(till.config, { tables: ['bulk'], tillWorkers: 2, parallelFrom: 0 })).bulk!.status).toBe('equal');
  }, 120_000);

  it("a worker's failure fails the scan at once with its SQLite error code (not a hang or a crash)", async () => {
    const started = Date.now();
    const failing = scanInWorkers(
      { file: till.sqlitePath, sql: 'SELECT no_such_column FROM tags WHERE rowid > ? AND rowid <= ?', ended: [true, false, true], buckets: 4 },
      rowidRanges(1n, 3000n, 3),
      async () => {},
    );
    await expect(failing).rejects.toMatchObject({ name: 'SqliteError', code: 'SQLITE_ERROR', message: expect.stringContaining('no_such_column') });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a till file a worker cannot open (gone since the main thread opened it): SQLITE_UNREACHABLE with its hint, exit 3 as for the main thread', async () => {
    const sql = 'SELECT max(rowid) AS last, 0 AS n, NULL AS text FROM tags WHERE rowid > ? AND rowid <= ?';
    const gone = scanInWorkers({ file: path.join(path.dirname(till.sqlitePath), 'gone.sqlite'), sql, ended: [true, false, true], buckets: 4 }, rowidRanges(1n, 3000n, 2), async () => {});
    const err = await gone.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PossyncError);
    expect(err).toMatchObject({ code: 'SQLITE_UNREACHABLE', message: expect.stringContaining('gone.sqlite'), hint: expect.stringContaining('sqlite.path') });
    expect((err as PossyncError).exitCode).toBe(3);
  });

  it.skipIf(os.availableParallelism() < 2)('the bundled command scans a large table on worker threads and finds a planted row', async () => {
    await cloudBehindPossync(ledger.db, ['bulk'], `UPDATE bulk SET label = 'cloud fix' WHERE id = 77777`);
    const r = await runCli(['verify-data', '--tables', 'bulk', '--json', '-c', till.configPath], { env: { TEST_PG_URL: ledger.db.url } });
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(1);
    const bulk = byTable(JSON.parse(r.stdout) as VerifyDataResult).bulk!;
    expect(bulk.tillThreads).toBe(Math.min(os.availableParallelism(), 4));
    expect(bulk.tillRows).toBe(BULK);
    expect(bulk.rows).toEqual([{ key: JSON.stringify(['77777']), kind: 'different', columns: ['label'] }]);
  }, 60_000);

  it('a bundle shipped without its worker file scans on one thread instead, with the same findings', async () => {
    // A package built or copied without dist/verify-data-worker.mjs: slower, never wrong or down.
    // The bundle sits under node_modules so its dependencies resolve as the real one's do.
    const dir = fs.mkdtempSync(path.join(process.cwd(), 'node_modules', '.possync-no-worker-'));
    try {
      execFileSync(process.execPath, ['scripts/build.mjs', 'src/cli/main.ts', path.join(dir, 'possync.mjs')]);
      fs.rmSync(path.join(dir, 'verify-data-worker.mjs'));
      const r = await runCli(['verify-data', '--tables', 'bulk', '--json', '-c', till.configPath], { env: { TEST_PG_URL: ledger.db.url }, bin: path.join(dir, 'possync.mjs') });
      expect(r.stderr).toBe('');
      expect(r.code, r.stdout).toBe(1);
      const bulk = byTable(JSON.parse(r.stdout) as VerifyDataResult).bulk!;
      expect(bulk.tillThreads).toBe(1);
      expect(bulk.tillRows).toBe(BULK);
      expect(bulk.rows).toEqual([{ key: JSON.stringify(['77777']), kind: 'different', columns: ['label'] }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

function pendingBulk(t: Terminal): number {
  return (t.local.prepare(`SELECT count(*) AS n FROM _possync_changes WHERE tbl = 'bulk'`).get() as { n: number }).n;
}
