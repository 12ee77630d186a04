import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedRows, at, createLedger, expectInSync, expectNoTableErrors, totals, uid, type Ledger, type Terminal } from '../support/ledger.ts';

// Conflict policies per table with deterministic tie-breaks, each conflict recorded once with both
// versions: push conflicts in Postgres possync.conflicts, pull conflicts in the terminal's
// _possync_conflicts.
const POLICIES = [
  { table: 'accounts', policy: 'lww', col: 'name', local: 'local name', server: 'server name' },
  { table: 'prices', policy: 'server-wins', col: 'amount', local: '1.10', server: '2.20' },
  { table: 'notes', policy: 'client-wins', col: 'body', local: 'local body', server: 'server body' },
] as const;
type Policy = (typeof POLICIES)[number];
type Timing = 'local newer' | 'server newer' | 'tie';

interface Case {
  n: number;
  p: Policy;
  timing: Timing;
  /** push: the terminal runs `both` (push meets the conflict); pull: it pulls first. */
  decidedBy: 'push' | 'pull';
}

function expectedWinner(p: Policy, timing: Timing): 'local' | 'server' {
  if (p.policy === 'server-wins') return 'server';
  if (p.policy === 'client-wins') return 'local';
  return timing === 'local newer' ? 'local' : 'server'; // LWW ties go to the server
}

const cases: Case[] = [];
for (const decidedBy of ['push', 'pull'] as const)
  for (const p of POLICIES) for (const timing of ['local newer', 'server newer', 'tie'] as const) cases.push({ n: cases.length + 1, p, timing, decidedBy });
const label = (c: Case) => `#${c.n} ${c.p.table} (${c.p.policy}), ${c.timing}, decided by ${c.decidedBy}`;
const same = (col: string, a: unknown, b: unknown) => (col === 'amount' ? Number(a) === Number(b) : a === b);

