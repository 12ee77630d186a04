import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSides, inSync } from '../../src/engine/compare.ts';
import { openAndPlan } from '../../src/engine/run.ts';
import type { RunResult, TableResult } from '../../src/engine/result.ts';
import { runCli } from '../support/cli.ts';
import { createTestPg, tempDir, type TestPg } from '../support/db.ts';
import { makeTill, runProblems, type Till } from '../support/tills.ts';

// Scope and authority (issue 7, point 4). Two stores share one Postgres: tills a1 and a2 belong to
// store s1, till b1 to store s2. `receipts` syncs both ways, scoped by store_id: a till never
// receives another store's receipts, and its push of a receipt outside its store is refused,
// reported and kept in the rejected list, never applied. `products` and `store_prices` are
// pull-only (the cloud's): a local change to them is refused, reported and undone with the cloud
// version. store_prices is also scoped.
const PG = `
CREATE TABLE products (id text PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE store_prices (store_id text NOT NULL, product_id text NOT NULL REFERENCES products(id), price numeric(10,2) NOT NULL,
  updated_at timestamptz(3) NOT NULL, PRIMARY KEY (store_id, product_id));
CREATE TABLE receipts (id text PRIMARY KEY, store_id text NOT NULL, total numeric(10,2) NOT NULL, note text,
  updated_at timestamptz(3) NOT NULL, deleted_at timestamptz(3));
`;
const SQLITE = `
CREATE TABLE products (id TEXT PRIMARY KEY, name TEXT NOT NULL, price TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE store_prices (store_id TEXT NOT NULL, product_id TEXT NOT NULL, price TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (store_id, product_id));
CREATE TABLE receipts (id TEXT PRIMARY KEY, store_id TEXT NOT NULL, total TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL, deleted_at TEXT);
`;

const now = () => new Date().toISOString();

