import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { pruneChangeLog } from '../../src/engine/retention.ts';
import { createLedger, describeDiff, expectInSync, expectNoTableErrors, sidesDiff, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';
import { inSync } from '../../src/engine/compare.ts';
import type { RunResult } from '../../src/engine/result.ts';

// Change-log retention with many terminals (issue 7, point 5): possync.changes keeps what some
// active terminal has not pulled yet. A terminal silent for longer than retentionDays (30 here, the
// default) stops holding pruning back; when it returns, its checkpoint is below the pruned horizon
// and it resyncs key by key instead of missing what was pruned, deletes included.
//
// Keys (uid(n, prefix)): 1 = catalogue accounts, 2 = tags, 3+k = entries of till k, 9 = D's own.
const ACC = (n: number) => uid(n, 1);
const TAG = (n: number) => uid(n, 2);
const CATALOGUE = 200;
const now = () => new Date().toISOString();
/** The catalogue is older than anything the test does, whatever the machine's clock says. */
const SEED_AT = new Date(Date.now() - 10 * 86_400_000).toISOString();

/** Rows a pull compared and found identical: a resync counts (nearly) every row, a change-log pull only what changed. */
const pulledUnchanged = (r: RunResult) => totals(r, { step: 'pull' }).unchanged;

describe('change-log retention with several terminals', () => {
  let ledger: Ledger;
  let gw: PgGateway;
  let a: Terminal;
  let b: Terminal;
  let c: Terminal;
  let d: Terminal; // silent past retentionDays
  let e: Terminal; // silent, but back within retentionDays

  beforeAll(async () => {
    ledger = await createLedger('terminals_retention', { batchSize: 25 });
    gw = await PgGateway.connect(ledger.db.url);
    a = ledger.terminal('till-a');
    b = ledger.terminal('till-b');
    c = ledger.terminal('till-c');
    d = ledger.terminal('till-d');
    e = ledger.terminal('till-e');
  });
  afterAll(async () => {
    await gw.close();
    await ledger.cleanup();
  });

  const pg = <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) => ledger.db.query<R>(sql, params);
  const changeCount = async (where = 'true', params: unknown[] = []) => Number((await pg<{ n: string }>(`SELECT count(*)::text AS n FROM possync.changes WHERE ${where}`, params))[0]!.n);
  const fenceOf = async (id: string) => (await pg<{ f: string }>(`SELECT pull_fence::text AS f FROM possync.terminals WHERE terminal_id = $1`, [id]))[0]?.f;
  const ids = (t: Terminal, table: string) => (t.local.prepare(`SELECT id FROM ${table} ORDER BY id`).all() as Array<{ id: string }>).map((r) => r.id);

  /** Some work by the cloud and by the active tills, each of which syncs afterwards. */
  async function activity(round: number, active: Terminal[]): Promise<void> {
    await pg(`UPDATE accounts SET name = $1, updated_at = $2 WHERE id = $3`, [`cloud ${round}`, now(), ACC(round)]);
    await pg(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'cloud new', $2)`, [ACC(1000 + round), now()]);
    for (const [k, t] of active.entries()) {
      t.local.prepare(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES (?, ?, '1.00', ?)`).run(uid(round * 10 + k, 3 + k), ACC(10 + k), now());
      t.local.prepare(`UPDATE accounts SET balance = ?, updated_at = ? WHERE id = ?`).run(`${round}.${k}0`, now(), ACC(20 + k));
    }
    for (const t of active) expectNoTableErrors(await t.sync('both'));
  }

  it('prunes up to the slowest active terminal; a terminal back within retentionDays catches up from the log, one silent longer resyncs', async () => {
    for (let n = 1; n <= CATALOGUE; n++) await pg(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'seed', $2)`, [ACC(n), SEED_AT]);
    for (let n = 1; n <= 6; n++) await pg(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 'seed', $2)`, [TAG(n), SEED_AT]);
    for (const t of [a, b, c, d, e]) expectNoTableErrors(await t.sync('both'));
    for (const t of [a, b, c, d, e]) expectNoTableErrors(await t.sync('pull')); // everyone past everyone's first pushes
    const dFence = (await fenceOf('till-d'))!;
    const eFence = (await fenceOf('till-e'))!;
    expect(dFence).toBeDefined();

    // D and E go silent. D has local work of its own waiting: a new row, an edit, a hard delete.
    d.local.prepare(`INSERT INTO accounts (id, name, updated_at) VALUES (?, 'opened by D', ?)`).run(uid(1, 9), now());
    d.local.prepare(`UPDATE accounts SET name = 'D edit', updated_at = ? WHERE id = ?`).run(now(), ACC(150));
    d.local.prepare(`DELETE FROM tags WHERE id = ?`).run(TAG(6));

    // Meanwhile: the cloud and A, B, C change, soft-delete and hard-delete rows.
    await activity(1, [a, b, c]);
    await pg(`DELETE FROM tags WHERE id = $1`, [TAG(1)]);
    a.local.prepare(`DELETE FROM tags WHERE id = ?`).run(TAG(2));
    b.local.prepare(`UPDATE accounts SET deleted_at = ?, updated_at = ? WHERE id = ?`).run(now(), now(), ACC(100));
    c.local.prepare(`DELETE FROM tags WHERE id = ?`).run(TAG(3));
    await activity(2, [a, b, c]);

    // 1. D and E (seen recently) hold pruning back: nothing they have not pulled may go.
    const neededByD = await changeCount(`xid >= $1::xid8`, [dFence]);
    const first = await pruneChangeLog(gw, 30, { force: true });
    expect(first?.horizon).toBe([dFence, eFence].reduce((x, y) => (BigInt(x) <= BigInt(y) ? x : y)));
    expect(await changeCount(`xid >= $1::xid8`, [dFence])).toBe(neededByD);
    expect(await changeCount(`xid < $1::xid8`, [first!.horizon])).toBe(0);

    // 2. E returns within retentionDays: it catches up from the change log, not by a resync.
    const eBack = await e.sync('both');
    expectNoTableErrors(eBack);
    expect(pulledUnchanged(eBack)).toBeLessThan(20);
    expect(ids(e, 'tags')).toEqual([TAG(4), TAG(5), TAG(6)]);
    expect(e.local.prepare(`SELECT deleted_at IS NOT NULL AS gone FROM accounts WHERE id = ?`).get(ACC(100))).toEqual({ gone: 1 });

    // 3. D has been silent for longer than retentionDays: it no longer holds pruning back.
    await pg(`UPDATE possync.terminals SET last_seen = now() - interval '31 days' WHERE terminal_id = 'till-d'`);
    await activity(3, [a, b, c, e]);
    await pg(`UPDATE accounts SET name = 'cloud late', updated_at = $1 WHERE id = $2`, [now(), ACC(151)]);
    await pg(`DELETE FROM tags WHERE id = $1`, [TAG(4)]);
    await activity(4, [a, b, c, e]);
    const second = await pruneChangeLog(gw, 30, { force: true });
    expect(second).toBeDefined();
    expect(BigInt(second!.horizon)).toBeGreaterThan(BigInt(dFence));
    expect(second!.deleted).toBeGreaterThan(0);
    expect(await changeCount(`xid < $1::xid8`, [second!.horizon])).toBe(0);
    const active = await pg<{ f: string }>(`SELECT min(pull_fence)::text AS f FROM possync.terminals WHERE terminal_id <> 'till-d'`);
    expect(second!.horizon).toBe(active[0]!.f);

    // The active terminals lose nothing by it.
    await activity(5, [a, b, c, e]);
    for (const t of [a, b, c, e]) expectNoTableErrors(await t.sync('both'));
    for (const t of [a, b, c, e]) await expectInSync(t.config);

    // 4. D returns: its checkpoint is below the pruned horizon, so it resyncs key by key: rows
    // deleted elsewhere (hard and soft) go, rows changed elsewhere arrive, its own work goes up.
    const dBack = await d.sync('both');
    expectNoTableErrors(dBack);
    expect(pulledUnchanged(dBack)).toBeGreaterThan(CATALOGUE / 2); // evidence of a full resync
    expect(ids(d, 'tags')).toEqual([TAG(5)]);
    expect(d.local.prepare(`SELECT name FROM accounts WHERE id = ?`).get(ACC(151))).toEqual({ name: 'cloud late' });
    expect(d.local.prepare(`SELECT deleted_at IS NOT NULL AS gone FROM accounts WHERE id = ?`).get(ACC(100))).toEqual({ gone: 1 });
    await expectInSync(d.config);
    expect(await pg(`SELECT name FROM accounts WHERE id = $1`, [uid(1, 9)])).toEqual([{ name: 'opened by D' }]);
    expect(await pg(`SELECT name FROM accounts WHERE id = $1`, [ACC(150)])).toEqual([{ name: 'D edit' }]);
    expect(await pg(`SELECT 1 FROM tags WHERE id = $1`, [TAG(6)])).toEqual([]);
    expect(BigInt((await fenceOf('till-d'))!)).toBeGreaterThanOrEqual(BigInt(second!.horizon));

    // Everyone else gets D's work through the log as usual.
    for (const t of [a, b, c, e]) expectNoTableErrors(await t.sync('both'));
    for (const t of [a, b, c, d, e]) await expectInSync(t.config);
    for (const t of [a, b, c, e]) {
      expect(t.local.prepare(`SELECT name FROM accounts WHERE id = ?`).get(uid(1, 9)), t.id).toEqual({ name: 'opened by D' });
      expect(ids(t, 'tags'), t.id).toEqual([TAG(5)]);
    }
  });

  it('a terminal returning after retentionDays while another terminal prunes at that moment still gets every change', async () => {
    // The horizon a run trusts must be the one its pull snapshot sees: read any earlier, a prune
    // committed between that read and the snapshot deletes entries the run then silently skips.
    // Rows of its own, so this case does not depend on the one above.
    for (let n = 1; n <= 20; n++) await pg(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'seed', $2)`, [ACC(500 + n), SEED_AT]);
    await pg(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 'seed', $2)`, [TAG(50), SEED_AT]);
    const p = ledger.terminal('till-p');
    const f = ledger.terminal('till-f', { batchSize: 5 });
    expectNoTableErrors(await p.sync('both'));
    expectNoTableErrors(await f.sync('both'));
    const fFence = (await fenceOf('till-f'))!;

    // While F is away the cloud changes rows F has; P keeps pulling.
    for (let n = 1; n <= 5; n++) await pg(`UPDATE accounts SET name = 'while F was away', updated_at = $1 WHERE id = $2`, [now(), ACC(500 + n)]);
    await pg(`DELETE FROM tags WHERE id = $1`, [TAG(50)]);
    expectNoTableErrors(await p.sync('pull'));
    expectNoTableErrors(await p.sync('pull'));
    // F has a lot to push when it comes back (its push takes a while).
    const ins = f.local.prepare(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES (?, ?, '3.00', ?)`);
    f.local.transaction(() => {
      for (let n = 1; n <= 200; n++) ins.run(uid(n, 8), ACC(520), now());
    })();
    await pg(`UPDATE possync.terminals SET last_seen = now() - interval '31 days' WHERE terminal_id IN ('till-f', 'till-d')`);
    await pg(`UPDATE possync.terminals SET last_seen = now() - interval '90 days' WHERE terminal_id NOT IN ('till-f', 'till-d', 'till-p')`);

    // F's run starts; while it pushes, another terminal's prune goes through.
    let prune: Promise<{ result: Awaited<ReturnType<typeof pruneChangeLog>>; at: number }> | undefined;
    let lastPushEvent = 0;
    const back = await f.sync('both', {
      onProgress: (ev) => {
        if (ev.step !== 'push') return;
        lastPushEvent = performance.now();
        prune ??= pruneChangeLog(gw, 30, { force: true }).then((result) => ({ result, at: performance.now() }));
      },
    });
    const pruned = await prune!;
    // Preconditions: the prune committed while F was still pushing, and it took entries F needs.
    expect(pruned.at).toBeLessThan(lastPushEvent);
    expect(BigInt(pruned.result!.horizon)).toBeGreaterThan(BigInt(fFence));
    expect(pruned.result!.deleted).toBeGreaterThan(0);

    expectNoTableErrors(back);
    const diffs = await sidesDiff(f.config);
    expect(diffs.filter((x) => !inSync(x)).map(describeDiff), 'F after its return').toEqual([]);
  });
});