describe('conflict policies', () => {
  let ledger: Ledger;
  let a: Terminal;
  let b: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('conflicts', { batchSize: 4 });
    a = ledger.terminal('till-a');
    b = ledger.terminal('till-b');
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  it('lww, server-wins and client-wins pick the documented winner and log both versions', async () => {
    for (const c of cases) {
      const initial = c.p.col === 'amount' ? '0.50' : 'initial';
      await ledger.db.query(`INSERT INTO ${c.p.table} (id, ${c.p.col}, updated_at) VALUES ($1, $2, $3)`, [uid(c.n), initial, at(0)]);
    }
    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('both'));

    for (const c of cases) {
      const term = c.decidedBy === 'push' ? a : b;
      const localAt = at(c.timing === 'local newer' ? 2000 : 1000);
      const serverAt = at(c.timing === 'server newer' ? 2000 : 1000);
      term.local.prepare(`UPDATE ${c.p.table} SET ${c.p.col} = ?, updated_at = ? WHERE id = ?`).run(c.p.local, localAt, uid(c.n));
      await ledger.db.query(`UPDATE ${c.p.table} SET ${c.p.col} = $1, updated_at = $2 WHERE id = $3`, [c.p.server, serverAt, uid(c.n)]);
    }

    expectNoTableErrors(await a.sync('both'));
    expectNoTableErrors(await b.sync('pull'));
    for (let round = 0; round < 2; round++) {
      expectNoTableErrors(await b.sync('both'));
      expectNoTableErrors(await a.sync('both'));
    }

    const failures: string[] = [];
    for (const c of cases) {
      const winner = expectedWinner(c.p, c.timing);
      const want = winner === 'local' ? c.p.local : c.p.server;
      const [cloud] = await ledger.db.query<{ v: string }>(`SELECT ${c.p.col}::text AS v FROM ${c.p.table} WHERE id = $1`, [uid(c.n)]);
      const got = [cloud?.v, ...[a, b].map((t) => (t.local.prepare(`SELECT ${c.p.col} AS v FROM ${c.p.table} WHERE id = ?`).get(uid(c.n)) as { v: string } | undefined)?.v)];
      if (!got.every((v) => same(c.p.col, v, want))) failures.push(`${label(c)}: want ${want} (${winner}) on pg/a/b, got ${JSON.stringify(got)}`);

      const key = JSON.stringify([uid(c.n)]);
      const pushLog = await ledger.db.query<{ policy: string; winner: string; l: string | null; s: string | null }>(
        `SELECT policy, winner, local_row->>$2 AS l, server_row->>$2 AS s FROM possync.conflicts WHERE tbl = $1 AND key = $3`,
        [c.p.table, c.p.col, key],
      );
      const pullLog = b.local
        .prepare(`SELECT policy, winner, local_row ->> ? AS l, server_row ->> ? AS s FROM _possync_conflicts WHERE tbl = ? AND key = ?`)
        .all(c.p.col, c.p.col, c.p.table, key) as Array<{ policy: string; winner: string; l: string | null; s: string | null }>;
      const [log, others] = c.decidedBy === 'push' ? [pushLog, pullLog] : [pullLog, pushLog];
      const entry = log[0];
      if (log.length !== 1 || others.length !== 0) failures.push(`${label(c)}: want one ${c.decidedBy} conflict record, got push ${pushLog.length}, pull ${pullLog.length}`);
      else if (entry!.policy !== c.p.policy || entry!.winner !== winner || !same(c.p.col, entry!.l, c.p.local) || !same(c.p.col, entry!.s, c.p.server))
        failures.push(`${label(c)}: conflict record ${JSON.stringify(entry)}`);
    }
    expect(failures).toEqual([]);
    await expectInSync(a.config);
    await expectInSync(b.config);
    expect(appliedRows(await a.sync('both'))).toBe(0);
    expect(appliedRows(await b.sync('both'))).toBe(0);
  });

  it('a row only this terminal has written is not contested, even before its first pull', async () => {
    // "Contested" means the receiving side changed the row since the two last agreed; a push that
    // Postgres acknowledged is such an agreement, pull or no pull.
    const t = ledger.terminal('till-push-only');
    const [P, N] = [uid(1, 60), uid(2, 60)];
    t.local.prepare(`INSERT INTO prices (id, amount, updated_at) VALUES (?, '1.00', ?)`).run(P, at(5000));
    t.local.prepare(`INSERT INTO notes (id, body, updated_at) VALUES (?, 'v1', ?)`).run(N, at(5000));
    expectNoTableErrors(await t.sync('push'));
    t.local.prepare(`UPDATE prices SET amount = '2.00', updated_at = ? WHERE id = ?`).run(at(6000), P);
    t.local.prepare(`DELETE FROM notes WHERE id = ?`).run(N);
    const second = await t.sync('push');
    expectNoTableErrors(second);
    expect(second.tables.map((r) => r.conflicts)).toEqual(second.tables.map(() => 0));
    expect(await ledger.db.query(`SELECT amount::text AS amount FROM prices WHERE id = $1`, [P])).toEqual([{ amount: '2.00' }]);
    expect(await ledger.db.query(`SELECT 1 FROM notes WHERE id = $1`, [N])).toEqual([]);
    expect(t.local.prepare(`SELECT amount FROM prices WHERE id = ?`).get(P)).toEqual({ amount: '2.00' });
  });

  it("a terminal's first push does not send back rows it only pulled (client-wins, soak seed 493)", async () => {
    // The terminal pulls a note, Postgres edits it, then the terminal pushes for the first time.
    // The terminal never edited the note: client-wins must not turn its pulled copy into a win.
    const t = ledger.terminal('till-pull-first');
    const N = uid(1, 61);
    await ledger.db.query(`INSERT INTO notes (id, body, updated_at) VALUES ($1, 'v1', $2)`, [N, at(7000)]);
    expectNoTableErrors(await t.sync('pull'));
    await ledger.db.query(`UPDATE notes SET body = 'v2', updated_at = $1 WHERE id = $2`, [at(8000), N]);
    const push = await t.sync('push');
    expectNoTableErrors(push);
    expect(totals(push, { table: 'notes' })).toMatchObject({ updated: 0, conflicts: 0 });
    expect(await ledger.db.query(`SELECT body FROM notes WHERE id = $1`, [N])).toEqual([{ body: 'v2' }]);
    expectNoTableErrors(await t.sync('pull'));
    expect(t.local.prepare(`SELECT body FROM notes WHERE id = ?`).get(N)).toEqual({ body: 'v2' });
  });

  it('a lost conflict keeps the till spelling of an equal value, whether the push or the pull settles it', async () => {
    // pgbouncer-crash once ended with '1980.5' on one till and '1980.50' on the uninterrupted one:
    // the push wrote the winning cloud row back wholesale, the pull kept the till's spelling of
    // equal values. Where a kill fell decided which. Both paths now keep it.
    const t = ledger.terminal('till-spelling');
    const [byPush, byPull] = [uid(1, 62), uid(2, 62)];
    for (const id of [byPush, byPull]) await ledger.db.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'start', 10, $2)`, [id, at(9000)]);
    expectNoTableErrors(await t.sync('pull'));
    const edit = async (id: string) => {
      t.local.prepare(`UPDATE accounts SET name = 'till', balance = '12.5', updated_at = ? WHERE id = ?`).run(at(9100), id);
      await ledger.db.query(`UPDATE accounts SET name = 'cloud', balance = 12.50, updated_at = $1 WHERE id = $2`, [at(9200), id]);
    };
    const row = (id: string) => {
      const r = t.local.prepare(`SELECT name, balance, updated_at FROM accounts WHERE id = ?`).get(id) as { name: string; balance: string; updated_at: string };
      return { ...r, updated_at: Date.parse(r.updated_at) };
    };
    // The cloud's row wins: its name and time; the balance is equal, in the till's spelling.
    const settled = { name: 'cloud', balance: '12.5', updated_at: Date.parse(at(9200)) };

    await edit(byPull);
    const pull = await t.sync('pull', { tables: ['accounts'] });
    expectNoTableErrors(pull);
    expect(totals(pull, { table: 'accounts' }).conflicts).toBe(1);
    expect(row(byPull)).toEqual(settled);

    await edit(byPush);
    const push = await t.sync('push', { tables: ['accounts'] });
    expectNoTableErrors(push);
    expect(totals(push, { table: 'accounts' }).conflicts).toBe(1);
    expect(row(byPush)).toEqual(settled);
    expect(row(byPush)).toEqual(row(byPull));
  });
});