describe('scope and authority across stores', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let a1: Till;
  let a2: Till;
  let b1: Till;

  const till = (id: string, store: string) =>
    makeTill(tmp.dir, id, SQLITE, {
      postgres: { url: db.url },
      batchSize: 20,
      tables: [
        { name: 'products', pk: 'id', updatedCol: 'updated_at', direction: 'pull' },
        { name: 'store_prices', pk: ['store_id', 'product_id'], updatedCol: 'updated_at', direction: 'pull', scope: { store_id: store } },
        { name: 'receipts', pk: 'id', updatedCol: 'updated_at', deletedCol: 'deleted_at', scope: { store_id: store } },
      ],
    });

  beforeAll(async () => {
    db = await createTestPg('terminals_scope');
    await db.query(PG);
    tmp = tempDir();
    a1 = till('till-a1', 's1');
    a2 = till('till-a2', 's1');
    b1 = till('till-b1', 's2');
  });
  afterAll(async () => {
    for (const t of [a1, a2, b1]) t?.close();
    await db.drop();
    tmp.cleanup();
  });

  const receipts = (t: Till) => t.local.prepare(`SELECT id, store_id FROM receipts ORDER BY id`).all() as Array<{ id: string; store_id: string }>;
  const stores = (t: Till) => [...new Set(receipts(t).map((r) => r.store_id))];
  const step = (r: RunResult, table: string, s: 'push' | 'pull'): TableResult => r.tables.find((x) => x.table === table && x.step === s)!;
  async function expectTillInSync(t: Till): Promise<void> {
    const { pg, sqlite, plan, close } = await openAndPlan(t.config);
    try {
      const diffs = await compareSides(pg, sqlite, plan);
      expect(diffs.filter((d) => !inSync(d)).map((d) => `${d.table}: onlyLocal ${d.onlyLocal.join(' ')} onlyCloud ${d.onlyCloud.join(' ')} different ${d.different.join(' ')}`), t.id).toEqual([]);
    } finally {
      await close();
    }
  }
  async function syncOk(t: Till): Promise<RunResult> {
    const r = await t.sync('both');
    expect(runProblems(t.id, r)).toEqual([]);
    return r;
  }

  it('a till never receives another store’s rows, and its own rows reach only its store', async () => {
    for (let n = 1; n <= 5; n++) await db.query(`INSERT INTO products VALUES ($1, $2, $3, $4)`, [`p${n}`, `product ${n}`, `${n}.00`, now()]);
    for (const s of ['s1', 's2']) {
      for (let n = 1; n <= 5; n++) await db.query(`INSERT INTO store_prices VALUES ($1, $2, $3, $4)`, [s, `p${n}`, `${n}.50`, now()]);
      for (let n = 1; n <= 3; n++) await db.query(`INSERT INTO receipts (id, store_id, total, updated_at) VALUES ($1, $2, $3, $4)`, [`cloud-${s}-${n}`, s, `${n}.00`, now()]);
    }
    for (const t of [a1, a2, b1]) await syncOk(t);
    a1.local.prepare(`INSERT INTO receipts (id, store_id, total, updated_at) VALUES ('a1-1', 's1', '9.99', ?)`).run(now());
    b1.local.prepare(`INSERT INTO receipts (id, store_id, total, updated_at) VALUES ('b1-1', 's2', '8.88', ?)`).run(now());
    for (let round = 0; round < 2; round++) for (const t of [a1, a2, b1]) await syncOk(t);

    expect(receipts(a1).map((r) => r.id)).toEqual(['a1-1', 'cloud-s1-1', 'cloud-s1-2', 'cloud-s1-3']);
    expect(receipts(a2)).toEqual(receipts(a1));
    expect(receipts(b1).map((r) => r.id)).toEqual(['b1-1', 'cloud-s2-1', 'cloud-s2-2', 'cloud-s2-3']);
    for (const t of [a1, a2]) expect(new Set((t.local.prepare(`SELECT store_id FROM store_prices`).all() as Array<{ store_id: string }>).map((r) => r.store_id))).toEqual(new Set(['s1']));
    expect(new Set((b1.local.prepare(`SELECT store_id FROM store_prices`).all() as Array<{ store_id: string }>).map((r) => r.store_id))).toEqual(new Set(['s2']));

    // A receipt the cloud moves to the other store leaves s1's tills and reaches s2's.
    await db.query(`UPDATE receipts SET store_id = 's2', note = 'moved', updated_at = $1 WHERE id = 'cloud-s1-3'`, [now()]);
    for (const t of [a1, a2, b1]) await syncOk(t);
    expect(receipts(a1).map((r) => r.id)).not.toContain('cloud-s1-3');
    expect(receipts(a2).map((r) => r.id)).not.toContain('cloud-s1-3');
    expect(receipts(b1)).toContainEqual({ id: 'cloud-s1-3', store_id: 's2' });
    for (const t of [a1, a2, b1]) await expectTillInSync(t);
  });

  it('a push outside the till’s scope is refused, reported and listed by `possync rejected`, never applied', async () => {
    a1.local.prepare(`INSERT INTO receipts (id, store_id, total, updated_at) VALUES ('a1-x', 's2', '1.23', ?)`).run(now());
    a1.local.prepare(`UPDATE receipts SET store_id = 's2', updated_at = ? WHERE id = 'a1-1'`).run(now());
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await a1.sync('both');
      expect(r.status).toBe('partial');
      const push = step(r, 'receipts', 'push');
      expect(push.rejected).toBe(2);
      expect(push.inserted + push.updated).toBe(0);
      expect(push.reasons.join('\n')).toMatch(/a1-x.*outside this terminal's scope \(store_id must be s1\)/);
      expect(push.reasons.join('\n')).toMatch(/a1-1.*outside this terminal's scope/);
    }
    expect(await db.query(`SELECT id, store_id FROM receipts WHERE id IN ('a1-x', 'a1-1') ORDER BY id`)).toEqual([{ id: 'a1-1', store_id: 's1' }]);

    const listed = await runCli(['rejected', '--json', '--config', a1.configPath], { cwd: tmp.dir });
    expect(listed.code).toBe(1);
    const rows = (JSON.parse(listed.stdout) as { rows: Array<{ table: string; kind: string; reason: string; side: string }> }).rows;
    expect(rows.filter((x) => x.table === 'receipts' && x.side === 'push' && x.kind === 'rejected').map((x) => x.reason).sort()).toEqual([
      expect.stringMatching(/a1-1.*outside this terminal's scope/),
      expect.stringMatching(/a1-x.*outside this terminal's scope/),
    ]);

    for (const t of [a2, b1]) await syncOk(t);
    expect(receipts(b1).map((r) => r.id)).not.toContain('a1-x');
    expect(receipts(b1).map((r) => r.id)).not.toContain('a1-1');
    expect(receipts(a2)).toContainEqual({ id: 'a1-1', store_id: 's1' });

    // Refused rows are retried on every run until the data is fixed: then they go through.
    a1.local.prepare(`DELETE FROM receipts WHERE id = 'a1-x'`).run();
    a1.local.prepare(`UPDATE receipts SET store_id = 's1', updated_at = ? WHERE id = 'a1-1'`).run(now());
    await syncOk(a1);
    expect((await runCli(['rejected', '--json', '--config', a1.configPath], { cwd: tmp.dir })).code).toBe(0);
    await expectTillInSync(a1);
  });

  it('a local change to a pull-only table is refused, reported and undone with the cloud version', async () => {
    const before = await db.query(`SELECT id, name, price::text AS price FROM products ORDER BY id`);
    const L = a2.local;
    L.prepare(`UPDATE products SET price = '0.01', updated_at = ? WHERE id = 'p1'`).run(now());
    L.prepare(`INSERT INTO products (id, name, price, updated_at) VALUES ('p9', 'made up on the till', '1.00', ?)`).run(now());
    L.prepare(`DELETE FROM products WHERE id = 'p2'`).run();
    L.prepare(`UPDATE store_prices SET price = '0.02', updated_at = ? WHERE store_id = 's1' AND product_id = 'p3'`).run(now());

    const r = await a2.sync('both');
    expect(r.status).toBe('partial');
    const products = step(r, 'products', 'push');
    expect(products.rejected).toBe(3);
    expect(products.reasons.join('\n')).toMatch(/products:p1 .*pull-only/);
    expect(products.reasons.join('\n')).toMatch(/products:p9 .*pull-only/);
    expect(products.reasons.join('\n')).toMatch(/products:p2 .*pull-only/);
    expect(step(r, 'store_prices', 'push').rejected).toBe(1);

    // Postgres did not take any of it, and the till is back to the cloud's version.
    expect(await db.query(`SELECT id, name, price::text AS price FROM products ORDER BY id`)).toEqual(before);
    expect(L.prepare(`SELECT id, name, price FROM products ORDER BY id`).all()).toEqual(before);
    expect(L.prepare(`SELECT price FROM store_prices WHERE store_id = 's1' AND product_id = 'p3'`).get()).toEqual({ price: '3.50' });
    await expectTillInSync(a2);

    // Refused once and reported once: the next run is clean.
    const next = await a2.sync('both');
    expect(runProblems(a2.id, next)).toEqual([]);
    expect(next.status).toBe('success');
  });

  it('a push never overwrites a row that belongs to another store in Postgres (same key)', async () => {
    // The row the till sends is inside its scope, but the row it would change in Postgres is not:
    // another store already uses the key (receipt numbers restarted on a re-imaged till).
    await db.query(`INSERT INTO receipts (id, store_id, total, updated_at) VALUES ('r-100', 's2', '50.00', $1)`, [new Date(Date.now() - 60_000).toISOString()]);
    for (const t of [a1, b1]) await syncOk(t);
    a1.local.prepare(`INSERT INTO receipts (id, store_id, total, updated_at) VALUES ('r-100', 's1', '1.00', ?)`).run(now());
    const r = await a1.sync('both');
    expect(await db.query(`SELECT id, store_id, total::text AS total FROM receipts WHERE id = 'r-100'`)).toEqual([{ id: 'r-100', store_id: 's2', total: '50.00' }]);
    expect(step(r, 'receipts', 'push')).toMatchObject({ rejected: 1, inserted: 0, updated: 0 });
    expect(receipts(b1)).toContainEqual({ id: 'r-100', store_id: 's2' });
  });

  it('a push never deletes a row the cloud has moved to another store', async () => {
    // The till still has the receipt and voids it; meanwhile the cloud moved it to store s2. The
    // void is newer, but the row in Postgres is no longer this till's to change.
    await db.query(`INSERT INTO receipts (id, store_id, total, updated_at) VALUES ('r-200', 's1', '60.00', $1)`, [new Date(Date.now() - 60_000).toISOString()]);
    await syncOk(a1);
    expect(receipts(a1).map((x) => x.id)).toContain('r-200');
    await db.query(`UPDATE receipts SET store_id = 's2', note = 'belongs to s2', updated_at = $1 WHERE id = 'r-200'`, [new Date(Date.now() - 30_000).toISOString()]);
    a1.local.prepare(`UPDATE receipts SET deleted_at = ?, updated_at = ? WHERE id = 'r-200'`).run(now(), now());
    const r = await a1.sync('both');
    expect(await db.query(`SELECT id, store_id, note, deleted_at IS NOT NULL AS deleted FROM receipts WHERE id = 'r-200'`)).toEqual([
      { id: 'r-200', store_id: 's2', note: 'belongs to s2', deleted: false },
    ]);
    expect(step(r, 'receipts', 'push').rejected).toBe(1);
    expect(receipts(a1).map((x) => x.id)).not.toContain('r-200');
  });
});
