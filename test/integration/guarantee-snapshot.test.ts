import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, expectInSync, expectNoTableErrors, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// One snapshot per pull: all tables of one pull read one consistent Postgres state, so a child
// never arrives (or waits, deferred) without the parent that was committed with it.
describe('one snapshot per pull', () => {
  let ledger: Ledger;
  let till: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('snapshot', { batchSize: 3 });
    till = ledger.terminal('till-snap');
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  it('parent and child written in one transaction while pulls run: never a child without its parent', async () => {
    const MOVER = uid(1, 9);
    await ledger.db.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'first', 0, now())`, [uid(0)]);
    await ledger.db.query(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES ($1, $2, 1, now())`, [MOVER, uid(0)]);
    expectNoTableErrors(await till.sync('pull'));

    // The writer: each transaction creates an account, a child of it, and moves an existing
    // child (already known to the terminal) to the new account.
    const writer = new pg.Client({ connectionString: ledger.db.url });
    await writer.connect();
    let stop = false;
    let written = 0;
    const writing = (async () => {
      for (let i = 1; !stop; i++) {
        await writer.query('BEGIN');
        await writer.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, $2, $3, now())`, [uid(i), `acc ${i}`, i]);
        await writer.query(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES ($1, $2, $3, now())`, [uid(i, 1), uid(i), i]);
        await writer.query(`UPDATE entries SET account_id = $1, updated_at = now() WHERE id = $2`, [uid(i), MOVER]);
        await writer.query('COMMIT');
        written = i;
      }
    })();

    const orphans = till.local.prepare(`SELECT e.id, e.account_id FROM entries e WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id)`);
    const held = till.local.prepare(`SELECT tbl, key, reason FROM _possync_held`);
    try {
      for (let n = 0; n < 30; n++) {
        const r = await till.sync('pull');
        expectNoTableErrors(r);
        expect(orphans.all(), `after pull ${n}`).toEqual([]);
        // A broken snapshot shows up as children deferred for a parent that Postgres committed with them.
        expect(totals(r).deferred, `after pull ${n}: ${JSON.stringify(r.tables.flatMap((t) => t.reasons))}`).toBe(0);
        expect(held.all(), `after pull ${n}`).toEqual([]);
      }
    } finally {
      stop = true;
      await writing;
      await writer.end();
    }
    expect(written).toBeGreaterThan(5);
    expectNoTableErrors(await till.sync('pull'));
    expect(orphans.all()).toEqual([]);
    await expectInSync(till.config);
  });
});
