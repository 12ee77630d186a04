import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appliedRows, createLedger, expectInSync, expectNoTableErrors, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// Guarantee 5: a hard delete on SQLite and a tombstone (or hard delete) on Postgres reach the
// other side; delete-vs-update conflicts follow LWW (the newer wins, in both orders); a tombstone
// is never resurrected by a stale update.
const HOUR = 3_600_000;
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

type Table = 'accounts' | 'tags';
interface Case {
  n: number;
  table: Table;
  /** Who deletes: the terminal (a SQLite DELETE) or Postgres (a DELETE, or a tombstone UPDATE). */
  deleter: 'local' | 'pg-hard' | 'pg-tombstone';
  /** The other side's concurrent update: older or newer than the delete, or none. */
  update: 'none' | 'older' | 'newer';
  /** The terminal that edits: a syncs with `both` (push decides), b pulls first (pull decides). */
  on: 'a' | 'b';
}

const cases: Case[] = [];
for (const on of ['a', 'b'] as const) {
  for (const update of ['none', 'older', 'newer'] as const) {
    for (const deleter of ['local', 'pg-hard', 'pg-tombstone'] as const) {
      for (const table of ['accounts', 'tags'] as const) {
        if (table === 'tags' && deleter === 'pg-tombstone') continue; // tags have no deletedCol
        cases.push({ n: cases.length + 1, table, deleter, update, on });
      }
    }
  }
}
const label = (c: Case) => `#${c.n} ${c.table} deleted by ${c.deleter}, ${c.update} update, terminal ${c.on}`;
const nameCol = (t: Table) => (t === 'accounts' ? 'name' : 'label');

