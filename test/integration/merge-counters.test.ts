import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAndKill } from '../support/crash.ts';
import { at, createLedger, expectInSync, expectNoTableErrors, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// Counter columns: concurrent changes add up. Three tills sell the same product offline while the
// back office books a delivery; every side ends at the start value plus the sum of all deltas,
// exactly (numeric with three decimals, and an integer), also when runs are SIGKILLed midway.
const PG = `
CREATE TABLE stock (id uuid PRIMARY KEY, name text NOT NULL, quantity numeric(14,3) NOT NULL, units integer NOT NULL,
  updated_at timestamptz(3) NOT NULL);
`;
const SQLITE = `
CREATE TABLE stock (id TEXT PRIMARY KEY, name TEXT NOT NULL, quantity TEXT NOT NULL, units INTEGER NOT NULL, updated_at TEXT NOT NULL);
`;
const STOCK = { name: 'stock', pk: 'id', updatedCol: 'updated_at', counters: ['quantity', 'units'] };

/** Exact decimal sum of texts with up to three decimals (no floats in the expectation either). */
function sum3(values: readonly string[]): string {
  const milli = values.reduce((acc, v) => {
    const [i = '0', f = ''] = v.replace('-', '').split('.');
    const n = BigInt(i) * 1000n + BigInt(f.padEnd(3, '0'));
    return acc + (v.startsWith('-') ? -n : n);
  }, 0n);
  const neg = milli < 0n;
  const abs = neg ? -milli : milli;
  return `${neg ? '-' : ''}${abs / 1000n}.${String(abs % 1000n).padStart(3, '0')}`;
}

describe('counter columns', () => {
  let ledger: Ledger;
  let tills: Terminal[];

  beforeAll(async () => {
    ledger = await createLedger('merge_counters', { extraPg: PG, extraSqlite: SQLITE, extraTables: [STOCK] });
    tills = ['till-a', 'till-b', 'till-c'].map((id) => ledger.terminal(id));
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  const cloud = async (n: number) => (await ledger.db.query<{ q: string; u: string }>(`SELECT quantity::text AS q, units::text AS u FROM stock WHERE id = $1`, [uid(n)]))[0]!;
  const local = (t: Terminal, n: number) => t.local.prepare(`SELECT quantity AS q, units AS u FROM stock WHERE id = ?`).get(uid(n)) as { q: string; u: number };
  /** A sale on a till: quantity and units move by the deltas, the stamp moves on, as a POS app writes it. */
  const sell = (t: Terminal, n: number, dq: string, du: number, ms: number) => {
    const row = local(t, n);
    t.local.prepare(`UPDATE stock SET quantity = ?, units = units + ?, updated_at = ? WHERE id = ?`).run(sum3([row.q, dq]), du, at(ms), uid(n));
  };
  const settle = async () => {
    for (let round = 0; round < 2; round++) for (const t of tills) expectNoTableErrors(await t.sync('both'));
  };

  it('three tills and the cloud change one counter offline: every side ends at the exact sum of the deltas', async () => {
    await ledger.db.query(`INSERT INTO stock VALUES ($1, 'Flour 1kg', 10.000, 10, $2)`, [uid(1), at(0)]);
    for (const t of tills) expectNoTableErrors(await t.sync('both'));

    const deltas: string[] = [];
    let units = 10;
    const sale = (t: Terminal, dq: string, du: number, ms: number) => {
      sell(t, 1, dq, du, ms);
      deltas.push(dq);
      units += du;
    };
    // All offline: several sales per till (one base, many edits), and a delivery in the cloud.
    sale(tills[0]!, '-2.500', -2, 1000);
    sale(tills[0]!, '-0.125', -1, 1100);
    sale(tills[1]!, '-1.250', -1, 1200);
    sale(tills[2]!, '0.375', 1, 1300); // a return
    sale(tills[2]!, '-3.001', -3, 1400);
    await ledger.db.query(`UPDATE stock SET quantity = quantity + 5.5, units = units + 5, updated_at = $2 WHERE id = $1`, [uid(1), at(1500)]);
    deltas.push('5.500');
    units += 5;

    // Till c pulls first (its merge happens locally), the others push first.
    expectNoTableErrors(await tills[2]!.sync('pull'));
    await settle();
    const want = sum3(['10.000', ...deltas]);
    expect(want).toBe('8.999');
    expect(await cloud(1)).toEqual({ q: want, u: String(units) });
    for (const t of tills) expect(local(t, 1)).toEqual({ q: want, u: units });
    for (const t of tills) await expectInSync(t.config);

    // The recorded merges carry the base and the result.
    const merges = await ledger.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM possync.conflicts WHERE tbl = 'stock' AND base_row IS NOT NULL AND result_row IS NOT NULL`);
    expect(Number(merges[0]!.n)).toBeGreaterThan(0);
  });

  it('still exact when runs are SIGKILLed at any point', async () => {
    await ledger.db.query(`INSERT INTO stock VALUES ($1, 'Sugar 1kg', 100.000, 100, $2)`, [uid(2), at(0)]);
    await settle();
    const deltas: string[] = [];
    let units = 100;
    let killed = 0;
    for (let round = 0; round < 6; round++) {
      for (const [i, t] of tills.entries()) {
        const dq = `-${round + 1}.${String(i * 7 + 1).padStart(3, '0')}`;
        sell(t, 2, dq, -(i + 1), 2000 + round * 100 + i);
        deltas.push(dq);
        units -= i + 1;
      }
      await ledger.db.query(`UPDATE stock SET quantity = quantity + 0.333, units = units + 1, updated_at = $2 WHERE id = $1`, [uid(2), at(2050 + round * 100)]);
      deltas.push('0.333');
      units += 1;
      // One till is killed somewhere in its run; the others sync normally.
      const victim = tills[round % 3]!;
      victim.close(); // the test's own connection must not hold a lock the run waits for
      const run = await runAndKill(victim.configPath, victim.sqlitePath, 40 + round * 60, 'both');
      if (run.killed) killed++;
      for (const t of tills.filter((x) => x !== victim)) expectNoTableErrors(await t.sync('both'));
    }
    await settle();
    const want = sum3(['100.000', ...deltas]);
    expect(await cloud(2)).toEqual({ q: want, u: String(units) });
    for (const t of tills) expect(local(t, 2)).toEqual({ q: want, u: units });
    for (const t of tills) await expectInSync(t.config);
    // At least some of the kills landed inside a run (they are timed from the run's start).
    expect(killed).toBeGreaterThan(0);
  });

  it('a counter whose row was deleted on one side follows the delete rules (lww: the later word wins)', async () => {
    for (const n of [3, 4]) await ledger.db.query(`INSERT INTO stock VALUES ($1, 'Spice', 5.000, 5, $2)`, [uid(n), at(0)]);
    await settle();
    // Row 3: a till deletes it (now), the cloud sold one earlier (an old stamp): the delete wins.
    tills[0]!.local.prepare(`DELETE FROM stock WHERE id = ?`).run(uid(3));
    await ledger.db.query(`UPDATE stock SET quantity = quantity - 1, units = units - 1, updated_at = $2 WHERE id = $1`, [uid(3), at(5000)]);
    // Row 4: the cloud deletes it, a till sells one: the till's stamp is older than the delete.
    await ledger.db.query(`DELETE FROM stock WHERE id = $1`, [uid(4)]);
    sell(tills[1]!, 4, '-1.000', -1, 6000);
    await settle();
    for (const n of [3, 4]) {
      expect(await cloud(n)).toBeUndefined();
      for (const t of tills) expect(local(t, n)).toBeUndefined();
    }
  });
});
