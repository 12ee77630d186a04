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
      // Many other commits and pulls while it stays open. Each pull applies only what committed
      // since the last one: the pinned fence does not make it read earlier commits again.
      for (let i = 0; i < 4; i++) {
        await ledger.db.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'busy', $2, now())`, [uid(20 + i), i]);
        const r = await till.sync('pull');
        expectNoTableErrors(r);
        expect(r.warnings.some((w) => FENCE_WARNING.test(w))).toBe(true);
        expect(totals(r, { step: 'pull' }), `pull ${i}`).toMatchObject({ inserted: 1, updated: 0, deleted: 0, unchanged: 0 });
      }
      await held.query('COMMIT');
    } finally {
      await held.query('ROLLBACK').catch(() => {});
      await held.end();
    }
    const after = await till.sync('pull');
    expectNoTableErrors(after);
    expect(totals(after, { step: 'pull' })).toMatchObject({ inserted: 1, updated: 0, deleted: 0, unchanged: 0 });
    const ids = localRows(till.local, 'accounts').map((r) => r.id);
    expect(ids).toContain(uid(10));
    for (let i = 0; i < 4; i++) expect(ids).toContain(uid(20 + i));
    await expectInSync(till.config);
  });

  it('a TRUNCATE that commits above a pinned fence resyncs the table in that pull, and only once', async () => {
    await ledger.db.query(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES ($1, $2, 4, now())`, [uid(32), uid(1)]);
    expect(totals(await till.sync('pull'), { step: 'pull' }).inserted).toBe(1);
    // Once every local row has been pushed, a resync may delete local rows Postgres lacks.
    expectNoTableErrors(await till.sync('push'));
    const held = new pg.Client({ connectionString: ledger.db.url });
    await held.connect();
    try {
      await held.query('BEGIN');
      await held.query(`INSERT INTO prices (id, amount, updated_at) VALUES ($1, 1, now())`, [uid(30)]);
      // Committed above the fence the open transaction pins: visible to the next pull's snapshot.
      await ledger.db.query(`TRUNCATE entries`);
      await ledger.db.query(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES ($1, $2, 5, now())`, [uid(31), uid(1)]);
      const r = await till.sync('pull');
      expectNoTableErrors(r);
      expect(r.warnings.some((w) => FENCE_WARNING.test(w))).toBe(true);
      expect(localRows(till.local, 'entries').map((e) => e.id)).toEqual([uid(31)]);
      // Still pinned: the reload was applied, so it is not applied again.
      const again = await till.sync('pull');
      expect(totals(again, { step: 'pull' })).toMatchObject({ inserted: 0, updated: 0, deleted: 0, unchanged: 0 });
      await held.query('COMMIT');
    } finally {
      await held.query('ROLLBACK').catch(() => {});
      await held.end();
    }
    const after = await till.sync('pull');
    expect(totals(after, { step: 'pull' })).toMatchObject({ inserted: 1, updated: 0, deleted: 0, unchanged: 0 });
    await expectInSync(till.config);
  });

  it('a pull checkpoint stored as an xid alone (before snapshots were kept) still misses nothing', async () => {
    const key = `sync.checkpoint.${till.id}.pull.%`;
    const stored = till.local.prepare(`SELECT setting_key, setting_value FROM system_settings WHERE setting_key LIKE ?`).all(key) as Array<{ setting_key: string; setting_value: string }>;
    expect(stored.length).toBe(5);
    for (const row of stored) {
      const cp = JSON.parse(row.setting_value) as { xid: string; snapshot?: string };
      expect(cp.snapshot).toMatch(/^\d+:\d+:/);
      delete cp.snapshot;
      till.local.prepare(`UPDATE system_settings SET setting_value = ? WHERE setting_key = ?`).run(JSON.stringify(cp), row.setting_key);
    }
    await ledger.db.query(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 'after upgrade', now())`, [uid(40)]);
    const r = await till.sync('pull');
    expectNoTableErrors(r);
    expect(totals(r, { step: 'pull' })).toMatchObject({ inserted: 1, updated: 0, deleted: 0 });
    expect(localRows(till.local, 'tags').map((t) => t.id)).toContain(uid(40));
    await expectInSync(till.config);
  });

  it('a row pulled above a pinned fence and then edited locally is pushed as an edit, not judged as a conflict', async () => {
    await ledger.db.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'cloud', 1, now())`, [uid(50)]);
    const held = new pg.Client({ connectionString: ledger.db.url });
    await held.connect();
    try {
      await held.query('BEGIN');
      await held.query(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 'held', now())`, [uid(51)]);
      await ledger.db.query(`UPDATE accounts SET name = 'cloud edit', updated_at = now() WHERE id = $1`, [uid(50)]);
      expect(totals(await till.sync('pull'), { step: 'pull' })).toMatchObject({ inserted: 1, unchanged: 0 });
      // The till edits the version it pulled; its clock is behind the server's.
      till.local.prepare(`UPDATE accounts SET name = 'till edit', updated_at = '2020-01-01T00:00:00.000Z' WHERE id = ?`).run(uid(50));
      const r = await till.sync('push');
      expectNoTableErrors(r);
      expect(totals(r, { step: 'push' })).toMatchObject({ updated: 1, conflicts: 0 });
      expect((await ledger.db.query(`SELECT name FROM accounts WHERE id = $1`, [uid(50)]))[0]).toEqual({ name: 'till edit' });
      await held.query('COMMIT');
    } finally {
      await held.query('ROLLBACK').catch(() => {});
      await held.end();
    }
    expectNoTableErrors(await till.sync('both'));
    await expectInSync(till.config);
  });
});
