import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.ts';
import { createTestPg, tempDir, type TestPg } from '../support/db.ts';
import { expectInSync } from '../support/ledger.ts';
import { startTillApp, type TillApp } from '../support/till-app.ts';
import { makeTill, runProblems, type Till } from '../support/tills.ts';

// The POS app keeps writing while possync runs (issue 2 point 3: "the POS app and possync never
// corrupt each other"). The till database is created in rollback-journal mode by the app, which
// never sets WAL itself and uses better-sqlite3's defaults (a 5 s busy timeout). While it inserts
// and updates rows in a tight loop from its own process, possync runs a large first push (30,000
// local rows) and a large first pull (30,000 cloud rows), its first open meeting the app in the
// middle of a write transaction. Neither side may see SQLITE_BUSY, no
// app write may be lost, and both databases end equal.

const PRODUCTS = 30_000;
const CATALOG = 30_000;

const PG = `
CREATE TABLE products (id text PRIMARY KEY, name text NOT NULL, qty integer NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE catalog (id text PRIMARY KEY, name text NOT NULL, qty integer NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE sales (id text PRIMARY KEY, product_id text NOT NULL, qty integer NOT NULL, updated_at timestamptz(3) NOT NULL);
`;
const SQLITE = `
CREATE TABLE products (id TEXT PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE catalog (id TEXT PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE sales (id TEXT PRIMARY KEY, product_id TEXT NOT NULL, qty INTEGER NOT NULL, updated_at TEXT NOT NULL);
`;
const TABLES = ['products', 'catalog', 'sales'].map((name) => ({ name, pk: 'id', updatedCol: 'updated_at' }));

const writesBetween = (times: number[], from: number, to: number) => times.filter((t) => t >= from && t <= to).length;

describe('the POS app writing while possync pushes and pulls', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let till: Till;
  let app: TillApp | undefined;

  beforeAll(async () => {
    db = await createTestPg('till_app');
    await db.query(PG);
    // The cloud's catalogue, older than anything the app writes (so the app's edits win LWW).
    await db.query(`INSERT INTO catalog SELECT 'c-' || i, 'item ' || i, 0, '2025-01-01T00:00:00Z' FROM generate_series(0, ${CATALOG - 1}) i`);
    tmp = tempDir();
    // The app's database: created by the app, rollback journal (SQLite's default), seeded.
    const file = path.join(tmp.dir, 'till-app.sqlite');
    const seed = new Database(file);
    seed.exec(SQLITE);
    const insert = seed.prepare(`INSERT INTO products VALUES (?, ?, 0, '2025-01-01T00:00:00.000Z')`);
    seed.transaction(() => {
      for (let i = 0; i < PRODUCTS; i++) insert.run(`p-${i}`, `product ${i}`);
    })();
    expect(seed.pragma('journal_mode', { simple: true })).toBe('delete');
    seed.close();
    till = makeTill(tmp.dir, 'till-app', SQLITE, { postgres: { url: db.url }, tables: TABLES });
  });
  afterAll(async () => {
    await app?.stop().catch(() => undefined);
    till?.close();
    await db?.drop();
    tmp?.cleanup();
  });

  it('no SQLITE_BUSY on either side, no lost write, both sides equal', async () => {
    // possync's first open switches the file to WAL; the app is in the middle of a sale then (its
    // first write's transaction stays open for a second), and right after it writes in a loop.
    // SQLite refuses that switch at once while another connection writes: possync must wait.
    app = await startTillApp(till.sqlitePath, PRODUCTS, CATALOG, { holdFirstWriteMs: 1_000 });

    const runs: Array<{ what: string; result: RunResult; from: number; to: number }> = [];
    const timed = async (what: string, run: () => Promise<RunResult>) => {
      const from = Date.now();
      const result = await run();
      runs.push({ what, result, from, to: Date.now() });
      return result;
    };
    await timed('large push', () => till.sync('push'));
    await timed('large pull', () => till.sync('pull'));
    await timed('both', () => till.sync('both'));
    const report = await app.stop();
    app = undefined;

    expect(report.errors, JSON.stringify(report.errors.slice(0, 5))).toEqual([]);
    for (const r of runs) expect(runProblems(r.what, r.result)).toEqual([]);
    const push = runs[0]!;
    const pull = runs[1]!;
    expect(push.result.tables.find((t) => t.table === 'products')!.inserted).toBe(PRODUCTS);
    expect(pull.result.tables.find((t) => t.table === 'catalog')!.inserted + pull.result.tables.find((t) => t.table === 'catalog')!.unchanged).toBeGreaterThanOrEqual(CATALOG);
    // The app really wrote while each large run was going on.
    expect(writesBetween(report.times, push.from, push.to), 'app writes during the push').toBeGreaterThan(20);
    expect(writesBetween(report.times, pull.from, pull.to), 'app writes during the pull').toBeGreaterThan(20);

    // Once the app has stopped, two more runs catch up with its last writes.
    for (const step of ['both', 'both'] as const) expect(runProblems(step, await till.sync(step))).toEqual([]);

    // Every sale the app recorded, and the last value it wrote to every row it edited, is in Postgres.
    const sales = new Set((await db.query<{ id: string }>(`SELECT id FROM sales`)).map((r) => r.id));
    expect(report.sales.filter((id) => !sales.has(id)), 'sales missing in Postgres').toEqual([]);
    expect(sales.size).toBe(report.sales.length);
    const cloud = new Map<string, number>();
    for (const table of ['products', 'catalog']) {
      const rows = await db.query<{ id: string; qty: number }>(`SELECT id, qty FROM ${table} WHERE qty <> 0`);
      for (const r of rows) cloud.set(`${table}:${r.id}`, r.qty);
    }
    const lost = Object.entries(report.last).filter(([k, qty]) => cloud.get(k) !== qty);
    expect(lost.slice(0, 10), `${lost.length} of ${Object.keys(report.last).length} edits lost`).toEqual([]);
    expect(Object.keys(report.last).some((k) => k.startsWith('catalog:')), 'the app edited pulled rows too').toBe(true);
    await expectInSync(till.config);
    // possync left the file in WAL mode, which the app's connection simply followed.
    const check = new Database(till.sqlitePath, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    check.close();
  }, 300_000);
});