describe('deletes (guarantee 5)', () => {
  let ledger: Ledger;
  let a: Terminal;
  let b: Terminal;

  // A fresh database per test, so one test's outcome cannot mask or fail another's.
  beforeEach(async () => {
    ledger = await createLedger('deletes', { batchSize: 3 });
    a = ledger.terminal('till-a');
    b = ledger.terminal('till-b');
  });
  afterEach(async () => {
    await ledger.cleanup();
  });

  it('deletes propagate both ways and delete-vs-update conflicts go to the newer side', async () => {
    for (const c of cases) {
      await ledger.db.query(`INSERT INTO ${c.table} (id, ${nameCol(c.table)}, updated_at) VALUES ($1, 'original', $2)`, [uid(c.n), iso(-2 * HOUR)]);
    }
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('both'));

    // Deletes happen now; the concurrent update is an hour older or an hour newer than that.
    for (const c of cases) {
      const term = c.on === 'a' ? a : b;
      const col = nameCol(c.table);
      const updatedAt = iso(c.update === 'older' ? -HOUR : HOUR);
      const localUpdate = () => term.local.prepare(`UPDATE ${c.table} SET ${col} = 'updated', updated_at = ? WHERE id = ?`).run(updatedAt, uid(c.n));
      const pgUpdate = () => ledger.db.query(`UPDATE ${c.table} SET ${col} = 'updated', updated_at = $1 WHERE id = $2`, [updatedAt, uid(c.n)]);
      if (c.deleter === 'local') {
        if (c.update !== 'none') await pgUpdate();
        term.local.prepare(`DELETE FROM ${c.table} WHERE id = ?`).run(uid(c.n));
      } else {
        if (c.update !== 'none') localUpdate();
        if (c.deleter === 'pg-hard') await ledger.db.query(`DELETE FROM ${c.table} WHERE id = $1`, [uid(c.n)]);
        else await ledger.db.query(`UPDATE accounts SET deleted_at = now(), updated_at = now() WHERE id = $1`, [uid(c.n)]);
      }
    }

    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('pull'));
    for (let round = 0; round < 2; round++) {
      expectNoTableErrors(await b.sync('both'));
      expectNoTableErrors(await a.sync('both'));
    }

    const failures: string[] = [];
    for (const c of cases) {
      const col = nameCol(c.table);
      const deletedCol = c.table === 'accounts' ? ', deleted_at::text AS deleted_at' : ', NULL AS deleted_at';
      const [cloud] = await ledger.db.query<{ name: string; deleted_at: string | null }>(`SELECT ${col} AS name${deletedCol} FROM ${c.table} WHERE id = $1`, [uid(c.n)]);
      const live = (row: { name: unknown; deleted_at: unknown } | undefined) => (row && row.deleted_at === null ? String(row.name) : 'deleted');
      const localRow = (t: Terminal) =>
        t.local.prepare(`SELECT ${col} AS name${c.table === 'accounts' ? ', deleted_at' : ', NULL AS deleted_at'} FROM ${c.table} WHERE id = ?`).get(uid(c.n)) as
          | { name: string; deleted_at: string | null }
          | undefined;
      const expected = c.update === 'newer' ? 'updated' : 'deleted';
      const got = { pg: live(cloud), a: live(localRow(a)), b: live(localRow(b)) };
      if (got.pg !== expected || got.a !== expected || got.b !== expected) failures.push(`${label(c)}: expected ${expected} everywhere, got ${JSON.stringify(got)}`);
      // Where Postgres has a deletedCol, a terminal's hard delete arrives as a tombstone, not a DELETE.
      if (c.table === 'accounts' && c.deleter === 'local' && expected === 'deleted' && !cloud) failures.push(`${label(c)}: no tombstone in Postgres`);
      if (c.table === 'tags' && expected === 'deleted' && cloud) failures.push(`${label(c)}: still in Postgres`);
    }
    expect(failures).toEqual([]);
    await expectInSync(a.config);
    await expectInSync(b.config);
    expect(appliedRows(await a.sync('both'))).toBe(0);
    expect(appliedRows(await b.sync('both'))).toBe(0);
  });

  it('a delete pushed late does not beat an update made after the delete happened', async () => {
    // a deletes the rows, b updates them a moment later, then a pushes: the update is newer than
    // the delete (it happened later), even though it reaches Postgres after the delete does.
    const ACC = uid(1, 88);
    const TAG = uid(2, 88);
    await ledger.db.query(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'x', $2)`, [ACC, iso(-HOUR)]);
    await ledger.db.query(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 'x', $2)`, [TAG, iso(-HOUR)]);
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('both'));
    a.local.prepare(`DELETE FROM accounts WHERE id = ?`).run(ACC);
    a.local.prepare(`DELETE FROM tags WHERE id = ?`).run(TAG);
    await new Promise((r) => setTimeout(r, 50));
    b.local.prepare(`UPDATE accounts SET name = 'newer', updated_at = ? WHERE id = ?`).run(iso(0), ACC);
    b.local.prepare(`UPDATE tags SET label = 'newer', updated_at = ? WHERE id = ?`).run(iso(0), TAG);
    await new Promise((r) => setTimeout(r, 50));
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('both'));
    expectNoTableErrors(await a.sync('both'));
    for (const [table, id, col] of [['accounts', ACC, 'name'], ['tags', TAG, 'label']] as const) {
      const extra = table === 'accounts' ? ' AND deleted_at IS NULL' : '';
      const cloud = await ledger.db.query(`SELECT ${col} AS v FROM ${table} WHERE id = $1${extra}`, [id]);
      const local = [a, b].map((t) => t.local.prepare(`SELECT ${col} AS v FROM ${table} WHERE id = ?${extra}`).get(id));
      expect({ table, cloud, local }).toEqual({ table, cloud: [{ v: 'newer' }], local: [{ v: 'newer' }, { v: 'newer' }] });
    }
    await expectInSync(a.config);
    await expectInSync(b.config);
  });

  it('the newest delete wins even when the row was already deleted in Postgres by an older delete', async () => {
    // Postgres deletes the rows; a (not synced) updates them after that; b (not synced) deletes
    // them after a's update. b's delete is the newest edit, so the rows must end up deleted,
    // although b's delete finds nothing left to delete when it reaches Postgres.
    const ACC = uid(1, 99);
    const TAG = uid(2, 99);
    await ledger.db.query(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'x', $2)`, [ACC, iso(-HOUR)]);
    await ledger.db.query(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 'x', $2)`, [TAG, iso(-HOUR)]);
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('both'));
    const pause = () => new Promise((r) => setTimeout(r, 30));
    await ledger.db.query(`DELETE FROM accounts WHERE id = $1`, [ACC]);
    await ledger.db.query(`DELETE FROM tags WHERE id = $1`, [TAG]);
    await pause();
    a.local.prepare(`UPDATE accounts SET name = 'older update', updated_at = ? WHERE id = ?`).run(iso(0), ACC);
    a.local.prepare(`UPDATE tags SET label = 'older update', updated_at = ? WHERE id = ?`).run(iso(0), TAG);
    await pause();
    b.local.prepare(`DELETE FROM accounts WHERE id = ?`).run(ACC);
    b.local.prepare(`DELETE FROM tags WHERE id = ?`).run(TAG);
    expectNoTableErrors(await b.sync('both'));
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('both'));
    const live = {
      pg: [...(await ledger.db.query(`SELECT id::text AS id FROM accounts WHERE id = $1 AND deleted_at IS NULL`, [ACC])), ...(await ledger.db.query(`SELECT id::text AS id FROM tags WHERE id = $1`, [TAG]))],
      a: [a.local.prepare(`SELECT id FROM accounts WHERE id = ? AND deleted_at IS NULL`).get(ACC), a.local.prepare(`SELECT id FROM tags WHERE id = ?`).get(TAG)].filter(Boolean),
      b: [b.local.prepare(`SELECT id FROM accounts WHERE id = ? AND deleted_at IS NULL`).get(ACC), b.local.prepare(`SELECT id FROM tags WHERE id = ?`).get(TAG)].filter(Boolean),
    };
    expect(live).toEqual({ pg: [], a: [], b: [] });
    await expectInSync(a.config);
    await expectInSync(b.config);
  });

  it('a newer hard delete of a row Postgres has already tombstoned still beats an update in between (soak seed 494)', async () => {
    // Postgres tombstones the account; b (not synced) updates it after that; a (not synced)
    // hard-deletes it after b's update. a pushes first: the row is already a tombstone in
    // Postgres, but a's delete is the newest edit and must still win over b's update.
    const ACC = uid(1, 55);
    await ledger.db.query(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'x', $2)`, [ACC, iso(-HOUR)]);
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('both'));
    const pause = () => new Promise((r) => setTimeout(r, 30));
    await ledger.db.query(`UPDATE accounts SET deleted_at = now(), updated_at = now() WHERE id = $1`, [ACC]);
    await pause();
    b.local.prepare(`UPDATE accounts SET name = 'older update', updated_at = ? WHERE id = ?`).run(iso(0), ACC);
    await pause();
    a.local.prepare(`DELETE FROM accounts WHERE id = ?`).run(ACC);
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('both'));
    expectNoTableErrors(await a.sync('both'));
    const live = {
      pg: await ledger.db.query(`SELECT name FROM accounts WHERE id = $1 AND deleted_at IS NULL`, [ACC]),
      a: a.local.prepare(`SELECT name FROM accounts WHERE id = ? AND deleted_at IS NULL`).all(ACC),
      b: b.local.prepare(`SELECT name FROM accounts WHERE id = ? AND deleted_at IS NULL`).all(ACC),
    };
    expect(live).toEqual({ pg: [], a: [], b: [] });
    await expectInSync(a.config);
    await expectInSync(b.config);
  });

  it("a terminal's first push does not resurrect rows deleted since it pulled them", async () => {
    // a and b pull; b deletes the rows (the tags table is then empty in Postgres); a pushes for the
    // first time: its initial scan must not bring the rows back, it merely pulled them.
    const ACC = uid(1, 66);
    const TAG = uid(2, 66);
    await ledger.db.query(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'x', $2)`, [ACC, iso(-HOUR)]);
    await ledger.db.query(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 'x', $2)`, [TAG, iso(-HOUR)]);
    expectNoTableErrors(await a.sync('pull'));
    expectNoTableErrors(await b.sync('pull'));
    b.local.prepare(`DELETE FROM accounts WHERE id = ?`).run(ACC);
    b.local.prepare(`DELETE FROM tags WHERE id = ?`).run(TAG);
    expectNoTableErrors(await b.sync('push'));
    expectNoTableErrors(await a.sync('push'));
    expectNoTableErrors(await a.sync('both'));
    expect(await ledger.db.query(`SELECT id::text AS id FROM tags`)).toEqual([]);
    expect(await ledger.db.query(`SELECT id::text AS id FROM accounts WHERE deleted_at IS NULL`)).toEqual([]);
    expect(a.local.prepare(`SELECT id FROM tags`).all()).toEqual([]);
    expect(a.local.prepare(`SELECT id FROM accounts WHERE deleted_at IS NULL`).all()).toEqual([]);
    await expectInSync(a.config);
  });

  it('a tombstone is never resurrected by a stale update from an offline terminal', async () => {
    const ACC = uid(1, 77);
    const TAG = uid(2, 77);
    await ledger.db.query(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'x', $2)`, [ACC, iso(-3 * HOUR)]);
    await ledger.db.query(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 'x', $2)`, [TAG, iso(-3 * HOUR)]);
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('both'));

    // a deletes both rows now; b, offline, edited them an hour ago and only syncs afterwards.
    a.local.prepare(`DELETE FROM accounts WHERE id = ?`).run(ACC);
    a.local.prepare(`DELETE FROM tags WHERE id = ?`).run(TAG);
    expectNoTableErrors(await a.sync('both'));
    b.local.prepare(`UPDATE accounts SET name = 'stale', updated_at = ? WHERE id = ?`).run(iso(-HOUR), ACC);
    b.local.prepare(`UPDATE tags SET label = 'stale', updated_at = ? WHERE id = ?`).run(iso(-HOUR), TAG);
    // Postgres tombstones the account itself too, later, with an older stale edit from b queued behind it.
    expectNoTableErrors(await b.sync('push'));
    expectNoTableErrors(await b.sync('both'));
    expectNoTableErrors(await a.sync('both'));

    const [acc] = await ledger.db.query<{ name: string; deleted_at: string | null }>(`SELECT name, deleted_at::text AS deleted_at FROM accounts WHERE id = $1`, [ACC]);
    expect(acc?.name).toBe('x');
    expect(acc?.deleted_at).not.toBeNull();
    expect(await ledger.db.query(`SELECT 1 FROM tags WHERE id = $1`, [TAG])).toEqual([]);
    const bAcc = b.local.prepare(`SELECT deleted_at FROM accounts WHERE id = ?`).get(ACC) as { deleted_at: string | null } | undefined;
    expect(bAcc === undefined || bAcc.deleted_at !== null, JSON.stringify(bAcc)).toBe(true);
    expect(b.local.prepare(`SELECT 1 FROM tags WHERE id = ?`).get(TAG)).toBeUndefined();
    expect(a.local.prepare(`SELECT 1 FROM accounts WHERE id = ? AND deleted_at IS NULL`).get(ACC)).toBeUndefined();

    // And a stale update of a row tombstoned in Postgres by an admin.
    const ACC2 = uid(3, 77);
    await ledger.db.query(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'y', $2)`, [ACC2, iso(-3 * HOUR)]);
    expectNoTableErrors(await b.sync('both'));
    await ledger.db.query(`UPDATE accounts SET deleted_at = now(), updated_at = now() WHERE id = $1`, [ACC2]);
    b.local.prepare(`UPDATE accounts SET name = 'stale', updated_at = ? WHERE id = ?`).run(iso(-HOUR), ACC2);
    expectNoTableErrors(await b.sync('push'));
    expectNoTableErrors(await b.sync('both'));
    const [acc2] = await ledger.db.query<{ name: string; deleted_at: string | null }>(`SELECT name, deleted_at::text AS deleted_at FROM accounts WHERE id = $1`, [ACC2]);
    expect(acc2?.deleted_at).not.toBeNull();
    expect(acc2?.name).toBe('y');
    expect(b.local.prepare(`SELECT name, deleted_at IS NOT NULL AS gone FROM accounts WHERE id = ?`).get(ACC2)).toEqual({ name: 'y', gone: 1 });
    await expectInSync(a.config);
    await expectInSync(b.config);
  });
});
