import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, expectInSync, expectNoTableErrors, localRows, ownPostgres, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// Guarantee 3: a Postgres transaction that began before a pull and committed after it is seen by
// a later pull, even though its now() (its updated_at) is older than the pull.
const FENCE_WARNING = /long-running Postgres transaction holds the pull fence back/;

describe('late commits (guarantee 3)', () => {
  let server: Awaited<ReturnType<typeof ownPostgres>>;
  let ledger: Ledger;
  let till: Terminal;

  beforeAll(async () => {
    // Its own server: the transactions this file holds open would hold back other files' pulls.
    server = await ownPostgres();
    ledger = await createLedger('late_commits', { batchSize: 5, adminUrl: server.adminUrl });
    till = ledger.terminal('till-late');
  });
  afterAll(async () => {
    await ledger?.cleanup();
    await server?.stop();
  });

  it('a row written by a transaction held open across a pull arrives with the next pull', async () => {
    await ledger.db.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'existing', 10, now())`, [uid(1)]);
    const first = await till.sync('pull');
    expectNoTableErrors(first);
    expect(totals(first).inserted).toBe(1);

    // Connection 1 holds a transaction open: its now() and its xid are older than the pull below.
    const held = new pg.Client({ connectionString: ledger.db.url });
    const other = new pg.Client({ connectionString: ledger.db.url });
    await held.connect();
    await other.connect();
    try {
      await held.query('BEGIN');
      await held.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'late insert', 20, now())`, [uid(2)]);
      await held.query(`UPDATE accounts SET name = 'late update', balance = 11, updated_at = now() WHERE id = $1`, [uid(1)]);
      await held.query(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 'late tag', now())`, [uid(3)]);
      // Connection 2 commits after connection 1 began (newer xid, newer now()).
      await other.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'committed meanwhile', 30, now())`, [uid(4)]);

      const during = await till.sync('pull');
      expectNoTableErrors(during);
      expect(during.warnings.some((w) => FENCE_WARNING.test(w)), JSON.stringify(during.warnings)).toBe(true);
      // Nothing of the open transaction can be visible yet.
      expect(localRows(till.local, 'accounts').map((r) => r.id)).not.toContain(uid(2));

      await held.query('COMMIT');
    } finally {
      await held.query('ROLLBACK').catch(() => {});
      await held.end();
      await other.end();
    }

    const after = await till.sync('pull');
    expectNoTableErrors(after);
    expect(after.warnings.filter((w) => FENCE_WARNING.test(w))).toEqual([]);
    const accounts = localRows(till.local, 'accounts');
    expect(accounts.map((r) => [r.id, r.name, r.balance])).toEqual([
      [uid(1), 'late update', '11.00'],
      [uid(2), 'late insert', '20.00'],
      [uid(4), 'committed meanwhile', '30.00'],
    ]);
    expect(localRows(till.local, 'tags').map((r) => r.id)).toEqual([uid(3)]);
    await expectInSync(till.config);

    const again = await till.sync('pull');
    expect(totals(again, { step: 'pull' })).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });
  });

  it('a late commit is not lost when the pull checkpoint has moved on through several pulls', async () => {
    const held = new pg.Client({ connectionString: ledger.db.url });
    await held.connect();
    try {
      await held.query('BEGIN');
      await held.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'very late', 1, now() - interval '2 days')`, [uid(10)]);
      // Many other commits and pulls while it stays open.
      for (let i = 0; i < 4; i++) {
        await ledger.db.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'busy', $2, now())`, [uid(20 + i), i]);
        const r = await till.sync('pull');
        expectNoTableErrors(r);
        expect(r.warnings.some((w) => FENCE_WARNING.test(w))).toBe(true);
      }
      await held.query('COMMIT');
    } finally {
      await held.query('ROLLBACK').catch(() => {});
      await held.end();
    }
    const after = await till.sync('pull');
    expectNoTableErrors(after);
    const ids = localRows(till.local, 'accounts').map((r) => r.id);
    expect(ids).toContain(uid(10));
    for (let i = 0; i < 4; i++) expect(ids).toContain(uid(20 + i));
    await expectInSync(till.config);
  });
});
