import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { at, createLedger, expectInSync, expectNoTableErrors, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';

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
  it("a till's first push (a full scan) does not put back a synced sale the cloud deleted and its pull refused", async () => {
    // Soak seed 553: the till pulled the sale, the cloud then deleted it, the till's next pull
    // refused the delete (held), and the till's first push of the table compared every row: the
    // delete was older than the till's pull fence, so the scan took the sale for a till row the
    // cloud never had and inserted it, undoing the cloud's delete behind the refusal's back.
    await ledger.db.query(`INSERT INTO sales VALUES ($1, 50.00, NULL, $2)`, [uid(21), at(0)]);
    const c = ledger.terminal('till-c');
    expectNoTableErrors(await c.sync('pull'));
    await ledger.db.query(`DELETE FROM sales WHERE id = $1`, [uid(21)]);
    const pull = await c.sync('pull');
    expect(totals(pull, { table: 'sales', step: 'pull' }).rejected).toBe(1);

    const push = await c.sync('push');
    expectNoTableErrors(push);
    expect(totals(push, { table: 'sales', step: 'push' }).inserted).toBe(0);
    expect(await cloud(21)).toBeUndefined();
    expect(c.local.prepare(`SELECT total FROM sales WHERE id = ?`).get(uid(21))).toEqual({ total: '50.00' });
    // Still refused and listed on the next runs.
    const again = await c.sync('both');
    expect(totals(again, { table: 'sales', step: 'pull' }).rejected).toBe(1);
    expect(await cloud(21)).toBeUndefined();
  });
});

// Found by the soak (seed 65): a till deletes a synced sale of an immutable table, the push refuses
// it (held as rejected), and the app undoes the delete (writes the sale back). The run that pushes
// the re-insert commits in Postgres and is killed before it records locally; the next run finishes
// the batch's local half (trims the change log) but the held delete is still there, and every run
// retried it as a delete, though the till has the row again: refused and listed forever.
// The kill is reproduced exactly: the till file is put back to what it held before that run's
// COMMIT (its own state plus the in-flight marker the run writes before committing).
describe('a held delete whose row came back', () => {
  let ledger: Ledger;
  let a: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('held_delete_undone', { extraPg: PG, extraSqlite: SQLITE, extraTables: [SALES] });
    a = ledger.terminal('till-a');
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  it('is retried as the row it is now, after a kill between the commit and the local trim', async () => {
    a.local.prepare(`INSERT INTO sales VALUES (?, '12.50', NULL, ?)`).run(uid(1), at(0));
    expectNoTableErrors(await a.sync('both'));

    a.local.prepare(`DELETE FROM sales WHERE id = ?`).run(uid(1));
    const refused = await a.sync('push');
    expect(totals(refused, { table: 'sales', step: 'push' }).rejected).toBe(1);

    // The admin undoes the delete.
    a.local.prepare(`INSERT INTO sales VALUES (?, '12.50', NULL, ?)`).run(uid(1), at(0));
    const seq = (a.local.prepare(`SELECT max(seq) AS s FROM _possync_changes WHERE tbl = 'sales'`).get() as { s: number }).s;
    expect(seq).toBeGreaterThan(0);
    const before = path.join(ledger.dir, 'before-kill.sqlite');
    a.local.exec(`VACUUM INTO '${before}'`);
    expectNoTableErrors(await a.sync('push'));
    // The kill: Postgres committed the batch (and its checkpoint); the till did not record it.
    a.close();
    for (const ext of ['', '-wal', '-shm']) fs.rmSync(a.sqlitePath + ext, { force: true });
    fs.copyFileSync(before, a.sqlitePath);
    a.local.prepare(`INSERT INTO _possync_inflight (tbl, seq) VALUES ('sales', ?)`).run(seq);

    for (let run = 0; run < 2; run++) {
      const r = await a.sync('both');
      expectNoTableErrors(r);
      expect(totals(r, { table: 'sales' }).rejected, `run ${run}: ${JSON.stringify(r.tables.flatMap((x) => x.reasons))}`).toBe(0);
    }
    expect(a.local.prepare(`SELECT count(*) AS n FROM _possync_held`).get()).toEqual({ n: 0 });
    expect(await ledger.db.query(`SELECT total::text AS total FROM sales WHERE id = $1`, [uid(1)])).toEqual([{ total: '12.50' }]);
    await expectInSync(a.config);
  });

  it('is cleared when the delete and its undo are pushed in separate batches of one run (soak seed 84)', async () => {
    const one = ledger.terminal('till-one', { batchSize: 1 });
    one.local.prepare(`INSERT INTO sales VALUES (?, '7.00', 'x', ?)`).run(uid(2), at(0));
    expectNoTableErrors(await one.sync('both'));
    one.local.prepare(`DELETE FROM sales WHERE id = ?`).run(uid(2));
    one.local.prepare(`INSERT INTO sales VALUES (?, '7.00', 'x', ?)`).run(uid(2), at(0));
    // The delete's batch refuses it; the re-insert's batch finds the cloud's row equal but does not
    // release what an earlier batch of the same run held, so the first run may still list the
    // refusal; the next one retries the row as it is now and clears it.
    expectNoTableErrors(await one.sync('both'));
    const r = await one.sync('both');
    expectNoTableErrors(r);
    expect(totals(r, { table: 'sales' }).rejected).toBe(0);
    expect(one.local.prepare(`SELECT count(*) AS n FROM _possync_held`).get()).toEqual({ n: 0 });
    expect(await ledger.db.query(`SELECT note FROM sales WHERE id = $1`, [uid(2)])).toEqual([{ note: 'x' }]);
    await expectInSync(one.config);
  });
});
