import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAndKill } from '../support/crash.ts';
import { at, createLedger, expectInSync, expectNoTableErrors, uid, type Ledger, type Terminal } from '../support/ledger.ts';
import { writeDecision } from '../../src/engine/manual/open-conflicts.ts';

// conflict "manual": a run killed (SIGKILL) while it carries out an admin's decisions converges
// on the next run: every decision carried out once on both sides, recorded once, nothing left
// open; the till's bookkeeping from before version 4 is upgraded in place.
const PG = `CREATE TABLE items (id uuid PRIMARY KEY, name text NOT NULL, note text, updated_at timestamptz(3) NOT NULL);`;
const SQLITE = `CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL);`;
const ITEMS = { name: 'items', pk: 'id', updatedCol: 'updated_at', conflict: 'manual' };
const ROWS = 60;
const ROUNDS = 8;

describe('conflict "manual" under crashes', () => {
  let ledger: Ledger;
  let a: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('merge_manual_crash', { extraPg: PG, extraSqlite: SQLITE, extraTables: [ITEMS] });
    a = ledger.terminal('till-a', { batchSize: 2 });
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  // Per round: whether the kill landed, and how many decisions were still open after it.
  const cuts: Array<{ ms: number; killed: boolean; open: number; mid: boolean }> = [];
  const openCount = () => (a.local.prepare(`SELECT count(*) AS n FROM _possync_open_conflicts`).get() as { n: number }).n;

  it('upgrades a version 3 till: the open-conflict table is created and conflicts are recorded', async () => {
    expectNoTableErrors(await a.sync('both'));
    // As a till set up by the previous possync: no _possync_open_conflicts, schema_version 3.
    a.local.exec(`DROP TABLE _possync_open_conflicts; UPDATE _possync_state SET schema_version = 3`);
    await ledger.db.query(`INSERT INTO items VALUES ($1, 'a', NULL, $2)`, [uid(1, 9), at(0)]);
    expectNoTableErrors(await a.sync('both'));
    a.local.prepare(`UPDATE items SET name = 'till', updated_at = ? WHERE id = ?`).run(at(1000), uid(1, 9));
    await ledger.db.query(`UPDATE items SET name = 'cloud', updated_at = $2 WHERE id = $1`, [uid(1, 9), at(2000)]);
    expectNoTableErrors(await a.sync('both'));
    expect(a.local.prepare(`SELECT schema_version AS v FROM _possync_state`).get()).toEqual({ v: 4 });
    expect(openCount()).toBe(1);
    writeDecision(a.local, 'items', JSON.stringify([uid(1, 9)]), 'cloud', null, new Date().toISOString());
    expectNoTableErrors(await a.sync('both'));
    expect(openCount()).toBe(0);
  });

  it('a run killed while carrying out decisions converges on the next run', async () => {
    // The kill moment is searched: too early (nothing carried out yet) moves it later, too late
    // (all carried out) earlier, until kills have landed in the middle; every round must converge.
    let ms = 300;
    for (let round = 1; round <= ROUNDS && cuts.filter((c) => c.mid).length < 2; round++) {
      const cut = await killRound(round, ms);
      cuts.push(cut);
      if (!cut.killed || cut.open === 0) ms = Math.max(20, Math.round(ms * 0.7));
      else if (cut.open === ROWS) ms = Math.round(ms * 1.4);
    }
  }, 900_000);

  async function killRound(round: number, ms: number): Promise<{ ms: number; killed: boolean; open: number; mid: boolean }> {
    const ids = Array.from({ length: ROWS }, (_, i) => uid(i + 1, round));
    for (const id of ids) await ledger.db.query(`INSERT INTO items VALUES ($1, 'base', NULL, $2)`, [id, at(0)]);
    expectNoTableErrors(await a.sync('both'));
    ids.forEach((id, i) => a.local.prepare(`UPDATE items SET name = ?, updated_at = ? WHERE id = ?`).run(`till ${i}`, at(1000), id));
    for (const [i, id] of ids.entries()) await ledger.db.query(`UPDATE items SET note = $1, updated_at = $3 WHERE id = $2`, [`cloud ${i}`, id, at(2000)]);
    expectNoTableErrors(await a.sync('both'));
    expect(openCount()).toBe(ROWS);

    // A third each: keep the till's row, keep the cloud's, set a value on top of the cloud's.
    const now = new Date().toISOString();
    const decisionOf = (i: number) => (['till', 'cloud', 'set'] as const)[i % 3]!;
    ids.forEach((id, i) => writeDecision(a.local, 'items', JSON.stringify([id]), decisionOf(i), decisionOf(i) === 'set' ? { name: `set ${i}` } : null, now));
    a.close(); // the app's connection must not hold the file while the subprocess runs

    const killed = await runAndKill(a.configPath, a.sqlitePath, ms);
    expect(killed.stderr).not.toMatch(/Error:|at .*\.ts:\d+/);
    const open = openCount();
    expectNoTableErrors(await a.sync('both'));

    const cloud = new Map((await ledger.db.query<{ id: string; name: string; note: string | null }>(`SELECT id::text, name, note FROM items WHERE id = ANY($1::uuid[])`, [ids])).map((r) => [r.id, r]));
    const till = new Map((a.local.prepare(`SELECT id, name, note FROM items WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids)) as Array<{ id: string; name: string; note: string | null }>).map((r) => [r.id, r]));
    ids.forEach((id, i) => {
      const expected =
        decisionOf(i) === 'till' ? { id, name: `till ${i}`, note: null } : decisionOf(i) === 'cloud' ? { id, name: 'base', note: `cloud ${i}` } : { id, name: `set ${i}`, note: `cloud ${i}` };
      expect(cloud.get(id), `cloud ${i} (round ${round}, kill at ${ms} ms)`).toEqual(expected);
      expect(till.get(id), `till ${i} (round ${round}, kill at ${ms} ms)`).toEqual(expected);
    });
    expect(openCount()).toBe(0);
    // Each decision is recorded once, however the run was cut.
    const resolved = a.local.prepare(`SELECT key, count(*) AS n FROM _possync_conflicts WHERE direction = 'resolve' AND key IN (SELECT json_array(value) FROM json_each(?)) GROUP BY key`).all(JSON.stringify(ids)) as Array<{ n: number }>;
    expect(resolved).toHaveLength(ROWS);
    expect(resolved.every((r) => r.n === 1)).toBe(true);
    expect(a.local.prepare(`SELECT count(*) AS n FROM _possync_changes WHERE tbl = 'items'`).get()).toEqual({ n: 0 });
    await expectInSync(a.config);
    return { ms, killed: killed.killed, open, mid: killed.killed && open > 0 && open < ROWS };
  }

  it('the kills landed in the middle of carrying out the decisions', () => {
    // Otherwise the rounds above would only show that an uninterrupted run works.
    expect(cuts.filter((c) => c.mid).length, JSON.stringify(cuts)).toBeGreaterThanOrEqual(1);
  });
});
