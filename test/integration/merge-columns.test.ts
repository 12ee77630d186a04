import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { at, createLedger, expectInSync, expectNoTableErrors, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// Column-level merge (merge "column"): a row both sides changed since they last agreed keeps
// each side's edit of different columns; only columns both changed go to the policy (lww here),
// and every merge is recorded with both versions, the base and the result, on the side that
// met it (push: possync.conflicts, pull: the till's _possync_conflicts).
const PG = `
CREATE TABLE items (id uuid PRIMARY KEY, name text NOT NULL, price numeric(12,2) NOT NULL, note text,
  updated_at timestamptz(3) NOT NULL);
`;
const SQLITE = `
CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT NOT NULL, price TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL);
`;
const ITEMS = { name: 'items', pk: 'id', updatedCol: 'updated_at', merge: 'column' };

interface Recorded {
  winner: string;
  columns: string[] | null;
  base: Record<string, string | null> | null;
  result: Record<string, string | null> | null;
  local: Record<string, string | null> | null;
  server: Record<string, string | null> | null;
}

describe('column merge', () => {
  let ledger: Ledger;
  let a: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('merge_columns', { extraPg: PG, extraSqlite: SQLITE, extraTables: [ITEMS] });
    a = ledger.terminal('till-a');
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  const cloudRow = async (n: number) => (await ledger.db.query<Record<string, string>>(`SELECT name, price::text AS price, note FROM items WHERE id = $1`, [uid(n)]))[0];
  const tillRow = (n: number) => a.local.prepare(`SELECT name, price, note FROM items WHERE id = ?`).get(uid(n)) as Record<string, string>;
  const pushRecord = async (n: number): Promise<Recorded | undefined> =>
    (
      await ledger.db.query<Recorded>(
        `SELECT winner, columns, base_row AS base, result_row AS result, local_row AS local, server_row AS server FROM possync.conflicts WHERE tbl = 'items' AND key = $1 ORDER BY id DESC LIMIT 1`,
        [JSON.stringify([uid(n)])],
      )
    )[0];
  const pullRecord = (n: number): Recorded | undefined => {
    const r = a.local
      .prepare(`SELECT winner, columns, base_row AS base, result_row AS result, local_row AS local, server_row AS server FROM _possync_conflicts WHERE tbl = 'items' AND key = ? ORDER BY id DESC LIMIT 1`)
      .get(JSON.stringify([uid(n)])) as Record<string, string | null> | undefined;
    if (!r) return undefined;
    const j = (v: string | null | undefined) => (v ? JSON.parse(v) : null);
    return { winner: r.winner!, columns: j(r.columns), base: j(r.base), result: j(r.result), local: j(r.local), server: j(r.server) };
  };

  it('keeps both edits when each side changed other columns, met by push and by pull', async () => {
    for (const n of [1, 2]) await ledger.db.query(`INSERT INTO items VALUES ($1, 'Tea', 2.50, NULL, $2)`, [uid(n), at(0)]);
    expectNoTableErrors(await a.sync('both'));

    for (const n of [1, 2]) {
      // The till corrects the name (an older stamp), the back office changes the price (newer).
      a.local.prepare(`UPDATE items SET name = 'Green tea', updated_at = ? WHERE id = ?`).run(at(1000), uid(n));
      await ledger.db.query(`UPDATE items SET price = 2.75, updated_at = $2 WHERE id = $1`, [uid(n), at(2000)]);
    }
    // The push meets the cloud's changes.
    const pushed = await a.sync('push');
    expectNoTableErrors(pushed);
    expect(totals(pushed, { table: 'items' }).conflicts).toBe(2);

    for (const n of [1, 2]) {
      expect(await cloudRow(n)).toEqual({ name: 'Green tea', price: '2.75', note: null });
    }
    const rec = await pushRecord(1);
    expect(rec?.base).toMatchObject({ name: 'Tea', price: '2.50' });
    expect(rec?.local).toMatchObject({ name: 'Green tea', price: '2.50' });
    expect(rec?.server).toMatchObject({ name: 'Tea', price: '2.75' });
    expect(rec?.result).toMatchObject({ name: 'Green tea', price: '2.75' });
    // Both stamped updated_at: the only clash, settled by lww (the cloud's stamp is newer).
    expect(rec?.columns).toEqual(['updated_at']);
    expect(rec?.winner).toBe('server');
    // The merged row was written back to the till in the push's own step.
    expect(tillRow(1)).toEqual({ name: 'Green tea', price: '2.75', note: null });

    expectNoTableErrors(await a.sync('both'));
    await expectInSync(a.config);

    // Pull first: the till changes the note, the cloud the name.
    a.local.prepare(`UPDATE items SET note = 'organic', updated_at = ? WHERE id = ?`).run(at(3000), uid(2));
    await ledger.db.query(`UPDATE items SET name = 'Sencha', updated_at = $2 WHERE id = $1`, [uid(2), at(2500)]);
    const pulled = await a.sync('pull');
    expectNoTableErrors(pulled);
    expect(totals(pulled, { table: 'items' }).conflicts).toBe(1);
    expect(tillRow(2)).toEqual({ name: 'Sencha', price: '2.75', note: 'organic' });
    const prec = pullRecord(2);
    expect(prec?.base).toMatchObject({ name: 'Green tea', note: null });
    expect(prec?.result).toMatchObject({ name: 'Sencha', note: 'organic' });
    expect(prec?.winner).toBe('local'); // the till's stamp is newer
    expectNoTableErrors(await a.sync('both'));
    expect(await cloudRow(2)).toEqual({ name: 'Sencha', price: '2.75', note: 'organic' });
    await expectInSync(a.config);

    // Nothing moves afterwards.
    const again = await a.sync('both');
    expect(totals(again).inserted + totals(again).updated + totals(again).deleted).toBe(0);
  });

  it('the same column changed on both sides goes to the policy, and the merge is recorded with its base', async () => {
    await ledger.db.query(`INSERT INTO items VALUES ($1, 'Coffee', 3.00, NULL, $2)`, [uid(3), at(0)]);
    await ledger.db.query(`INSERT INTO items VALUES ($1, 'Cocoa', 3.00, NULL, $2)`, [uid(4), at(0)]);
    expectNoTableErrors(await a.sync('both'));
    // Item 3: till newer (wins the name), and the cloud also changed the price (kept).
    a.local.prepare(`UPDATE items SET name = 'Espresso', updated_at = ? WHERE id = ?`).run(at(5000), uid(3));
    await ledger.db.query(`UPDATE items SET name = 'Filter coffee', price = 3.20, updated_at = $2 WHERE id = $1`, [uid(3), at(4000)]);
    // Item 4: the cloud newer (wins the name); the till also changed the note (kept).
    a.local.prepare(`UPDATE items SET name = 'Hot chocolate', note = 'with milk', updated_at = ? WHERE id = ?`).run(at(4000), uid(4));
    await ledger.db.query(`UPDATE items SET name = 'Drinking chocolate', updated_at = $2 WHERE id = $1`, [uid(4), at(5000)]);

    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await a.sync('both'));
    expect(await cloudRow(3)).toEqual({ name: 'Espresso', price: '3.20', note: null });
    expect(await cloudRow(4)).toEqual({ name: 'Drinking chocolate', price: '3.00', note: 'with milk' });
    await expectInSync(a.config);

    const r3 = await pushRecord(3);
    expect(r3?.winner).toBe('local');
    expect(r3?.columns).toEqual(['name', 'updated_at']);
    expect(r3?.base).toMatchObject({ name: 'Coffee', price: '3.00' });
    expect(r3?.result).toMatchObject({ name: 'Espresso', price: '3.20' });
    const r4 = await pushRecord(4);
    expect(r4?.winner).toBe('server');
    expect(r4?.columns).toEqual(['name', 'updated_at']);
    expect(r4?.base).toMatchObject({ name: 'Cocoa', note: null });
    expect(r4?.result).toMatchObject({ name: 'Drinking chocolate', note: 'with milk' });
  });

  it('possync conflicts --log lists the merges of both sides, newest first, with base and result', async () => {
    const r = await runCli(['conflicts', '--log', '--table', 'items', '--since', '1d', '--json', '--config', a.configPath]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { terminal: Array<Record<string, unknown>>; cloud: Array<Record<string, unknown>> };
    // Pull merges on the till, push merges in the cloud.
    expect(report.terminal.map((x) => x.key)).toContain(JSON.stringify([uid(2)]));
    expect(report.cloud.map((x) => x.key)).toEqual(expect.arrayContaining([1, 3, 4].map((n) => JSON.stringify([uid(n)]))));
    for (const x of [...report.terminal, ...report.cloud]) {
      expect(x.table).toBe('items');
      expect(x.policy).toBe('lww+column');
      expect(x.base).toBeTruthy();
      expect(x.result).toBeTruthy();
    }
    const ids = report.cloud.map((x) => x.id as number);
    expect(ids).toEqual([...ids].sort((p, q) => q - p));
    const text = await runCli(['conflicts', '--log', '--config', a.configPath]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/items .* lww\+column {2}clashed on name, updated_at: local won/);
    expect(text.stdout).toContain('result');
    const none = await runCli(['conflicts', '--log', '--since', '2999-01-01', '--config', a.configPath]);
    expect(none.stdout).toContain('no conflicts recorded');
    // Without --log: the open conflicts of conflict "manual" tables (none here), exit 0.
    const open = await runCli(['conflicts', '--config', a.configPath]);
    expect(open.code).toBe(0);
    expect(open.stdout).toContain('no open conflicts');
    const usage = await runCli(['conflicts', '--since', '7d', '--config', a.configPath]);
    expect(usage.code).toBe(2);
  });

  it('a push stopped between the Postgres commit and its local step is finished by a pull-only run: the till gets the merged row', async () => {
    await ledger.db.query(`INSERT INTO items VALUES ($1, 'Tea', 2.50, NULL, $2)`, [uid(7), at(0)]);
    expectNoTableErrors(await a.sync('both'));
    a.local.prepare(`UPDATE items SET name = 'Green tea', updated_at = ? WHERE id = ?`).run(at(1000), uid(7));
    await ledger.db.query(`UPDATE items SET price = 2.75, updated_at = $2 WHERE id = $1`, [uid(7), at(2000)]);
    // The local step after the commit (trim the change log, apply the staged bases) fails, as if
    // the process had died right after Postgres committed the merged row.
    a.local.exec(`CREATE TRIGGER test_stop_after_commit BEFORE DELETE ON _possync_inflight BEGIN SELECT RAISE(ABORT, 'stopped after the Postgres commit'); END`);
    try {
      const stopped = await a.sync('push');
      expect(stopped.tables.find((x) => x.table === 'items')?.status).toBe('error');
    } finally {
      a.local.exec(`DROP TRIGGER test_stop_after_commit`);
    }
    expect(await cloudRow(7)).toEqual({ name: 'Green tea', price: '2.75', note: null });
    expect(tillRow(7)).toEqual({ name: 'Green tea', price: '2.50', note: null });
    expect(a.local.prepare(`SELECT count(*) AS n FROM _possync_base_next`).get()).toEqual({ n: 1 });

    // The next run only pulls. It must finish the push's local step first: the batch's change-log
    // entries are trimmed (the cloud has them) and the merged row is written back, though the pull
    // itself skips this till's own change.
    expectNoTableErrors(await a.sync('pull'));
    expect(tillRow(7)).toEqual({ name: 'Green tea', price: '2.75', note: null });
    expect(a.local.prepare(`SELECT count(*) AS n FROM _possync_base_next`).get()).toEqual({ n: 0 });
    expect(a.local.prepare(`SELECT count(*) AS n FROM _possync_changes WHERE tbl = 'items'`).get()).toEqual({ n: 0 });
  });
});
