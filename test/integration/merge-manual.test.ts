import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { at, createLedger, expectInSync, expectNoTableErrors, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// conflict "manual": a row both sides changed is set aside with both versions. Neither side is
// overwritten, the rest of the table keeps syncing, and `possync conflicts` lists it until an
// admin decides with `possync conflicts resolve`; the next run carries the decision out both ways.
const PG = `
CREATE TABLE items (id uuid PRIMARY KEY, name text NOT NULL, price numeric(12,2) NOT NULL, note text, updated_at timestamptz(3) NOT NULL);
CREATE TABLE lines (order_id text NOT NULL, line_no integer NOT NULL, qty integer NOT NULL, PRIMARY KEY (order_id, line_no));
CREATE TABLE goods (id uuid PRIMARY KEY, name text NOT NULL, price numeric(12,2) NOT NULL, note text, stock integer NOT NULL, updated_at timestamptz(3) NOT NULL);
`;
const SQLITE = `
CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT NOT NULL, price TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL);
CREATE TABLE lines (order_id TEXT NOT NULL, line_no INTEGER NOT NULL, qty INTEGER NOT NULL, PRIMARY KEY (order_id, line_no));
CREATE TABLE goods (id TEXT PRIMARY KEY, name TEXT NOT NULL, price TEXT NOT NULL, note TEXT, stock INTEGER NOT NULL, updated_at TEXT NOT NULL);
`;
const TABLES = [
  { name: 'items', pk: 'id', updatedCol: 'updated_at', conflict: 'manual' },
  { name: 'lines', pk: ['order_id', 'line_no'], conflict: 'manual' },
  { name: 'goods', pk: 'id', updatedCol: 'updated_at', conflict: 'manual', merge: 'column', counters: ['stock'] },
];

// CLI subprocesses are slow on a loaded machine: each test has room for a dozen of them.
const SLOW = 240_000;

interface Listed {
  terminalId: string;
  count: number;
  tables: Record<string, number>;
  open: Array<{
    table: string;
    key: string;
    columns: Array<{ column: string; till: string | null; cloud: string | null }>;
    till: Record<string, string | null> | null;
    cloud: Record<string, string | null> | null;
    deletedOn: string | null;
    ageSeconds: number;
    decision: { keep: string } | null;
  }>;
}

describe('conflict "manual"', () => {
  let ledger: Ledger;
  let a: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('merge_manual', { extraPg: PG, extraSqlite: SQLITE, extraTables: TABLES });
    a = ledger.terminal('till-a');
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  const cloudRow = async (n: number) => (await ledger.db.query<Record<string, string | null>>(`SELECT name, price::text AS price, note FROM items WHERE id = $1`, [uid(n)]))[0];
  const tillRow = (n: number) => a.local.prepare(`SELECT name, price, note FROM items WHERE id = ?`).get(uid(n)) as Record<string, string | null> | undefined;
  const cli = (args: string[]) => runCli([...args, '--config', a.configPath]);
  const listed = async (): Promise<Listed> => {
    const r = await cli(['conflicts', '--json']);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as Listed;
    expect(r.code).toBe(doc.count > 0 ? 1 : 0);
    return doc;
  };
  const openFor = async (n: number) => (await listed()).open.filter((o) => o.table === 'items' && o.key === uid(n));
  const seed = async (ns: number[]) => {
    for (const n of ns) await ledger.db.query(`INSERT INTO items VALUES ($1, 'Tea', 2.50, NULL, $2)`, [uid(n), at(0)]);
    expectNoTableErrors(await a.sync('both'));
  };
  const editTill = (n: number, set: string, ms: number) => a.local.prepare(`UPDATE items SET ${set}, updated_at = ? WHERE id = ?`).run(at(ms), uid(n));
  const editCloud = (n: number, set: string, ms: number) => ledger.db.query(`UPDATE items SET ${set}, updated_at = $2 WHERE id = $1`, [uid(n), at(ms)]);
  const moved = (r: Awaited<ReturnType<Terminal['sync']>>) => totals(r).inserted + totals(r).updated + totals(r).deleted;
  const logged = async (n: number) => {
    const r = await cli(['conflicts', '--log', '--table', 'items', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { terminal: Array<{ key: string; direction: string; policy: string; winner: string; result?: unknown }>; cloud: Array<{ key: string; winner: string; policy: string }> };
    const key = JSON.stringify([uid(n)]);
    return { till: doc.terminal.filter((x) => x.key === key), cloud: doc.cloud.filter((x) => x.key === key) };
  };

  // A line both sides changed (qty 5 on the till, 7 in the cloud), synced: one open conflict.
  const clashLine = async (order: string, lineNo: number) => {
    await ledger.db.query(`INSERT INTO lines VALUES ($1, $2, 1)`, [order, lineNo]);
    expectNoTableErrors(await a.sync('both'));
    a.local.prepare(`UPDATE lines SET qty = 5 WHERE order_id = ? AND line_no = ?`).run(order, lineNo);
    await ledger.db.query(`UPDATE lines SET qty = 7 WHERE order_id = $1 AND line_no = $2`, [order, lineNo]);
    expectNoTableErrors(await a.sync('both'));
  };

  it('sets a row both sides changed aside, lists it with both versions, and keeps syncing the rest', async () => {
    await seed([1, 2, 3, 4]);
    // Row 1: both change it (the push meets it). Row 3 only on the till, row 4 only in the cloud.
    editTill(1, `name = 'Green tea'`, 1000);
    await editCloud(1, `price = 2.75`, 2000);
    editTill(3, `note = 'till'`, 1000);
    await editCloud(4, `note = 'cloud'`, 1000);
    const first = await a.sync('both');
    expectNoTableErrors(first);
    expect(totals(first, { table: 'items', step: 'push' }).conflicts).toBe(1);

    expect(await cloudRow(1)).toEqual({ name: 'Tea', price: '2.75', note: null });
    expect(tillRow(1)).toEqual({ name: 'Green tea', price: '2.50', note: null });
    expect(await cloudRow(3)).toMatchObject({ note: 'till' });
    expect(tillRow(4)).toMatchObject({ note: 'cloud' });

    const open = await openFor(1);
    expect(open).toHaveLength(1);
    expect(open[0]!.columns).toEqual([
      { column: 'name', till: 'Green tea', cloud: 'Tea' },
      { column: 'price', till: '2.50', cloud: '2.75' },
      { column: 'updated_at', till: expect.any(String), cloud: expect.any(String) },
    ]);
    expect(open[0]!.till).toMatchObject({ name: 'Green tea', price: '2.50' });
    expect(open[0]!.cloud).toMatchObject({ name: 'Tea', price: '2.75' });
    expect(open[0]!.decision).toBeNull();
    expect(open[0]!.ageSeconds).toBeGreaterThanOrEqual(0);
    // Recorded once in the history, as opened (push side: in the cloud).
    expect((await logged(1)).cloud).toMatchObject([{ winner: 'open', policy: 'manual' }]);

    // A second run changes nothing, and the row is still listed once.
    const again = await a.sync('both');
    expectNoTableErrors(again);
    expect(moved(again)).toBe(0);
    expect(await openFor(1)).toHaveLength(1);
    expect(await cloudRow(1)).toEqual({ name: 'Tea', price: '2.75', note: null });
    expect(tillRow(1)).toEqual({ name: 'Green tea', price: '2.50', note: null });

    // Row 2: the pull meets it (a cloud change against a local change not pushed yet).
    editTill(2, `note = 'till'`, 1000);
    await editCloud(2, `note = 'cloud'`, 2000);
    const pulled = await a.sync('pull');
    expectNoTableErrors(pulled);
    expect(totals(pulled, { table: 'items' }).conflicts).toBe(1);
    expect(tillRow(2)).toMatchObject({ note: 'till' });
    expect((await openFor(2))[0]!.columns.map((c) => c.column)).toEqual(['note', 'updated_at']);
    expect((await logged(2)).till).toMatchObject([{ direction: 'pull', winner: 'open', policy: 'manual' }]);
    const after = await a.sync('both');
    expect(moved(after)).toBe(0);
    expect(await cloudRow(2)).toMatchObject({ note: 'cloud' });
    expect(tillRow(2)).toMatchObject({ note: 'till' });

    // The human listing: table, key, each differing column with both values, age.
    const text = await cli(['conflicts']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`items ${uid(1)}  open  for`);
    expect(text.stdout).toMatch(/name\s+till "Green tea"  cloud "Tea"/);
    expect(text.stdout).toContain('2 open conflicts');

    // status counts them, per table in --json.
    const status = await cli(['status', '--json']);
    const doc = JSON.parse(status.stdout) as { conflicts: { open: number }; tables: Array<{ table: string; openConflicts: number }> };
    expect(doc.conflicts.open).toBe(2);
    expect(doc.tables.find((t) => t.table === 'items')?.openConflicts).toBe(2);
    expect(doc.tables.find((t) => t.table === 'accounts')?.openConflicts).toBe(0);
    expect((await cli(['status'])).stdout).toContain('open conflicts: 2 waiting for an admin (items 2)');
  }, SLOW);

  it('resolve --keep till, --keep cloud and --set: the next run carries each out both ways, and the log records it', async () => {
    const till = await cli(['conflicts', 'resolve', 'items', uid(1), '--keep', 'till']);
    expect(till.stderr).toBe('');
    expect(till.code).toBe(0);
    expect(till.stdout).toContain(`decided items ${uid(1)}: the cloud takes the till's row on the next run`);
    const cloud = await cli(['conflicts', 'resolve', 'items', uid(2), '--keep', 'cloud', '--json']);
    expect(cloud.code).toBe(0);
    expect(JSON.parse(cloud.stdout)).toMatchObject({ table: 'items', key: uid(2), decision: { keep: 'cloud' } });
    // Nothing is sent yet.
    expect(await cloudRow(1)).toMatchObject({ name: 'Tea' });
    expect((await listed()).open.map((o) => o.decision?.keep)).toEqual(['till', 'cloud']);

    const run = await a.sync('both');
    expectNoTableErrors(run);
    expect(await cloudRow(1)).toEqual({ name: 'Green tea', price: '2.50', note: null });
    expect(tillRow(1)).toEqual({ name: 'Green tea', price: '2.50', note: null });
    expect(await cloudRow(2)).toMatchObject({ note: 'cloud' });
    expect(tillRow(2)).toMatchObject({ note: 'cloud' });
    expect((await listed()).count).toBe(0);
    // The till's change of row 2 is gone: nothing is pending, nothing echoes back.
    expect(a.local.prepare(`SELECT count(*) AS n FROM _possync_changes WHERE tbl = 'items'`).get()).toEqual({ n: 0 });
    const quiet = await a.sync('both');
    expect(moved(quiet)).toBe(0);
    expect((await logged(1)).till).toMatchObject([{ direction: 'resolve', policy: 'manual', winner: 'till' }]);
    expect((await logged(2)).till.map((x) => `${x.direction} ${x.winner}`)).toEqual(['resolve cloud', 'pull open']);

    // --set: values on top of the cloud's row.
    await seed([5]);
    editTill(5, `name = 'Earl Grey'`, 1000);
    await editCloud(5, `name = 'Assam', price = 3.10`, 2000);
    await a.sync('both');
    expect(await openFor(5)).toHaveLength(1);
    const set = await cli(['conflicts', 'resolve', 'items', uid(5), '--set', 'name=Breakfast tea', 'note=by hand']);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('both take the cloud\'s row with name = "Breakfast tea", note = "by hand"');
    expectNoTableErrors(await a.sync('both'));
    expect(await cloudRow(5)).toEqual({ name: 'Breakfast tea', price: '3.10', note: 'by hand' });
    expect(tillRow(5)).toEqual({ name: 'Breakfast tea', price: '3.10', note: 'by hand' });
    expect((await logged(5)).till).toMatchObject([{ direction: 'resolve', winner: 'set' }]);
    expect(moved(await a.sync('both'))).toBe(0);
    await expectInSync(a.config);
  }, SLOW);

  it('a new edit on the losing side after the decision opens the conflict again instead of overwriting it', async () => {
    await seed([6, 7]);
    for (const n of [6, 7]) {
      editTill(n, `name = 'till ${n}'`, 1000);
      await editCloud(n, `name = 'cloud ${n}'`, 2000);
    }
    await a.sync('both');
    expect((await cli(['conflicts', 'resolve', 'items', uid(6), '--keep', 'till'])).code).toBe(0);
    expect((await cli(['conflicts', 'resolve', 'items', uid(7), '--keep', 'cloud'])).code).toBe(0);
    // After the decisions: the cloud edits row 6 again, the till edits row 7 again.
    await editCloud(6, `note = 'newer in the cloud'`, 3000);
    editTill(7, `note = 'newer on the till'`, 3000);
    const run = await a.sync('both');
    expectNoTableErrors(run);
    expect(await cloudRow(6)).toEqual({ name: 'cloud 6', price: '2.50', note: 'newer in the cloud' });
    expect(tillRow(6)).toEqual({ name: 'till 6', price: '2.50', note: null });
    expect(await cloudRow(7)).toEqual({ name: 'cloud 7', price: '2.50', note: null });
    expect(tillRow(7)).toEqual({ name: 'till 7', price: '2.50', note: 'newer on the till' });
    const open = (await listed()).open.filter((o) => o.key === uid(6) || o.key === uid(7));
    expect(open.map((o) => [o.key, o.decision])).toEqual([
      [uid(6), null],
      [uid(7), null],
    ]);
    expect(open[0]!.cloud).toMatchObject({ note: 'newer in the cloud' });
    expect(open[1]!.till).toMatchObject({ note: 'newer on the till' });
    // Decided again, it goes through.
    expect((await cli(['conflicts', 'resolve', 'items', uid(6), '--keep', 'cloud'])).code).toBe(0);
    expect((await cli(['conflicts', 'resolve', 'items', uid(7), '--keep', 'till'])).code).toBe(0);
    expectNoTableErrors(await a.sync('both'));
    expect(tillRow(6)).toEqual({ name: 'cloud 6', price: '2.50', note: 'newer in the cloud' });
    expect(await cloudRow(7)).toEqual({ name: 'till 7', price: '2.50', note: 'newer on the till' });
    expect((await listed()).count).toBe(0);
    await expectInSync(a.config);
  }, SLOW);

  it('a delete against an edit is set aside too; --keep with the deleting side deletes, with the other brings the row back', async () => {
    await seed([8, 9, 10]);
    // 8 and 9: the till deletes, the cloud edits. 10: the cloud deletes, the till edits.
    for (const n of [8, 9]) {
      a.local.prepare(`DELETE FROM items WHERE id = ?`).run(uid(n));
      await editCloud(n, `price = 9.99`, 2000);
    }
    await ledger.db.query(`DELETE FROM items WHERE id = $1`, [uid(10)]);
    editTill(10, `note = 'kept'`, 2000);
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await a.sync('both'));
    expect(tillRow(8)).toBeUndefined();
    expect(await cloudRow(8)).toMatchObject({ price: '9.99' });
    expect(await cloudRow(10)).toBeUndefined();
    expect(tillRow(10)).toMatchObject({ note: 'kept' });
    const open = (await listed()).open.filter((o) => [uid(8), uid(9), uid(10)].includes(o.key));
    expect(open.map((o) => [o.key, o.deletedOn])).toEqual([
      [uid(8), 'till'],
      [uid(9), 'till'],
      [uid(10), 'cloud'],
    ]);
    expect((await cli(['conflicts'])).stdout).toContain('deleted on the till, changed in the cloud');

    for (const [n, keep] of [
      [8, 'cloud'],
      [9, 'till'],
      [10, 'cloud'],
    ] as const) {
      expect((await cli(['conflicts', 'resolve', 'items', uid(n), '--keep', keep])).code).toBe(0);
    }
    expectNoTableErrors(await a.sync('both'));
    expect(tillRow(8)).toEqual({ name: 'Tea', price: '9.99', note: null });
    expect(await cloudRow(9)).toBeUndefined();
    expect(tillRow(9)).toBeUndefined();
    expect(tillRow(10)).toBeUndefined();
    expect((await listed()).count).toBe(0);
    expect(moved(await a.sync('both'))).toBe(0);
    await expectInSync(a.config);
  }, SLOW);

  it('a full pull resync keeps a till row whose cloud row was deleted while the conflict on it is open', async () => {
    await seed([11]);
    await ledger.db.query(`DELETE FROM items WHERE id = $1`, [uid(11)]);
    editTill(11, `note = 'kept through the resync'`, 2000);
    expectNoTableErrors(await a.sync('both'));
    expect((await openFor(11)).map((o) => o.deletedOn)).toEqual(['cloud']);
    // The till's change is settled into the open conflict: the change log no longer holds it.
    expect(a.local.prepare(`SELECT count(*) AS n FROM _possync_changes WHERE tbl = 'items'`).get()).toEqual({ n: 0 });

    const reset = await cli(['reset-checkpoints', '--table', 'items', '--direction', 'pull', '--yes']);
    expect(reset.code).toBe(0);
    const resync = await a.sync('both');
    expectNoTableErrors(resync);
    expect(totals(resync, { table: 'items', step: 'pull' }).deleted).toBe(0);
    expect(tillRow(11)).toMatchObject({ note: 'kept through the resync' });
    expect((await openFor(11)).map((o) => o.deletedOn)).toEqual(['cloud']);

    // The admin can still keep the till's row: the cloud gets it back.
    expect((await cli(['conflicts', 'resolve', 'items', uid(11), '--keep', 'till'])).code).toBe(0);
    expectNoTableErrors(await a.sync('both'));
    expect(await cloudRow(11)).toMatchObject({ note: 'kept through the resync' });
    expect(await openFor(11)).toHaveLength(0);
    await expectInSync(a.config);
  }, SLOW);

  it('composite keys are named as listed or by their parts; unknown tables and keys are usage errors (exit 2)', async () => {
    await clashLine('o1', 2);
    const open = (await listed()).open.filter((o) => o.table === 'lines');
    expect(open).toMatchObject([{ key: '(o1, 2)', columns: [{ column: 'qty', till: '5', cloud: '7' }] }]);

    for (const args of [
      ['nope', 'x', '--keep', 'till'],
      ['lines', 'o1', '3', '--keep', 'till'],
      ['lines', 'o1', '2', '--keep', 'both'],
      ['lines', 'o1', '2'],
      ['lines', 'o1', '2', '--set', 'line_no=3'],
      ['lines', 'o1', '2', '--set', 'nope=3'],
    ]) {
      const r = await cli(['conflicts', 'resolve', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    expect((await cli(['conflicts', 'resolve', 'lines', 'o1', '2', '--keep', 'cloud'])).code).toBe(0);
    expectNoTableErrors(await a.sync('both'));
    expect(a.local.prepare(`SELECT qty FROM lines WHERE order_id = 'o1' AND line_no = 2`).get()).toEqual({ qty: 7 });
    expect((await listed()).count).toBe(0);
  }, SLOW);

  it('resolve while another program holds the till in a write transaction: one line, exit 1 (locked), nothing decided', async () => {
    await clashLine('o3', 1);
    a.local.exec('BEGIN IMMEDIATE'); // the POS app, mid-sale
    let r: Awaited<ReturnType<typeof cli>>;
    try {
      r = await cli(['conflicts', 'resolve', 'lines', 'o3', '1', '--keep', 'till']);
    } finally {
      a.local.exec('ROLLBACK');
    }
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('stayed locked by another program');
    expect(r.stdout).toBe('');
    expect((await listed()).open.find((o) => o.table === 'lines' && o.key === '(o3, 1)')?.decision).toBeNull();
    // Once the app lets go, the same command decides it.
    expect((await cli(['conflicts', 'resolve', 'lines', 'o3', '1', '--keep', 'cloud'])).code).toBe(0);
    expectNoTableErrors(await a.sync('both'));
    expect(a.local.prepare(`SELECT qty FROM lines WHERE order_id = 'o3' AND line_no = 1`).get()).toEqual({ qty: 7 });
  }, SLOW);

  it('conflicts and conflicts resolve work with the cloud unreachable: they read and write only the till', async () => {
    await clashLine('o4', 1);
    const offline = ['--database-url', 'postgresql://possync:pw@127.0.0.1:1/nope'];
    const list = await cli(['conflicts', '--json', ...offline]);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(1);
    expect((JSON.parse(list.stdout) as Listed).open.filter((o) => o.key === '(o4, 1)')).toMatchObject([{ table: 'lines', columns: [{ column: 'qty', till: '5', cloud: '7' }] }]);
    const decided = await cli(['conflicts', 'resolve', 'lines', 'o4', '1', '--keep', 'till', ...offline]);
    expect(decided.stderr).toBe('');
    expect(decided.code).toBe(0);
    // The cloud back, the next run carries it out.
    expectNoTableErrors(await a.sync('both'));
    expect((await ledger.db.query<{ qty: number }>(`SELECT qty FROM lines WHERE order_id = 'o4' AND line_no = 1`))[0]).toEqual({ qty: 5 });
    expect((await listed()).open.filter((o) => o.key === '(o4, 1)')).toHaveLength(0);
  }, SLOW);

  it('an open conflict closes by itself once both sides hold the same row again', async () => {
    await clashLine('o2', 1);
    expect((await listed()).open.filter((o) => o.key === '(o2, 1)')).toHaveLength(1);
    // The back office makes the cloud's row match the till's.
    await ledger.db.query(`UPDATE lines SET qty = 5 WHERE order_id = 'o2' AND line_no = 1`);
    expectNoTableErrors(await a.sync('both'));
    expect((await listed()).open.filter((o) => o.key === '(o2, 1)')).toHaveLength(0);
    expect(a.local.prepare(`SELECT direction, winner FROM _possync_conflicts WHERE tbl = 'lines' AND key = ? ORDER BY id DESC LIMIT 1`).get(JSON.stringify(['o2', '1']))).toEqual({ direction: 'resolve', winner: 'agreed' });
    expect(moved(await a.sync('both'))).toBe(0);
  }, SLOW);

  it('column merge: columns one side changed merge at once (counters add up), only the clashing column waits', async () => {
    const cloudGood = async (n: number) => (await ledger.db.query<Record<string, string | null>>(`SELECT name, price::text AS price, note, stock::text AS stock FROM goods WHERE id = $1`, [uid(n)]))[0];
    const tillGood = (n: number) => a.local.prepare(`SELECT name, price, note, CAST(stock AS TEXT) AS stock FROM goods WHERE id = ?`).get(uid(n)) as Record<string, string | null>;
    for (const n of [1, 2]) await ledger.db.query(`INSERT INTO goods VALUES ($1, 'Tea', 2.50, NULL, 10, $2)`, [uid(n), at(0)]);
    expectNoTableErrors(await a.sync('both'));

    // Good 1, met by the push: the till renames it, notes it and sells 2; the cloud renames it,
    // reprices it and books a delivery of 5.
    a.local.prepare(`UPDATE goods SET name = 'Green tea', note = 'till note', stock = stock - 2, updated_at = ? WHERE id = ?`).run(at(1000), uid(1));
    await ledger.db.query(`UPDATE goods SET name = 'Sencha', price = 2.75, stock = stock + 5, updated_at = $2 WHERE id = $1`, [uid(1), at(2000)]);
    expectNoTableErrors(await a.sync('both'));
    expect(await cloudGood(1)).toEqual({ name: 'Sencha', price: '2.75', note: 'till note', stock: '13' });
    expect(tillGood(1)).toEqual({ name: 'Green tea', price: '2.75', note: 'till note', stock: '13' });
    const open = (await listed()).open.filter((o) => o.table === 'goods');
    expect(open).toMatchObject([{ key: uid(1), columns: [{ column: 'name', till: 'Green tea', cloud: 'Sencha' }] }]);
    // Recorded once as set aside, with both rows as met, the base and the row written.
    const rec = await ledger.db.query<{ winner: string; policy: string; columns: string[]; base: object; local: object; server: object; result: object }>(
      `SELECT winner, policy, columns, base_row AS base, local_row AS local, server_row AS server, result_row AS result FROM possync.conflicts WHERE tbl = 'goods' AND key = $1`,
      [JSON.stringify([uid(1)])],
    );
    expect(rec).toHaveLength(1);
    expect(rec[0]).toMatchObject({ winner: 'open', policy: 'manual+column', columns: ['name'], base: { name: 'Tea', stock: '10' }, local: { name: 'Green tea', stock: '8' }, server: { name: 'Sencha', stock: '15' } });
    expect(rec[0]!.result).toMatchObject({ name: 'Sencha', price: '2.75', note: 'till note', stock: '13' });
    expect(moved(await a.sync('both'))).toBe(0);

    // Good 2, met by the pull: the till notes and renames it, the cloud renames and reprices it.
    a.local.prepare(`UPDATE goods SET name = 'Till name', note = 'till note', updated_at = ? WHERE id = ?`).run(at(1000), uid(2));
    await ledger.db.query(`UPDATE goods SET name = 'Cloud name', price = 3.00, updated_at = $2 WHERE id = $1`, [uid(2), at(2000)]);
    expectNoTableErrors(await a.sync('pull'));
    expect(tillGood(2)).toEqual({ name: 'Till name', price: '3.00', note: 'till note', stock: '10' });
    expectNoTableErrors(await a.sync('both'));
    expect(await cloudGood(2)).toEqual({ name: 'Cloud name', price: '3.00', note: 'till note', stock: '10' });
    expect((await listed()).open.filter((o) => o.table === 'goods').map((o) => [o.key, o.columns.map((c) => c.column)])).toEqual([
      [uid(1), ['name']],
      [uid(2), ['name']],
    ]);
    expect(moved(await a.sync('both'))).toBe(0);

    // Meanwhile the stock still adds up, and the decisions pick only the clashing column.
    a.local.prepare(`UPDATE goods SET stock = stock - 1 WHERE id = ?`).run(uid(1));
    expect((await cli(['conflicts', 'resolve', 'goods', uid(1), '--keep', 'till'])).code).toBe(0);
    expect((await cli(['conflicts', 'resolve', 'goods', uid(2), '--keep', 'cloud'])).code).toBe(0);
    expectNoTableErrors(await a.sync('both'));
    expect(await cloudGood(1)).toEqual({ name: 'Green tea', price: '2.75', note: 'till note', stock: '12' });
    expect(tillGood(1)).toEqual({ name: 'Green tea', price: '2.75', note: 'till note', stock: '12' });
    expect(tillGood(2)).toEqual({ name: 'Cloud name', price: '3.00', note: 'till note', stock: '10' });
    expect((await listed()).count).toBe(0);
    expect(moved(await a.sync('both'))).toBe(0);
    await expectInSync(a.config);
  }, SLOW);
});
