import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { makeConfig } from '../support/config.ts';
import { CYCLE_PG, CYCLE_SQLITE, fillCycleTill } from '../../scripts/bench/cycle-dataset.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// A NOT NULL foreign-key cycle, as real schemas have it: a branch's manager is an employee and an
// employee's branch is a branch, both NOT NULL and not deferrable, with a chain of tables after it
// (sales by employees, items of sales). No order of separate inserts can load such a pair into
// an empty cloud; possync inserts the rows that wait on each other in one statement. A first push
// of 50,000 rows must finish in one run with every row present, and a pull onto an empty till
// must bring every row back.
const BRANCHES = 2_500;
const EMPLOYEES = 2 * BRANCHES;
const SALES = 20_000;
const ITEMS = 50_000 - BRANCHES - EMPLOYEES - SALES;

// Config order puts the chain first and the cycle last: the plan must still run parents first.
const TABLES = ['sale_item', 'sale', 'employee', 'branch'].map((name) => ({ name, pk: 'id', updatedCol: 'updated_at' }));

describe('a NOT NULL foreign-key cycle with a chain after it', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let tillA: ReturnType<typeof till> | undefined;

  beforeAll(async () => {
    db = await createTestPg('fk_cycle');
    await db.query(CYCLE_PG);
    tmp = tempDir();
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  const till = (id: string) => {
    const file = path.join(tmp.dir, `${id}.sqlite`);
    createSqliteFile(file, CYCLE_SQLITE);
    return { file, config: makeConfig({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: id, tables: TABLES }, tmp.dir) };
  };
  const counts = async () =>
    (await db.query<{ b: string; e: string; s: string; i: string }>(`SELECT (SELECT count(*) FROM branch) b, (SELECT count(*) FROM employee) e, (SELECT count(*) FROM sale) s, (SELECT count(*) FROM sale_item) i`))[0]!;

  it('a first push of 50,000 rows into an empty cloud finishes in one run with every row present', async () => {
    const t = till('till-a');
    tillA = t;
    const local = openSqlite(t.file);
    const at = '2026-12-01T09:00:00.000Z';
    // The app enforces its foreign keys, and checks the cycle's at COMMIT, as SQLite lets it.
    fillCycleTill(local, { branches: BRANCHES, employees: EMPLOYEES, sales: SALES, items: ITEMS }, at);
    local.close();

    const r = await runSync(t.config, { direction: 'push' });
    const problems = r.tables.filter((x) => x.status !== 'success' || x.deferred > 0 || x.rejected > 0).map((x) => `${x.table}: ${x.status} ${x.error ?? ''} deferred ${x.deferred}: ${x.reasons.join('; ')}`);
    expect(problems).toEqual([]);
    expect(r.status).toBe('success');
    expect(await counts()).toEqual({ b: String(BRANCHES), e: String(EMPLOYEES), s: String(SALES), i: String(ITEMS) });
    const inserted = Object.fromEntries(r.tables.map((x) => [x.table, x.inserted]));
    expect(inserted).toEqual({ branch: BRANCHES, employee: EMPLOYEES, sale: SALES, sale_item: ITEMS });
    // The cycle's links are the till's, not placeholders.
    expect(await db.query(`SELECT b.id, b.manager_id, e.branch_id FROM branch b JOIN employee e ON e.id = b.manager_id WHERE b.id IN (1, ${BRANCHES}) ORDER BY b.id`)).toEqual([
      { id: 1, manager_id: 1, branch_id: 1 },
      { id: BRANCHES, manager_id: EMPLOYEES - 1, branch_id: BRANCHES },
    ]);
    // Nothing to do on the next run, and the pull does not bring the rows back.
    const again = await runSync(t.config, { direction: 'both' });
    expect(again.status).toBe('success');
    expect(again.tables.reduce((n, x) => n + x.inserted + x.updated + x.deleted, 0)).toBe(0);
  });

  it('a pull onto an empty till brings every row of the cycle and the chain', async () => {
    const t = till('till-b');
    const r = await runSync(t.config, { direction: 'pull' });
    expect(r.status).toBe('success');
    const local = openSqlite(t.file);
    try {
      const n = (table: string) => (local.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      expect([n('branch'), n('employee'), n('sale'), n('sale_item')]).toEqual([BRANCHES, EMPLOYEES, SALES, ITEMS]);
      expect(local.prepare('SELECT manager_id FROM branch WHERE id = 7').get()).toEqual({ manager_id: 13 });
    } finally {
      local.close();
    }
  });

  it('a new pair created on a till later goes in together on the row-by-row path too', async () => {
    const t = tillA!;
    const local = openSqlite(t.file);
    const at = '2026-12-02T09:00:00.000Z';
    local.pragma('defer_foreign_keys = ON');
    local.transaction(() => {
      local.prepare('INSERT INTO branch VALUES (?, ?, ?, ?)').run(BRANCHES + 1, 'new branch', EMPLOYEES + 1, at);
      local.prepare('INSERT INTO employee VALUES (?, ?, ?, ?)').run(EMPLOYEES + 1, 'new manager', BRANCHES + 1, at);
      local.prepare('INSERT INTO sale VALUES (?, ?, ?, ?)').run(SALES + 1, EMPLOYEES + 1, '9.99', at);
    })();
    local.close();
    const r = await runSync(t.config, { direction: 'push' });
    expect(Object.fromEntries(r.tables.map((x) => [x.table, [x.inserted, x.deferred]]))).toEqual({ branch: [1, 0], employee: [1, 0], sale: [1, 0], sale_item: [0, 0] });
    // Parents first, whatever the config's order: the cycle, then the chain.
    expect(r.tables.map((x) => x.table)).toEqual(['employee', 'branch', 'sale', 'sale_item']);
    expect(await db.query(`SELECT manager_id FROM branch WHERE id = ${BRANCHES + 1}`)).toEqual([{ manager_id: EMPLOYEES + 1 }]);
  });
});
