import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import { pgIdent } from '../../src/db/quote.ts';
import { makeConfig } from '../support/config.ts';
import { CYCLE_PG, CYCLE_SQLITE, fillCycleTill } from '../../scripts/bench/cycle-dataset.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

// The first push of tables around a NOT NULL foreign-key cycle into an empty cloud loads them
// together (push/cycle-load.ts): each table is COPYed into a staging table and one statement moves
// them all, so no row is ever deferred. Where that cannot be done (a row whose parent exists on
// neither side, a cloud that already has rows, a role without the TEMPORARY privilege), the tables
// take the table-by-table path and every row that can go still goes, in the same run.
const COUNTS = { branches: 300, employees: 600, sales: 2_000, items: 3_000 };
const TABLES = ['branch', 'employee', 'sale', 'sale_item'].map((name) => ({ name, pk: 'id', updatedCol: 'updated_at' }));
const AT = '2026-12-01T09:00:00.000Z';

describe('the first push of an FK cycle loads its tables together', () => {
  const dbs: TestPg[] = [];
  let tmp: ReturnType<typeof tempDir>;

  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    tmp.cleanup();
  });

  async function cloud(label: string): Promise<TestPg> {
    const db = await createTestPg(label);
    dbs.push(db);
    await db.query(CYCLE_PG);
    return db;
  }
  function till(id: string, url: string) {
    const file = path.join(tmp.dir, `${id}-${randomBytes(3).toString('hex')}.sqlite`);
    createSqliteFile(file, CYCLE_SQLITE);
    const local = openSqlite(file);
    fillCycleTill(local, COUNTS, AT);
    return { file, local, config: makeConfig({ sqlite: { path: file }, postgres: { url }, terminalId: id, tables: TABLES }, tmp.dir) };
  }
  const counts = async (db: TestPg) =>
    (await db.query<{ b: string; e: string; s: string; i: string }>(`SELECT (SELECT count(*) FROM branch) b, (SELECT count(*) FROM employee) e, (SELECT count(*) FROM sale) s, (SELECT count(*) FROM sale_item) i`))[0]!;
  const all = { b: String(COUNTS.branches), e: String(COUNTS.employees), s: String(COUNTS.sales), i: String(COUNTS.items) };
  const reloads = async (db: TestPg) => (await db.query<{ tbl: string }>(`SELECT tbl FROM possync.changes WHERE op = 'T' ORDER BY tbl`)).map((r) => r.tbl);

  it('into an empty cloud: no row waits, one "table reloaded" entry per table, every link as on the till', async () => {
    const db = await cloud('cycle_load');
    const t = till('till-a', db.url);
    t.local.close();
    const r = await runSync(t.config, { direction: 'push' });
    expect(r.status).toBe('success');
    // The plan says how the cycle is applied (verify-schemas prints the same note).
    expect(r.warnings.join('\n')).toMatch(/cycle between (branch, employee|employee, branch): the first push into empty cloud tables loads them together/);
    expect(Object.fromEntries(r.tables.map((x) => [x.table, [x.inserted, x.deferred, x.rejected]]))).toEqual({
      branch: [COUNTS.branches, 0, 0],
      employee: [COUNTS.employees, 0, 0],
      sale: [COUNTS.sales, 0, 0],
      sale_item: [COUNTS.items, 0, 0],
    });
    expect(await counts(db)).toEqual(all);
    // The staged load logs the cycle's tables as reloaded, like a COPY; the row-by-row path would log keys.
    expect(await reloads(db)).toEqual(['public.branch', 'public.employee', 'public.sale', 'public.sale_item']);
    expect(await db.query(`SELECT count(*)::int AS n FROM possync.changes WHERE op <> 'T'`)).toEqual([{ n: 0 }]);
    const local = openSqlite(t.file);
    expect(local.prepare(`SELECT count(*) AS n FROM _possync_held`).get()).toEqual({ n: 0 });
    local.close();
    expect(await db.query(`SELECT count(*)::int AS n FROM branch b JOIN employee e ON e.id = b.manager_id WHERE e.branch_id = b.id`)).toEqual([{ n: COUNTS.branches }]);

    // A second till pulls it all; nothing comes back to the first.
    const other = path.join(tmp.dir, 'till-b.sqlite');
    createSqliteFile(other, CYCLE_SQLITE);
    const b = await runSync(makeConfig({ sqlite: { path: other }, postgres: { url: db.url }, terminalId: 'till-b', tables: TABLES }, tmp.dir), { direction: 'pull' });
    expect(b.status).toBe('success');
    expect(b.tables.reduce((n, x) => n + x.inserted, 0)).toBe(COUNTS.branches + COUNTS.employees + COUNTS.sales + COUNTS.items);
    const again = await runSync(t.config, { direction: 'both' });
    expect(again.tables.reduce((n, x) => n + x.inserted + x.updated + x.deleted, 0)).toBe(0);
  });

  it('a branch whose manager exists nowhere: the load falls back, that row waits with its reason, every other row arrives', async () => {
    const db = await cloud('cycle_load_orphan');
    const t = till('till-orphan', db.url);
    // The till app did not enforce this link: the branch names a manager nobody has.
    t.local.pragma('foreign_keys = OFF');
    t.local.prepare('INSERT INTO branch VALUES (?, ?, ?, ?)').run(COUNTS.branches + 1, 'orphan branch', 99_999, AT);
    t.local.close();
    const r = await runSync(t.config, { direction: 'push' });
    expect(r.status).toBe('partial');
    const branch = r.tables.find((x) => x.table === 'branch')!;
    expect([branch.inserted, branch.deferred]).toEqual([COUNTS.branches, 1]);
    expect(branch.reasons.join('\n')).toMatch(/99999/);
    expect(await counts(db)).toEqual(all);
    expect(await db.query(`SELECT count(*)::int AS n FROM branch WHERE id = ${COUNTS.branches + 1}`)).toEqual([{ n: 0 }]);
  });

  it('a cloud that already has rows of the cycle: the tables take the usual path, both sides end with every row', async () => {
    const db = await cloud('cycle_load_nonempty');
    // The back office opened a branch with its manager before this till's first push.
    await db.query(`WITH e AS (INSERT INTO employee VALUES (9001, 'boss', 9001, now())), b AS (INSERT INTO branch VALUES (9001, 'office', 9001, now())) SELECT 1`);
    const t = till('till-nonempty', db.url);
    t.local.close();
    const r = await runSync(t.config, { direction: 'both' });
    expect(r.status).toBe('success');
    expect(r.tables.filter((x) => x.step === 'push').reduce((n, x) => n + x.deferred + x.rejected, 0)).toBe(0);
    expect(await counts(db)).toEqual({ ...all, b: String(COUNTS.branches + 1), e: String(COUNTS.employees + 1) });
    // Not the staged load: the cloud's tables were not empty.
    expect(await reloads(db)).not.toContain('public.branch');
    const local = openSqlite(t.file);
    expect(local.prepare(`SELECT manager_id FROM branch WHERE id = 9001`).get()).toEqual({ manager_id: 9001 });
    local.close();
  });

  it('a role without the TEMPORARY privilege: no staging table, the usual path loads every row in the same run', async () => {
    const db = await cloud('cycle_load_notemp');
    const role = `possync_notemp_${randomBytes(3).toString('hex')}`;
    await db.query(`CREATE ROLE ${pgIdent(role)} LOGIN PASSWORD 'pw'`);
    await db.query(`REVOKE TEMPORARY ON DATABASE ${pgIdent(db.name)} FROM PUBLIC`);
    await db.query(`GRANT CREATE ON DATABASE ${pgIdent(db.name)} TO ${pgIdent(role)}`);
    await db.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${pgIdent(role)}`);
    for (const table of ['branch', 'employee', 'sale', 'sale_item']) await db.query(`ALTER TABLE ${table} OWNER TO ${pgIdent(role)}`);
    const u = new URL(db.url);
    u.username = role;
    u.password = 'pw';
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    await expect(c.query(`CREATE TEMPORARY TABLE probe (x int)`)).rejects.toThrow(/permission denied/);
    await c.end();

    const t = till('till-notemp', u.toString());
    t.local.close();
    const r = await runSync(t.config, { direction: 'push' });
    expect(r.status).toBe('success');
    expect(await counts(db)).toEqual(all);
    expect(await reloads(db)).not.toContain('public.branch');
    try {
      await db.query(`DROP OWNED BY ${pgIdent(role)} CASCADE`);
    } finally {
      await db.query(`DROP ROLE IF EXISTS ${pgIdent(role)}`).catch(() => undefined);
    }
  });

  it('the link resets in the middle of the staged load: the run stops with PG_UNREACHABLE, nothing is half in, the rerun loads every row', async () => {
    const db = await cloud('cycle_load_cut');
    const u = new URL(db.url);
    const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
    try {
      const file = path.join(tmp.dir, `till-cut-${randomBytes(3).toString('hex')}.sqlite`);
      createSqliteFile(file, CYCLE_SQLITE);
      const local = openSqlite(file);
      // Big enough that the staging COPY is hundreds of kilobytes on the wire.
      const big = { branches: 3_000, employees: 6_000, sales: 0, items: 0 };
      fillCycleTill(local, big, AT);
      local.close();
      const config = (url: string) =>
        makeConfig({ sqlite: { path: file }, postgres: { url, readTimeoutSeconds: 5, lockTimeoutSeconds: 3, connectTimeoutSeconds: 3 }, terminalId: 'till-cut', tables: TABLES }, tmp.dir);
      // A first pull installs possync on both sides, so the push below goes straight to the load.
      expect((await runSync(config(proxy.via(db.url)), { direction: 'pull' })).status).toBe('success');
      proxy.when('toServer', 100_000, () => proxy.reset());
      const cut = await runSync(config(proxy.via(db.url)), { direction: 'push' });
      expect(cut.status).toBe('failed');
      expect(cut.errorCode).toBe('PG_UNREACHABLE');
      expect(await counts(db)).toEqual({ b: '0', e: '0', s: '0', i: '0' });
      expect(await reloads(db)).toEqual([]);

      proxy.heal();
      const again = await runSync(config(proxy.via(db.url)), { direction: 'push' });
      expect(again.status).toBe('success');
      expect(again.tables.reduce((n, x) => n + x.deferred, 0)).toBe(0);
      expect(await counts(db)).toEqual({ b: String(big.branches), e: String(big.employees), s: '0', i: '0' });
      expect(await reloads(db)).toEqual(['public.branch', 'public.employee']);
    } finally {
      await proxy.close();
    }
  });
});
