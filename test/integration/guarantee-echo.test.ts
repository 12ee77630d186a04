import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedRows, at, createLedger, expectInSync, expectNoTableErrors, TABLE_NAMES, totals, uid, xmins, type Ledger, type Terminal, type Totals } from '../support/ledger.ts';

// Guarantee 6 (no echo) and the "never re-downloads its own" half of guarantee 9.
const NOTHING = { inserted: 0, updated: 0, deleted: 0, conflicts: 0, deferred: 0, rejected: 0 };
const moved = (t: Totals) => ({ ...t, unchanged: undefined });

async function allXmins(ledger: Ledger): Promise<Record<string, Map<string, string>>> {
  const out: Record<string, Map<string, string>> = {};
  for (const t of TABLE_NAMES) out[t] = await xmins(ledger.db, t);
  return out;
}

function addLocalRows(till: Terminal, base: number, n: number): void {
  const db = till.local;
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = uid(base + i, 5);
      db.prepare(`INSERT INTO accounts (id, name, balance, updated_at) VALUES (?, ?, ?, ?)`).run(id, `local ${base + i}`, `${i}.50`, at(base + i));
      db.prepare(`INSERT INTO entries (id, account_id, amount, note, updated_at) VALUES (?, ?, '-3.10', 'x', ?)`).run(uid(base + i, 6), id, at(base + i));
      db.prepare(`INSERT INTO tags (id, label, updated_at) VALUES (?, 'l', ?)`).run(uid(base + i, 7), at(base + i));
      db.prepare(`INSERT INTO prices (id, amount, updated_at) VALUES (?, '9.99', ?)`).run(uid(base + i, 8), at(base + i));
      db.prepare(`INSERT INTO notes (id, body, updated_at) VALUES (?, 'é ✓', ?)`).run(uid(base + i, 9), at(base + i));
    }
  })();
}

describe('echo-free sync (guarantee 6)', () => {
  let ledger: Ledger;

  beforeAll(async () => {
    ledger = await createLedger('echo', { batchSize: 4 });
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  it('push, pull, push with no edits moves nothing and rewrites no Postgres row', async () => {
    const till = ledger.terminal('till-echo');
    addLocalRows(till, 0, 10);
    await ledger.db.query(`INSERT INTO accounts (id, name, balance, updated_at) SELECT gen_random_uuid(), 'cloud', 1.5, now() FROM generate_series(1, 10)`);
    await ledger.db.query(`INSERT INTO entries (id, account_id, amount, updated_at) SELECT gen_random_uuid(), id, 2, now() FROM accounts WHERE name = 'cloud'`);
    await ledger.db.query(`INSERT INTO tags (id, label, updated_at) SELECT gen_random_uuid(), 'cloud', now() FROM generate_series(1, 10)`);

    expectNoTableErrors(await till.sync('push'));
    expectNoTableErrors(await till.sync('pull'));
    // Rows possync wrote locally are not captured as local changes.
    expect(till.local.prepare(`SELECT count(*) AS n FROM _possync_changes`).get()).toEqual({ n: 0 });
    const before = await allXmins(ledger);

    for (const direction of ['push', 'pull', 'push', 'both', 'both'] as const) {
      const r = await till.sync(direction);
      expectNoTableErrors(r);
      expect(moved(totals(r)), direction).toMatchObject(NOTHING);
    }
    expect(await allXmins(ledger)).toEqual(before);
    expect(till.local.prepare(`SELECT count(*) AS n FROM _possync_changes`).get()).toEqual({ n: 0 });
    await expectInSync(till.config);
  });

  it('two terminals on one Postgres: each gets the other one\'s rows and never re-downloads its own', async () => {
    const a = ledger.terminal('till-a');
    const b = ledger.terminal('till-b');
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('both'));
    addLocalRows(a, 100, 6);
    addLocalRows(b, 200, 4);

    const aFirst = await a.sync('both');
    expectNoTableErrors(aFirst);
    expect(totals(aFirst, { step: 'push' }).inserted).toBe(6 * 5);
    expect(totals(aFirst, { step: 'pull' })).toMatchObject({ ...NOTHING, unchanged: 0 });

    const bFirst = await b.sync('both');
    expectNoTableErrors(bFirst);
    expect(totals(bFirst, { step: 'push' }).inserted).toBe(4 * 5);
    // Only a's rows come down; b's own 20 rows are not downloaded again, not even as "unchanged".
    expect(totals(bFirst, { step: 'pull' })).toMatchObject({ ...NOTHING, inserted: 6 * 5, unchanged: 0 });

    const aSecond = await a.sync('both');
    expect(totals(aSecond, { step: 'pull' })).toMatchObject({ ...NOTHING, inserted: 4 * 5, unchanged: 0 });

    // Updates: a changes 3 of its accounts; b gets exactly those, a gets nothing back.
    a.local.prepare(`UPDATE accounts SET balance = '77.70', updated_at = ? WHERE id IN (?, ?, ?)`).run(at(10_000), uid(100, 5), uid(101, 5), uid(102, 5));
    const aPush = await a.sync('both');
    expect(totals(aPush, { step: 'push' })).toMatchObject({ ...NOTHING, updated: 3 });
    expect(totals(aPush, { step: 'pull' })).toMatchObject({ ...NOTHING, unchanged: 0 });
    const bPull = await b.sync('both');
    expect(totals(bPull, { step: 'pull' })).toMatchObject({ ...NOTHING, updated: 3, unchanged: 0 });

    // Both at the same moment, with new rows on each side.
    addLocalRows(a, 300, 3);
    addLocalRows(b, 400, 3);
    const [ra, rb] = await Promise.all([a.sync('both'), b.sync('both')]);
    expectNoTableErrors(ra);
    expectNoTableErrors(rb);
    for (let round = 0; round < 2; round++) {
      expectNoTableErrors(await a.sync('both'));
      expectNoTableErrors(await b.sync('both'));
    }
    const before = await allXmins(ledger);
    for (const t of [a, b]) {
      const r = await t.sync('both');
      expect(appliedRows(r), t.id).toBe(0);
      expect(totals(r, { step: 'pull' }).unchanged, t.id).toBe(0);
      await expectInSync(t.config);
    }
    expect(await allXmins(ledger)).toEqual(before);
    for (const t of [a, b]) expect(t.local.prepare(`SELECT count(*) AS n FROM accounts`).get()).toEqual({ n: 6 + 4 + 3 + 3 + 20 });
  });
});
