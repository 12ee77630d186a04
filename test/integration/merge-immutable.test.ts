import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { at, createLedger, expectNoTableErrors, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// immutable: true (sales, payments): inserts sync both ways; a later update or delete of a synced
// row, on either side, is refused, never applied, never silently dropped: it is held as rejected
// with the reason, listed by `possync rejected`, and said again by every run.
const PG = `CREATE TABLE sales (id uuid PRIMARY KEY, total numeric(12,2) NOT NULL, note text, updated_at timestamptz(3) NOT NULL);`;
const SQLITE = `CREATE TABLE sales (id TEXT PRIMARY KEY, total TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL);`;
const SALES = { name: 'sales', pk: 'id', updatedCol: 'updated_at', immutable: true };

describe('immutable tables', () => {
  let ledger: Ledger;
  let a: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('merge_immutable', { extraPg: PG, extraSqlite: SQLITE, extraTables: [SALES] });
    a = ledger.terminal('till-a');
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  const cloud = async (n: number) => (await ledger.db.query<{ total: string; note: string | null }>(`SELECT total::text AS total, note FROM sales WHERE id = $1`, [uid(n)]))[0];
  const till = (n: number) => a.local.prepare(`SELECT total, note FROM sales WHERE id = ?`).get(uid(n)) as { total: string; note: string | null } | undefined;

  it('syncs inserts, and refuses and lists updates and deletes of synced rows on either side', async () => {
    // Sales 1 and 2 are made in the cloud (web shop), 3 and 4 on the till.
    for (const n of [1, 2]) await ledger.db.query(`INSERT INTO sales VALUES ($1, 10.00, NULL, $2)`, [uid(n), at(0)]);
    for (const n of [3, 4]) a.local.prepare(`INSERT INTO sales VALUES (?, '20.00', NULL, ?)`).run(uid(n), at(0));
    const first = await a.sync('both');
    expectNoTableErrors(first);
    expect(totals(first, { table: 'sales', step: 'push' }).inserted).toBe(2);
    expect(totals(first, { table: 'sales', step: 'pull' }).inserted).toBe(2);

    // The till edits one synced sale and deletes another; the cloud does the same to two others.
    a.local.prepare(`UPDATE sales SET total = '0.01', updated_at = ? WHERE id = ?`).run(at(9000), uid(1));
    a.local.prepare(`DELETE FROM sales WHERE id = ?`).run(uid(3));
    await ledger.db.query(`UPDATE sales SET note = 'refunded', updated_at = $2 WHERE id = $1`, [uid(4), at(9000)]);
    await ledger.db.query(`DELETE FROM sales WHERE id = $1`, [uid(2)]);
    // A new sale still syncs.
    a.local.prepare(`INSERT INTO sales VALUES (?, '30.00', NULL, ?)`).run(uid(5), at(9000));

    for (let run = 0; run < 2; run++) {
      const r = await a.sync('both');
      const push = totals(r, { table: 'sales', step: 'push' });
      const pull = totals(r, { table: 'sales', step: 'pull' });
      expect(push.rejected, `run ${run}`).toBe(2);
      expect(pull.rejected, `run ${run}`).toBe(2);
      expect(push.updated + push.deleted + pull.updated + pull.deleted).toBe(0);
    }

    // Nothing was applied: each side still holds its own version.
    expect(await cloud(1)).toEqual({ total: '10.00', note: null });
    expect(till(1)).toEqual({ total: '0.01', note: null });
    expect(await cloud(3)).toEqual({ total: '20.00', note: null });
    expect(till(3)).toBeUndefined();
    expect(await cloud(4)).toEqual({ total: '20.00', note: 'refunded' });
    expect(till(4)).toEqual({ total: '20.00', note: null });
    expect(await cloud(2)).toBeUndefined();
    expect(till(2)).toEqual({ total: '10.00', note: null });
    expect(await cloud(5)).toEqual({ total: '30.00', note: null });

    // Listed with the reason.
    const listed = await runCli(['rejected', '--json', '--config', a.configPath]);
    expect(listed.code).toBe(1);
    const rows = (JSON.parse(listed.stdout) as { rows: Array<{ side: string; table: string; display: string; reason: string }> }).rows.filter((r) => r.table === 'sales');
    expect(rows.map((r) => `${r.side} ${r.display}`).sort()).toEqual([`pull sales:${uid(2)}`, `pull sales:${uid(4)}`, `push sales:${uid(1)}`, `push sales:${uid(3)}`].sort());
    for (const r of rows) expect(r.reason).toMatch(/table sales is immutable: the (till|cloud)'s (update|delete) of a synced row was refused/);
  });
  it("a till's first push (a full scan) does not adopt the cloud's edit of a synced sale: the pull refuses it, and once the cloud undoes it nothing is left held", async () => {
    // Soak seed 289: the till pulled the sale, the cloud then edited it, and the till's first
    // push of the table compared every row; the stale-copy rule ("Postgres' version stands")
    // wrote the cloud's edit into the till, so the cloud's undo was refused for ever.
    await ledger.db.query(`INSERT INTO sales VALUES ($1, 40.00, NULL, $2)`, [uid(11), at(0)]);
    const b = ledger.terminal('till-b');
    expectNoTableErrors(await b.sync('pull'));
    const tillB = () => b.local.prepare(`SELECT total, note FROM sales WHERE id = ?`).get(uid(11));
    expect(tillB()).toEqual({ total: '40.00', note: null });
    await ledger.db.query(`UPDATE sales SET total = 0.01, note = 'refunded', updated_at = $2 WHERE id = $1`, [uid(11), at(9000)]);

    const push = await b.sync('push');
    expectNoTableErrors(push);
    expect(tillB()).toEqual({ total: '40.00', note: null });
    const pull = await b.sync('pull');
    expect(totals(pull, { table: 'sales', step: 'pull' }).rejected).toBe(1);
    expect(tillB()).toEqual({ total: '40.00', note: null });

    // The cloud undoes its edit: the sides agree again and nothing stays held.
    await ledger.db.query(`UPDATE sales SET total = 40.00, note = NULL, updated_at = $2 WHERE id = $1`, [uid(11), at(0)]);
    const again = await b.sync('both');
    expectNoTableErrors(again);
    expect(totals(again, { table: 'sales', step: 'pull' }).rejected).toBe(0);
    expect(b.local.prepare(`SELECT count(*) AS n FROM _possync_held WHERE tbl = 'sales'`).get()).toEqual({ n: 0 });
    expect(tillB()).toEqual({ total: '40.00', note: null });
  });
});
