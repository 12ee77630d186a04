import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, expectInSync, expectNoTableErrors, LEDGER_TABLES, totals, uid, type Ledger } from '../support/ledger.ts';

// An incremental sync costs round trips for what changed, not for every table in the config: a
// cloud database is often a network hop away, where each round trip is milliseconds.

/** The SQL of every query the pg driver sends while `fn` runs (this worker only). */
async function queriesDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string };
    sent.push((typeof first === 'string' ? first : (first.text ?? '')).replace(/\s+/g, ' ').trim());
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    await fn();
  } finally {
    pg.Client.prototype.query = original;
  }
  return sent;
}

describe('round trips of an incremental sync', () => {
  let ledger: Ledger;

  beforeAll(async () => {
    ledger = await createLedger('round_trips', { batchSize: 50 });
  });
  afterAll(async () => {
    await ledger.cleanup();
  });

  it('a pull with nothing new sends the same queries for one table as for five, and none per table', async () => {
    const one = ledger.terminal('till-one', { tables: LEDGER_TABLES.filter((t) => t.name === 'accounts') });
    const five = ledger.terminal('till-five');
    await ledger.db.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'a', 1, now())`, [uid(1)]);
    for (const t of [one, five]) for (let i = 0; i < 2; i++) expectNoTableErrors(await t.sync('both'));

    const q1 = await queriesDuring(async () => expectNoTableErrors(await one.sync('pull')));
    const q5 = await queriesDuring(async () => expectNoTableErrors(await five.sync('pull')));
    expect(q5.length, q5.join('\n')).toBe(q1.length);
    expect(q5.filter((q) => /SAVEPOINT|DECLARE|FETCH|FROM "public"\."/.test(q))).toEqual([]);
    // The change log was pruned by an earlier pull minutes ago: no prune transaction this time.
    expect(q5.filter((q) => q.includes('pg_try_advisory_xact_lock'))).toEqual([]);
  });

  it('one changed table costs its window and its rows; the four others still cost nothing', async () => {
    const five = ledger.terminal('till-five');
    const quiet = await queriesDuring(async () => expectNoTableErrors(await five.sync('pull')));
    await ledger.db.query(`INSERT INTO tags (id, label, updated_at) VALUES ($1, 't', now())`, [uid(2)]);
    let result: Awaited<ReturnType<typeof five.sync>> | undefined;
    const changed = await queriesDuring(async () => {
      result = await five.sync('pull');
    });
    expectNoTableErrors(result!);
    expect(totals(result!, { step: 'pull' }).inserted).toBe(1);
    // SAVEPOINT, DECLARE with its first FETCH (one short page: the last, so no CLOSE), the rows.
    expect(changed.length - quiet.length, changed.join('\n')).toBeLessThanOrEqual(3);
    expect(changed.filter((q) => q.startsWith('SAVEPOINT'))).toEqual(['SAVEPOINT possync_table']);
    await expectInSync(five.config);
  });

  it('a push with nothing new sends the same queries for one table as for five', async () => {
    const one = ledger.terminal('till-one', { tables: LEDGER_TABLES.filter((t) => t.name === 'accounts') });
    const five = ledger.terminal('till-five');
    const q1 = await queriesDuring(async () => expectNoTableErrors(await one.sync('push')));
    const q5 = await queriesDuring(async () => expectNoTableErrors(await five.sync('push')));
    expect(q5.length, q5.join('\n')).toBe(q1.length);
  });

  it('a window of several pages reads each page once and every row arrives', async () => {
    const five = ledger.terminal('till-five');
    const quiet = await queriesDuring(async () => expectNoTableErrors(await five.sync('pull')));
    // 120 keys with 50-key batches: pages of 50, 50 and 20.
    await ledger.db.query(`INSERT INTO tags (id, label, updated_at) SELECT gen_random_uuid(), 'many', now() FROM generate_series(1, 120)`);
    let result: Awaited<ReturnType<typeof five.sync>> | undefined;
    const sent = await queriesDuring(async () => {
      result = await five.sync('pull');
    });
    expectNoTableErrors(result!);
    expect(totals(result!, { step: 'pull' }).inserted).toBe(120);
    expect(sent.filter((q) => q.startsWith('FETCH'))).toHaveLength(2);
    expect(sent.filter((q) => q.startsWith('CLOSE'))).toEqual([]);
    // SAVEPOINT, DECLARE + first FETCH, two more FETCHes, three row reads.
    expect(sent.length - quiet.length, sent.join('\n')).toBe(7);
    await expectInSync(five.config);
  });

  it('a run starts with six round trips (server version, catalog, registration, two install checks, checkpoints), and a one-row push adds its transaction', async () => {
    // Every run pays these before its first transaction; over a till's WAN link each is the
    // link's latency. The catalog (columns, keys, unique indexes, routing) is one query, the
    // bookkeeping check one statement. (Last in this file: it leaves a change for other tills.)
    const one = ledger.terminal('till-one', { tables: LEDGER_TABLES.filter((t) => t.name === 'accounts') });
    await ledger.db.query(`INSERT INTO accounts (id, name, balance, updated_at) VALUES ($1, 'r', 1, now())`, [uid(90)]);
    expectNoTableErrors(await one.sync('both'));
    one.local.prepare(`UPDATE accounts SET balance = balance + 1, updated_at = ? WHERE id = ?`).run(new Date(Date.UTC(2030, 0, 1)).toISOString(), uid(90));
    let result: Awaited<ReturnType<typeof one.sync>> | undefined;
    const sent = await queriesDuring(async () => {
      result = await one.sync('push');
    });
    expectNoTableErrors(result!);
    expect(totals(result!, { step: 'push' }).updated).toBe(1);
    const start = sent.slice(0, sent.findIndex((q) => q.startsWith('BEGIN')));
    expect(start, start.join('\n')).toHaveLength(6);
    expect(start.filter((q) => q.includes('pg_attribute'))).toHaveLength(1);
    // BEGIN, lock the row, lift the lock phase's bound, the change history, SAVEPOINT, the write,
    // the checkpoint, COMMIT, the run log.
    expect(sent.length - start.length, sent.join('\n')).toBeLessThanOrEqual(9);
  });
});
