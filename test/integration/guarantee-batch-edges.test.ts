import { afterEach, describe, expect, it } from 'vitest';
import { appliedRows, createLedger, expectInSync, expectNoTableErrors, localRows, pgRows, totals, uid, xmins, type Ledger } from '../support/ledger.ts';

// Guarantee 4: rows sharing one cursor value (one transaction, one updated_at) across batch
// boundaries are all synced, in both directions, through the initial full scan and through the
// change log. And µs (Postgres) vs ms (SQLite) timestamps are compared at ms precision, so equal
// rows never bounce back and forth.
const N = 2100;
const SAME = '2026-03-01T10:00:00.123Z';

// A table whose Postgres timestamps keep microseconds (the ledger's own tables use timestamptz(3)).
const readings = {
  extraPg: `CREATE TABLE readings (id uuid PRIMARY KEY, value numeric(14,2) NOT NULL, updated_at timestamptz NOT NULL);`,
  extraSqlite: `CREATE TABLE readings (id TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);`,
  extraTables: [{ name: 'readings', pk: 'id', updatedCol: 'updated_at' }],
};

describe('batch edges (guarantee 4)', () => {
  let ledger: Ledger | undefined;
  afterEach(async () => {
    await ledger?.cleanup();
    ledger = undefined;
  });

  for (const batchSize of [7, 700]) {
    it(`${N} rows with one updated_at, batchSize ${batchSize}: all arrive both ways, by scan and by change log`, async () => {
      ledger = await createLedger(`edges_${batchSize}`, { batchSize });
      const db = ledger.db;
      const till = ledger.terminal('till-edges');

      // Before the first sync: Postgres accounts (pull scan), SQLite tags (push scan).
      await db.query(`INSERT INTO accounts (id, name, balance, updated_at) SELECT gen_random_uuid(), 'a' || i, i, $1 FROM generate_series(1, $2) i`, [SAME, N]);
      const insertTag = till.local.prepare(`INSERT INTO tags (id, label, updated_at) VALUES (?, ?, ?)`);
      till.local.transaction(() => {
        for (let i = 1; i <= N; i++) insertTag.run(uid(i, 1), `t${i}`, SAME);
      })();

      const first = await till.sync('both');
      expectNoTableErrors(first);
      expect(totals(first, { step: 'pull', table: 'accounts' }).inserted).toBe(N);
      expect(totals(first, { step: 'push', table: 'tags' }).inserted).toBe(N);

      // After it: one Postgres transaction of entries (pull change log), one SQLite transaction of notes (push change log).
      await db.query(
        `INSERT INTO entries (id, account_id, amount, updated_at) SELECT gen_random_uuid(), a.id, 1.25, $1 FROM accounts a`,
        [SAME],
      );
      const insertNote = till.local.prepare(`INSERT INTO notes (id, body, updated_at) VALUES (?, ?, ?)`);
      till.local.transaction(() => {
        for (let i = 1; i <= N; i++) insertNote.run(uid(i, 2), `n${i}`, SAME);
      })();

      const second = await till.sync('both');
      expectNoTableErrors(second);
      expect(totals(second, { step: 'pull', table: 'entries' }).inserted).toBe(N);
      expect(totals(second, { step: 'push', table: 'notes' }).inserted).toBe(N);

      for (const table of ['accounts', 'entries', 'tags', 'notes']) {
        const [{ n }] = (await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)) as [{ n: string }];
        expect(n, table).toBe(String(N));
        expect(till.local.prepare(`SELECT count(*) AS n FROM ${table}`).get(), table).toEqual({ n: N });
      }
      await expectInSync(till.config);
      const third = await till.sync('both');
      expect(appliedRows(third)).toBe(0);
    });
  }

  it('batchSize 1 and a batch exactly as large as the change set', async () => {
    for (const [batchSize, rows] of [
      [1, 40],
      [40, 40],
      [15, 40],
    ] as const) {
      ledger = await createLedger(`edges_small_${batchSize}`, { batchSize });
      const till = ledger.terminal('till-small');
      expectNoTableErrors(await till.sync('both'));
      await ledger.db.query(`INSERT INTO tags (id, label, updated_at) SELECT gen_random_uuid(), 'x', $1 FROM generate_series(1, $2)`, [SAME, rows]);
      const insert = till.local.prepare(`INSERT INTO notes (id, body, updated_at) VALUES (?, 'y', ?)`);
      till.local.transaction(() => {
        for (let i = 1; i <= rows; i++) insert.run(uid(i, 3), SAME);
      })();
      const r = await till.sync('both');
      expectNoTableErrors(r);
      expect(totals(r, { step: 'pull', table: 'tags' }).inserted, `batchSize ${batchSize}`).toBe(rows);
      expect(totals(r, { step: 'push', table: 'notes' }).inserted, `batchSize ${batchSize}`).toBe(rows);
      expect(appliedRows(await till.sync('both'))).toBe(0);
      await ledger.cleanup();
      ledger = undefined;
    }
  });

  it('µs Postgres timestamps equal ms SQLite ones: no endless re-sync, rows not rewritten', async () => {
    ledger = await createLedger('edges_us', { batchSize: 7, ...readings });
    const db = ledger.db;
    const till = ledger.terminal('till-us');
    expectNoTableErrors(await till.sync('both'));
    // One transaction, one µs timestamp, across 300 batches of the change log.
    await db.query(`INSERT INTO readings (id, value, updated_at) SELECT gen_random_uuid(), i / 100.0, '2026-03-01 10:00:00.123456+00' FROM generate_series(1, $1) i`, [N]);
    const before = await xmins(db, 'readings');

    const pulled = await till.sync('both');
    expectNoTableErrors(pulled);
    expect(totals(pulled, { step: 'pull', table: 'readings' }).inserted).toBe(N);
    const local = localRows(till.local, 'readings');
    expect(local).toHaveLength(N);
    for (const r of local) expect(String(r.updated_at)).toMatch(/^2026-03-01[T ]10:00:00\.123/);

    for (let i = 0; i < 2; i++) expect(appliedRows(await till.sync('both'))).toBe(0);
    expect(await xmins(db, 'readings')).toEqual(before);
    expect((await pgRows(db, 'readings', 'updated_at'))[0]!.updated_at).toBe('2026-03-01 10:00:00.123456+00');
    await expectInSync(till.config);

    // A second terminal restored from a backup holds the same rows at ms precision before its
    // first sync: the full scans in both directions find them unchanged.
    const restored = ledger.terminal('till-restored');
    const copy = restored.local.prepare(`INSERT INTO readings (id, value, updated_at) VALUES (?, ?, ?)`);
    restored.local.transaction(() => {
      for (const r of local) copy.run(r.id, r.value, SAME);
    })();
    const first = await restored.sync('both');
    expectNoTableErrors(first);
    expect(appliedRows(first)).toBe(0);
    expect(totals(first, { table: 'readings' }).unchanged).toBe(2 * N);
    expect(await xmins(db, 'readings')).toEqual(before);
  });
});
