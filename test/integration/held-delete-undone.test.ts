import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, createLedger, expectInSync, expectNoTableErrors, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// Found by the soak (seed 65): a till deletes a synced sale of an immutable table, the push refuses
// it (held as rejected), and the app undoes the delete (writes the sale back). The run that pushes
// the re-insert commits in Postgres and is killed before it records locally; the next run finishes
// the batch's local half (trims the change log) but the held delete is still there, and every run
// retried it as a delete, though the till has the row again: refused and listed forever.
// The kill is reproduced exactly: the till file is put back to what it held before that run's
// COMMIT (its own state plus the in-flight marker the run writes before committing).
const PG = `CREATE TABLE sales (id uuid PRIMARY KEY, total numeric(12,2) NOT NULL, note text, updated_at timestamptz(3) NOT NULL);`;
const SQLITE = `CREATE TABLE sales (id TEXT PRIMARY KEY, total TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL);`;
const SALES = { name: 'sales', pk: 'id', updatedCol: 'updated_at', immutable: true };

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
