import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSync } from '../../src/engine/compare.ts';
import { at, createLedger, expectNoTableErrors, sidesDiff, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// compareSides (behind `possync demo` and the tests' expectInSync) must never call a table in sync
// while a local row cannot even be converted to Postgres values: such a row is a difference, with
// the reason, whether or not the cloud has a row under its key.

describe('compareSides with local rows that cannot be converted', () => {
  let ledger: Ledger;
  let till: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('compare_sides', {
      extraPg: `CREATE TABLE readings (id uuid PRIMARY KEY, value numeric(8,2) NOT NULL, updated_at timestamptz(3) NOT NULL);`,
      extraSqlite: `CREATE TABLE readings (id TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);`,
      // Push-only: rows only the cloud has are not a difference here, so a skipped local row whose
      // cloud version exists would go unnoticed entirely.
      extraTables: [{ name: 'readings', pk: 'id', updatedCol: 'updated_at', direction: 'push' }],
    });
    till = ledger.terminal('till-compare');
    till.local.prepare(`INSERT INTO accounts VALUES (?, 'good', '1.00', ?, NULL)`).run(uid(1), at(0));
    till.local.prepare(`INSERT INTO readings VALUES (?, '2.50', ?)`).run(uid(2), at(0));
    expectNoTableErrors(await till.sync('both'));
  });
  afterAll(() => ledger?.cleanup());

  it('reports them as differences with the reason, and the table as not in sync', async () => {
    expect((await sidesDiff(till.config)).filter((d) => !inSync(d))).toEqual([]);

    // A new local row that Postgres refuses (not a number): push holds it as rejected.
    till.local.prepare(`INSERT INTO accounts VALUES (?, 'bad', 'twelve', ?, NULL)`).run(uid(3), at(1));
    // A row already in the cloud, corrupted locally afterwards (not a number either).
    till.local.prepare(`UPDATE readings SET value = 'n/a', updated_at = ? WHERE id = ?`).run(at(2), uid(2));
    const push = await till.sync('push');
    expect(push.tables.filter((t) => t.rejected > 0).map((t) => t.table).sort()).toEqual(['accounts', 'readings']);

    const diffs = Object.fromEntries((await sidesDiff(till.config)).map((d) => [d.table, d]));
    const accounts = diffs.accounts!;
    expect(inSync(accounts)).toBe(false);
    expect(accounts.different).toEqual([JSON.stringify([uid(3)])]);
    expect(accounts.onlyLocal).toEqual([]);
    expect(accounts.unreadable).toEqual([{ key: JSON.stringify([uid(3)]), reason: expect.stringContaining('column balance') }]);

    const readings = diffs.readings!;
    expect(inSync(readings)).toBe(false);
    expect(readings.different).toEqual([JSON.stringify([uid(2)])]);
    // Its cloud version is not reported as missing locally on top of that.
    expect(readings.onlyCloud).toEqual([]);
    expect(readings.unreadable).toEqual([{ key: JSON.stringify([uid(2)]), reason: expect.stringContaining('column value') }]);

    // The other tables are unaffected.
    for (const name of ['entries', 'tags', 'prices', 'notes']) expect(inSync(diffs[name]!), name).toBe(true);
  });
});
