import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedRows, createLedger, expectInSync, expectNoTableErrors, localRows, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';
import { ago, DAY } from '../support/tills.ts';

// Guarantee 9, the offline till: a terminal that was offline for days pushes rows whose
// updated_at is two and three days old. The other terminals' pull checkpoints are long past those
// timestamps; they must still get every one of the rows on their next pull, because pull follows
// the order in which Postgres committed changes, never updated_at. Conflicts between the old edits
// and newer ones follow LWW on updated_at, and the loser is recorded with both versions.
//
// Keys (uid(n, prefix)): 1 = catalogue accounts, 2 = A's new account, 3 = A's entries,
// 4 = B's entries, 5 = C's entries, 6 = tags, 7 = accounts the cloud adds meanwhile.
const C = (n: number) => uid(n, 1);
const A_ACCOUNT = uid(1, 2);
const A_ENTRIES = Array.from({ length: 40 }, (_, i) => uid(i + 1, 3));
const EDITED = A_ENTRIES.slice(0, 10);
const VOIDED = A_ENTRIES.slice(10, 15);
const TAG = (n: number) => uid(n, 6);

interface EntryRow {
  id: string;
  account_id: string;
  amount: string;
  note: string | null;
  updated_at: string;
  deleted_at: string | null;
}

describe('an offline terminal comes back with rows stamped days in the past', () => {
  let ledger: Ledger;
  let a: Terminal;
  let b: Terminal;
  let c: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('terminals_offline', { batchSize: 7 });
    a = ledger.terminal('till-a');
    b = ledger.terminal('till-b');
    c = ledger.terminal('till-c');
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  const pg = <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) => ledger.db.query<R>(sql, params);
  const cloudAccount = async (id: string) => (await pg<{ name: string; balance: string }>(`SELECT name, balance::text AS balance FROM accounts WHERE id = $1`, [id]))[0];
  const localAccount = (t: Terminal, id: string) => t.local.prepare(`SELECT name, balance FROM accounts WHERE id = ?`).get(id) as { name: string; balance: string } | undefined;
  const entryIds = (t: Terminal) => new Set((t.local.prepare(`SELECT id FROM entries`).all() as Array<{ id: string }>).map((r) => r.id));

  it('B and C get every one of A’s rows on their next pull; LWW on updated_at decides, and every loser is recorded', async () => {
    // The shared catalogue, ten days old, and three tags.
    for (let n = 1; n <= 6; n++) await pg(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'seed', 10, $2)`, [C(n), ago(10 * DAY)]);
    for (let n = 1; n <= 3; n++) await pg(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 'seed', $2)`, [TAG(n), ago(10 * DAY)]);
    for (const t of [a, b, c]) expectNoTableErrors(await t.sync('both'));

    // --- A goes offline. What the till records over the next days, with the till's own (real) times.
    const A = a.local;
    A.transaction(() => {
      A.prepare(`INSERT INTO accounts (id, name, balance, updated_at) VALUES (?, 'opened offline', '0', ?)`).run(A_ACCOUNT, ago(3 * DAY + 3_600_000));
      A_ENTRIES.forEach((id, i) =>
        A.prepare(`INSERT INTO entries (id, account_id, amount, note, updated_at) VALUES (?, ?, ?, 'sale', ?)`).run(id, i % 2 ? A_ACCOUNT : C(1), `${i + 1}.00`, ago(3 * DAY - i * 60_000)),
      );
    })();
    // Two days ago: corrections and voids of some of those sales, and edits of the catalogue.
    EDITED.forEach((id, i) => A.prepare(`UPDATE entries SET amount = ?, note = 'corrected', updated_at = ? WHERE id = ?`).run(`${100 + i}.50`, ago(2 * DAY - i * 60_000), id));
    VOIDED.forEach((id, i) => A.prepare(`UPDATE entries SET deleted_at = ?, updated_at = ? WHERE id = ?`).run(ago(2 * DAY - i * 60_000), ago(2 * DAY - i * 60_000), id));
    A.prepare(`UPDATE accounts SET name = 'A: renamed', updated_at = ? WHERE id = ?`).run(ago(2 * DAY), C(1)); // the cloud renames it later: cloud wins
    A.prepare(`UPDATE accounts SET name = 'A: renamed', updated_at = ? WHERE id = ?`).run(ago(3 * DAY), C(2)); // beats a price list dated 4 days ago
    A.prepare(`UPDATE accounts SET balance = '33.00', updated_at = ? WHERE id = ?`).run(ago(2 * DAY), C(3)); // B's newer unpushed edit beats it
    A.prepare(`UPDATE accounts SET name = 'A: renamed', updated_at = ? WHERE id = ?`).run(ago(2 * DAY), C(6)); // beats C's unpushed correction dated 4 days ago
    A.prepare(`DELETE FROM tags WHERE id IN (?, ?)`).run(TAG(1), TAG(2)); // the cloud edits tag 1 afterwards: the edit wins

    // --- Meanwhile B and C keep syncing, with cloud edits in between: their pull checkpoints move
    // far past anything A will push.
    await pg(`UPDATE accounts SET name = 'cloud: renamed', updated_at = $1 WHERE id = $2`, [ago(0), C(1)]);
    await pg(`UPDATE accounts SET name = 'cloud: price list', updated_at = $1 WHERE id = $2`, [ago(4 * DAY), C(2)]);
    await pg(`UPDATE tags SET label = 'cloud', updated_at = $1 WHERE id = $2`, [ago(0), TAG(1)]);
    let bEntries = 0;
    let cEntries = 0;
    for (let round = 1; round <= 3; round++) {
      await pg(`UPDATE accounts SET balance = balance + 1, updated_at = $1 WHERE id = $2`, [ago(0), C(4)]);
      await pg(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'cloud new', 0, $2)`, [uid(round, 7), ago(0)]);
      for (let j = 1; j <= 5; j++) {
        b.local.prepare(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES (?, ?, '1.00', ?)`).run(uid(round * 10 + j, 4), C(4), ago(0));
        c.local.prepare(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES (?, ?, '2.00', ?)`).run(uid(round * 10 + j, 5), C(5), ago(0));
        bEntries++;
        cEntries++;
      }
      b.local.prepare(`UPDATE accounts SET name = ?, updated_at = ? WHERE id = ?`).run(`B round ${round}`, ago(0), C(5));
      expectNoTableErrors(await b.sync('both'));
      expectNoTableErrors(await c.sync('both'));
      expectNoTableErrors(await b.sync('both'));
    }
    // Unpushed local edits on B and C when A's rows arrive: they contest A's versions on pull.
    b.local.prepare(`UPDATE accounts SET balance = '44.00', updated_at = ? WHERE id = ?`).run(ago(0), C(3));
    c.local.prepare(`UPDATE accounts SET name = 'C: correction', updated_at = ? WHERE id = ?`).run(ago(4 * DAY), C(6));

    // --- A comes back and syncs.
    const back = await a.sync('both');
    expectNoTableErrors(back);
    expect(totals(back, { step: 'push', table: 'entries' })).toMatchObject({ inserted: 40, conflicts: 0, deferred: 0, rejected: 0 });
    expect(totals(back, { step: 'push', table: 'accounts' })).toMatchObject({ inserted: 1, conflicts: 2 });
    expect(totals(back, { step: 'push', table: 'tags' })).toMatchObject({ deleted: 1, conflicts: 1 });
    // A downloads the others' sales, never its own (guarantee 9).
    expect(totals(back, { step: 'pull', table: 'entries' })).toMatchObject({ inserted: bEntries + cEntries, updated: 0, unchanged: 0 });

    // Push conflicts are in possync.conflicts with both versions; the newer updated_at won.
    const pushConflicts = await pg<{ key: string; winner: string; local: string | null; server: string | null }>(
      `SELECT key, winner, coalesce(local_row->>'name', local_row->>'label') AS local, coalesce(server_row->>'name', server_row->>'label') AS server
         FROM possync.conflicts WHERE terminal_id = 'till-a' ORDER BY tbl, key`,
    );
    expect(pushConflicts).toEqual([
      { key: JSON.stringify([C(1)]), winner: 'server', local: 'A: renamed', server: 'cloud: renamed' },
      { key: JSON.stringify([C(2)]), winner: 'local', local: 'A: renamed', server: 'cloud: price list' },
      { key: JSON.stringify([TAG(1)]), winner: 'server', local: null, server: 'cloud' },
    ]);
    expect(localAccount(a, C(1))?.name).toBe('cloud: renamed'); // the losing local edit was replaced

    // --- B's and C's next pull brings every one of A's rows, days old as they are.
    const bPull = await b.sync('pull');
    const cPull = await c.sync('pull');
    expectNoTableErrors(bPull);
    expectNoTableErrors(cPull);
    const cloudEntries = await pg<Record<string, unknown>>(`SELECT id::text AS id FROM entries WHERE id = ANY($1::uuid[])`, [A_ENTRIES]);
    expect(cloudEntries).toHaveLength(40);
    for (const t of [b, c]) {
      const have = entryIds(t);
      expect(A_ENTRIES.filter((id) => !have.has(id)), `${t.id} is missing A's entries`).toEqual([]);
      expect(localAccount(t, A_ACCOUNT)?.name).toBe('opened offline');
      const mine = (localRows(t.local, 'entries') as unknown as EntryRow[]).filter((r) => A_ENTRIES.includes(r.id));
      const theirs = (localRows(a.local, 'entries') as unknown as EntryRow[]).filter((r) => A_ENTRIES.includes(r.id));
      expect(mine).toEqual(theirs); // corrections and voids included, timestamps as A wrote them
      expect(t.local.prepare(`SELECT id FROM tags ORDER BY id`).all()).toEqual([{ id: TAG(1) }, { id: TAG(3) }]);
    }
    expect(totals(bPull, { step: 'pull', table: 'entries' }).inserted).toBeGreaterThanOrEqual(40);

    // Pull conflicts are in the terminal's _possync_conflicts with both versions.
    const pullConflicts = (t: Terminal) =>
      t.local.prepare(`SELECT tbl, key, winner, local_row ->> '$.name' AS ln, local_row ->> '$.balance' AS lb, server_row ->> '$.name' AS sn, server_row ->> '$.balance' AS sb FROM _possync_conflicts ORDER BY id`).all();
    expect(pullConflicts(b)).toEqual([{ tbl: 'accounts', key: JSON.stringify([C(3)]), winner: 'local', ln: 'seed', lb: '44.00', sn: 'seed', sb: '33.00' }]);
    expect(pullConflicts(c)).toEqual([{ tbl: 'accounts', key: JSON.stringify([C(6)]), winner: 'server', ln: 'C: correction', lb: '10.00', sn: 'A: renamed', sb: '10.00' }]);
    expect(localAccount(c, C(6))?.name).toBe('A: renamed');
    expect(localAccount(b, C(3))?.balance).toBe('44.00');

    // --- Everyone syncs twice more: one state everywhere, and the newest edit of every row won.
    for (let round = 0; round < 2; round++) for (const t of [a, b, c]) expectNoTableErrors(await t.sync('both'));
    for (const t of [a, b, c]) await expectInSync(t.config);
    const want: Record<string, { name: string; balance: string }> = {
      [C(1)]: { name: 'cloud: renamed', balance: '10.00' },
      [C(2)]: { name: 'A: renamed', balance: '10.00' },
      [C(3)]: { name: 'seed', balance: '44.00' },
      [C(6)]: { name: 'A: renamed', balance: '10.00' },
    };
    for (const [id, row] of Object.entries(want)) {
      expect(await cloudAccount(id)).toEqual(row);
      for (const t of [a, b, c]) expect(localAccount(t, id), `${t.id} ${id}`).toEqual(row);
    }
    const cloudTags = await pg(`SELECT id::text AS id, label FROM tags ORDER BY id`);
    expect(cloudTags).toEqual([
      { id: TAG(1), label: 'cloud' },
      { id: TAG(3), label: 'seed' },
    ]);
    const voided = await pg<{ n: string }>(`SELECT count(*)::text AS n FROM entries WHERE id = ANY($1::uuid[]) AND deleted_at IS NOT NULL`, [VOIDED]);
    expect(voided[0]!.n).toBe('5');
    for (const t of [a, b, c]) expect(appliedRows(await t.sync('both')), `${t.id} moved rows after convergence`).toBe(0);
  });
});
