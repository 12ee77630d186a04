import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.ts';
import { at, createLedger, expectInSync, expectNoTableErrors, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// Guarantee 7: a child that arrives before its parent is deferred (kept, reported, retried), and
// applied on the first run after the parent arrives; the checkpoint moving on cannot forget it.
const waits = (child: string, parent: string) => `entries:${child} waits for account_id → accounts[${parent}]`;

function heldRows(t: Terminal) {
  return t.local.prepare(`SELECT side, tbl, key, kind, reason FROM _possync_held ORDER BY side, tbl, key`).all();
}

/** The run is in both sync logs with its deferred rows and their reasons. */
async function expectLogged(ledger: Ledger, t: Terminal, run: RunResult, reason: string): Promise<void> {
  const local = t.local.prepare(`SELECT status, result FROM _possync_sync_logs WHERE run_id = ?`).get(run.runId) as { status: string; result: string };
  expect(local.status).toBe('partial');
  const logged = JSON.parse(local.result) as RunResult;
  expect(logged.tables.find((r) => r.table === 'entries' && r.deferred > 0)?.reasons).toContain(reason);
  const [cloud] = await ledger.db.query<{ status: string; result: RunResult }>(`SELECT status, result FROM possync.sync_logs WHERE run_id = $1`, [run.runId]);
  expect(cloud?.status).toBe('partial');
  expect(cloud?.result.tables.some((r) => r.table === 'entries' && r.reasons.includes(reason))).toBe(true);
}

describe('FK orphans (guarantee 7)', () => {
  let ledger: Ledger;
  let till: Terminal;

  beforeEach(async () => {
    ledger = await createLedger('fk_orphans', { batchSize: 2 });
    till = ledger.terminal('till-fk');
  });
  afterEach(async () => {
    await ledger.cleanup();
  });

  it('pull: a child whose parent is not local yet waits, survives later pulls, and lands with its parent', async () => {
    const [P, Q, C, C2] = [uid(1), uid(2), uid(11), uid(12)];
    await ledger.db.query(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'known', now())`, [Q]);
    expectNoTableErrors(await till.sync('pull'));
    await ledger.db.query(`INSERT INTO accounts (id, name, updated_at) VALUES ($1, 'parent', now())`, [P]);
    await ledger.db.query(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES ($1, $2, 5, now())`, [C, P]);

    // Only entries: the parent's table is not part of this run.
    const first = await till.sync('pull', { tables: ['entries'] });
    expectNoTableErrors(first);
    expect(first.status).toBe('partial');
    const entries = first.tables.find((t) => t.table === 'entries')!;
    expect(entries.deferred).toBe(1);
    expect(entries.reasons).toContain(waits(C, P));
    expect(heldRows(till)).toEqual([{ side: 'pull', tbl: 'entries', key: JSON.stringify([C]), kind: 'deferred', reason: waits(C, P) }]);
    expect(till.local.prepare(`SELECT 1 FROM entries WHERE id = ?`).get(C)).toBeUndefined();
    await expectLogged(ledger, till, first, waits(C, P));

    // The entries checkpoint moves past C's change with later pulls; C stays held.
    await ledger.db.query(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES ($1, $2, 6, now())`, [C2, Q]);
    const second = await till.sync('pull', { tables: ['entries'] });
    expect(totals(second, { table: 'entries' })).toMatchObject({ inserted: 1, deferred: 1 });
    expect(heldRows(till)).toHaveLength(1);

    // The first run that brings the parent also applies the child.
    const third = await till.sync('pull');
    expectNoTableErrors(third);
    expect(third.status).toBe('success');
    expect(totals(third, { table: 'accounts' }).inserted).toBe(1);
    expect(totals(third, { table: 'entries' })).toMatchObject({ inserted: 1, deferred: 0 });
    expect(till.local.prepare(`SELECT amount FROM entries WHERE id = ?`).get(C)).toEqual({ amount: '5.00' });
    expect(heldRows(till)).toEqual([]);
    await expectInSync(till.config);
  });

  it('push: a local child whose parent Postgres lacks waits, survives later pushes, and lands when the parent arrives', async () => {
    const [P, Q, C, C2] = [uid(1), uid(2), uid(11), uid(12)];
    till.local.prepare(`INSERT INTO accounts (id, name, updated_at) VALUES (?, 'known', ?)`).run(Q, at(1));
    expectNoTableErrors(await till.sync('push'));
    // The parent P exists on another terminal only (SQLite here has no FK constraint).
    till.local.prepare(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES (?, ?, '7.25', ?)`).run(C, P, at(2));

    const first = await till.sync('push');
    expectNoTableErrors(first);
    expect(first.status).toBe('partial');
    const entries = first.tables.find((t) => t.table === 'entries')!;
    expect(entries.deferred).toBe(1);
    expect(entries.reasons).toContain(waits(C, P));
    expect(heldRows(till)).toEqual([{ side: 'push', tbl: 'entries', key: JSON.stringify([C]), kind: 'deferred', reason: waits(C, P) }]);
    await expectLogged(ledger, till, first, waits(C, P));

    // Later pushes move the checkpoint past C's change-log entry; C is kept.
    till.local.prepare(`INSERT INTO entries (id, account_id, amount, updated_at) VALUES (?, ?, '1.00', ?)`).run(C2, Q, at(3));
    const second = await till.sync('push');
    expect(totals(second, { table: 'entries' })).toMatchObject({ inserted: 1, deferred: 1 });
    expect(till.local.prepare(`SELECT count(*) AS n FROM _possync_changes WHERE tbl = 'entries'`).get()).toEqual({ n: 0 });
    expect(heldRows(till)).toHaveLength(1);

    // Another terminal pushes the parent; the next run here applies the child.
    const other = ledger.terminal('till-other');
    other.local.prepare(`INSERT INTO accounts (id, name, updated_at) VALUES (?, 'parent', ?)`).run(P, at(4));
    expectNoTableErrors(await other.sync('push'));
    const third = await till.sync('both');
    expectNoTableErrors(third);
    expect(third.status).toBe('success');
    expect(totals(third, { step: 'push', table: 'entries' })).toMatchObject({ inserted: 1, deferred: 0 });
    const [row] = await ledger.db.query(`SELECT account_id::text AS account_id, amount::text AS amount FROM entries WHERE id = $1`, [C]);
    expect(row).toEqual({ account_id: P, amount: '7.25' });
    expect(heldRows(till)).toEqual([]);
    await expectInSync(till.config);
  });
});
