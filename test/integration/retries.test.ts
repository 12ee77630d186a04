import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPg, tempDir, type TestPg } from '../support/db.ts';
import { ownPostgres } from '../support/ledger.ts';
import { backendPid, waitForBlockedPossync, waitUntilPossyncBlockedBy, waitUntilPossyncStopsWaitingFor } from '../support/pg-locks.ts';
import { expectCliOk, makeTill, runProblems, type Till } from '../support/tills.ts';
import { ROW_LOCK_TRIES } from '../../src/db/postgres/row-locks.ts';

// Retries of work Postgres rolled back (issue 7 points 3 and 7): a push batch that hits a deadlock
// (40P01) or a serialization failure (40001) is redone, and so is a pull; each retry is counted in
// RunResult.retries (and so in `possync trigger --json` and bench:terminals), by cause.
//
// Its own server: the deadlock cases hold write transactions and table locks open for seconds,
// which would hold back the pull fence of every other test file (xids are cluster-wide).

const PG = `
CREATE TABLE items (id text PRIMARY KEY, qty integer NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE others (id text PRIMARY KEY, qty integer NOT NULL, updated_at timestamptz(3) NOT NULL);
`;
const SQLITE = `
CREATE TABLE items (id TEXT PRIMARY KEY, qty INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE others (id TEXT PRIMARY KEY, qty INTEGER NOT NULL, updated_at TEXT NOT NULL);
`;
const TABLES = [
  { name: 'items', pk: 'id', updatedCol: 'updated_at' },
  { name: 'others', pk: 'id', updatedCol: 'updated_at' },
];

describe('retries after deadlocks, serialization failures and lock waits past lockTimeoutSeconds are redone and counted', () => {
  let server: Awaited<ReturnType<typeof ownPostgres>>;
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let till: Till;
  const clients: pg.Client[] = [];

  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: db.url, application_name: 'test-other-app' });
    await c.connect();
    clients.push(c);
    // The test's own sessions never time out first: possync's backend is the one that detects the
    // deadlock and is rolled back (deadlock_timeout is a superuser setting; the suite's user is one).
    await c.query(`SET deadlock_timeout = '60s'`);
    return c;
  };

  /** A session of "another app" holding row `id` of items locked in an open transaction. */
  const holdRow = async (id: string): Promise<{ client: pg.Client; pid: number }> => {
    const client = await connect();
    const pid = await backendPid(client);
    await client.query('BEGIN');
    await client.query(`UPDATE items SET qty = qty WHERE id = $1`, [id]);
    return { client, pid };
  };

  /** Waits until the session `pid` waits for a lock (queued behind the row's holder). */
  const waitForWaiter = async (pid: number) => {
    for (let i = 0; i < 3_000; i++) {
      const rows = await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [pid]);
      if (rows.length > 0) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`session ${pid} never waited for the row`);
  };

  beforeAll(async () => {
    server = await ownPostgres();
    db = await createTestPg('retries', server.adminUrl);
    await db.query(PG);
    // possync's sessions look for deadlocks after 2 s (not the default 1 s): time enough for the
    // test to close the cycle once it sees possync waiting, on a loaded machine too.
    await db.query(`ALTER DATABASE "${db.name}" SET deadlock_timeout = '2s'`);
    tmp = tempDir();
    till = makeTill(tmp.dir, 'till-retry', SQLITE, { postgres: { url: db.url }, batchSize: 50, tables: TABLES });
    // Installs possync and finishes the (empty) first scans, so later pushes take the batch path.
    expect(runProblems('first run', await till.sync('both'))).toEqual([]);
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    till?.close();
    await db?.drop();
    tmp?.cleanup();
    await server?.stop();
  });

  it('a push batch refused with 40001 is retried until it goes through, and --json counts each retry', async () => {
    // A trigger of "another app" refuses the first two attempts with serialization_failure (a
    // sequence, not a table, counts them: nextval survives the rollback). Pushes run in READ
    // COMMITTED, where Postgres itself never raises 40001 for them, so it is provoked this way.
    await db.query(`
      CREATE SEQUENCE flaky_attempts;
      CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('flaky_attempts') <= 2 THEN
          RAISE EXCEPTION 'could not serialize access (simulated)' USING ERRCODE = 'serialization_failure';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER flaky BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION flaky();`);
    try {
      const insert = till.local.prepare(`INSERT INTO items VALUES (?, ?, ?)`);
      for (let i = 1; i <= 3; i++) insert.run(`s${i}`, i, `2026-03-01T10:00:0${i}.000Z`);
      const run = await till.cli('push');
      expectCliOk('push', run);
      expect(run.result!.retries).toEqual({ push: 2, pull: 0, deadlock: 0, serialization: 2, lockTimeout: 0 });
      const rows = await db.query<{ id: string; qty: number }>(`SELECT id, qty FROM items WHERE id LIKE 's%' ORDER BY id`);
      expect(rows).toEqual([{ id: 's1', qty: 1 }, { id: 's2', qty: 2 }, { id: 's3', qty: 3 }]);
      // The retried batch was applied once: its local changes are acknowledged, nothing moves again.
      const again = await till.sync('push');
      expect(again.retries).toEqual({ push: 0, pull: 0, deadlock: 0, serialization: 0, lockTimeout: 0 });
      expect(again.tables.reduce((a, t) => a + t.inserted + t.updated, 0)).toBe(0);
    } finally {
      await db.query(`DROP TRIGGER flaky ON items; DROP FUNCTION flaky(); DROP SEQUENCE flaky_attempts`);
    }
  });

  it('a push batch that deadlocks with another session is retried and counted as a deadlock', async () => {
    await db.query(`INSERT INTO items VALUES ('d1', 1, '2026-03-01T09:00:00Z'), ('d2', 2, '2026-03-01T09:00:00Z')`);
    expect(runProblems('pull', await till.sync('pull'))).toEqual([]);
    const update = till.local.prepare(`UPDATE items SET qty = ?, updated_at = ? WHERE id = ?`);
    update.run(10, '2026-03-02T09:00:00.000Z', 'd1');
    update.run(20, '2026-03-02T09:00:00.000Z', 'd2');

    // The other session locks d2; possync's batch locks d1 then waits for d2; the other session
    // then asks for d1: a cycle. possync's backend (shorter deadlock_timeout) is rolled back.
    const { client: other, pid: otherPid } = await holdRow('d2');
    const pushing = till.sync('push');
    pushing.catch(() => {});
    await waitUntilPossyncBlockedBy(db.pool, otherPid);
    await other.query(`UPDATE items SET qty = qty WHERE id = 'd1'`);
    await other.query('COMMIT');

    const result = await pushing;
    expect(runProblems('push', result)).toEqual([]);
    expect(result.retries.push).toBeGreaterThanOrEqual(1);
    expect(result.retries.deadlock).toBe(result.retries.push);
    expect(result.retries).toMatchObject({ pull: 0, serialization: 0 });
    const rows = await db.query<{ id: string; qty: number }>(`SELECT id, qty FROM items WHERE id LIKE 'd%' ORDER BY id`);
    expect(rows).toEqual([{ id: 'd1', qty: 10 }, { id: 'd2', qty: 20 }]);
  });

  it('a pull that deadlocks is redone from a new snapshot and counted', async () => {
    await db.query(`INSERT INTO items VALUES ('p1', 1, '2026-03-03T09:00:00Z')`);
    await db.query(`INSERT INTO others VALUES ('p2', 2, '2026-03-03T09:00:00Z')`);

    // The pull reads items (keeping its share lock to the end of its snapshot) and then others,
    // which the other session holds exclusively; that session then wants items exclusively.
    const other = await connect();
    const otherPid = await backendPid(other);
    await other.query('BEGIN');
    await other.query(`LOCK TABLE others IN ACCESS EXCLUSIVE MODE`);
    const pulling = till.sync('pull');
    pulling.catch(() => {});
    await waitUntilPossyncBlockedBy(db.pool, otherPid);
    await other.query(`LOCK TABLE items IN ACCESS EXCLUSIVE MODE`);
    await other.query('COMMIT');

    const result = await pulling;
    expect(runProblems('pull', result)).toEqual([]);
    expect(result.retries).toMatchObject({ push: 0, pull: 1, deadlock: 1, serialization: 0 });
    // The redone pull starts its counts afresh: each row counted once, not once per attempt.
    expect(result.tables.map((t) => [t.table, t.inserted])).toEqual([
      ['items', 1],
      ['others', 1],
    ]);
    const local = till.local.prepare(`SELECT id FROM items WHERE id = 'p1' UNION ALL SELECT id FROM others WHERE id = 'p2'`).all();
    expect(local).toEqual([{ id: 'p1' }, { id: 'p2' }]);
  });

  /**
   * A till with short Postgres bounds that has pulled `rows` (id → qty) from the cloud and then
   * edited each on its side (qty → `edited`): its next push must lock those rows.
   */
  const editingTill = async (id: string, postgres: Record<string, number>, rows: Record<string, number>, edited: Record<string, number>): Promise<Till> => {
    const t = makeTill(tmp.dir, id, SQLITE, { postgres: { url: db.url, ...postgres }, batchSize: 50, tables: TABLES });
    for (const [key, qty] of Object.entries(rows)) await db.query(`INSERT INTO items VALUES ($1, $2, '2026-03-04T09:00:00Z')`, [key, qty]);
    expect(runProblems('pull', await t.sync('pull'))).toEqual([]);
    const update = t.local.prepare(`UPDATE items SET qty = ?, updated_at = '2026-03-05T09:00:00.000Z' WHERE id = ?`);
    for (const [key, qty] of Object.entries(edited)) update.run(qty, key);
    return t;
  };

  it('a push batch that waits past lockTimeoutSeconds for rows another session holds is tried again, and counted', async () => {
    // A till with a 1 s lock timeout: many tills pushing edits of the same rows queue on them; one
    // that gives up its place and comes back a moment later gets through.
    const patient = await editingTill('till-lock', { lockTimeoutSeconds: 1 }, { l1: 1 }, { l1: 11 });
    try {
      const { client: other, pid: otherPid } = await holdRow('l1');
      const pushing = patient.sync('push');
      pushing.catch(() => {});
      // Seen waiting, then seen waiting again in a new transaction (the batch's second try):
      // only then does the other session let go.
      const first = await waitForBlockedPossync(db.pool, otherPid, undefined);
      await waitForBlockedPossync(db.pool, otherPid, first.xactStart);
      await other.query('COMMIT');
      const result = await pushing;
      expect(runProblems('push', result)).toEqual([]);
      expect(result.retries.lockTimeout).toBeGreaterThanOrEqual(1);
      expect(result.retries).toMatchObject({ push: result.retries.lockTimeout, pull: 0, deadlock: 0, serialization: 0 });
      expect(await db.query(`SELECT qty FROM items WHERE id = 'l1'`)).toEqual([{ qty: 11 }]);
    } finally {
      patient.close();
    }
  });

  it('the wait for all of a batch\'s row locks is bounded by lockTimeoutSeconds, not each lock\'s: never taken for a silent link', async () => {
    // lock_timeout bounds each lock wait. A batch whose rows two sessions hold one after the other
    // waited for each in turn, silent all along: 1.8 s for the first, then up to 2 s for the second,
    // past the 3 s read timeout, and the run was cut as a dead link. Now the lock phase as a whole
    // ends at 2 s and the batch is tried again.
    const patient = await editingTill('till-lock3', { lockTimeoutSeconds: 2, readTimeoutSeconds: 3 }, { m1: 1, m2: 2 }, { m1: 31, m2: 32 });
    try {
      const { client: a, pid: aPid } = await holdRow('m1');
      const { client: b, pid: bPid } = await holdRow('m2');
      const pushing = patient.sync('push');
      pushing.catch(() => {});
      const first = await waitForBlockedPossync(db.pool, aPid, undefined);
      await new Promise((r) => setTimeout(r, 1_800));
      await a.query('COMMIT');
      // The batch's next try, waiting for m2: only then does b let go.
      await waitForBlockedPossync(db.pool, bPid, first.xactStart);
      await b.query('COMMIT');
      const result = await pushing;
      expect(runProblems('push', result)).toEqual([]);
      // Seen once in CI under load with lockTimeout 0 (not reproduced since): say which retries there were.
      expect(result.retries.lockTimeout, JSON.stringify(result.retries)).toBeGreaterThanOrEqual(1);
      expect(await db.query(`SELECT id, qty FROM items WHERE id LIKE 'm%' ORDER BY id`)).toEqual([
        { id: 'm1', qty: 31 },
        { id: 'm2', qty: 32 },
      ]);
    } finally {
      patient.close();
    }
  });

  it('a queue that keeps moving (a different transaction holding the rows at every give-up) is waited out past ROW_LOCK_TRIES, not reported BLOCKED', async () => {
    // Many tills pushing the same rows: each holds them for a moment, then the next. Here five
    // sessions take the row in turn, each handing it over while possync pauses between tries, so
    // every try of the batch waits out lockTimeoutSeconds behind a different transaction.
    const patient = await editingTill('till-lock4', { lockTimeoutSeconds: 1 }, { q1: 1 }, { q1: 41 });
    try {
      const holders = [await connect(), await connect(), await connect(), await connect(), await connect()];
      const pids = await Promise.all(holders.map(backendPid));
      await holders[0]!.query('BEGIN');
      await holders[0]!.query(`UPDATE items SET qty = qty WHERE id = 'q1'`);
      const pushing = patient.sync('push');
      pushing.catch(() => {});
      let waiter: string | undefined;
      for (let i = 0; i + 1 < holders.length; i++) {
        waiter = (await waitForBlockedPossync(db.pool, pids[i]!, waiter)).xactStart;
        // It gave up on this holder: the next one queues for the row, then this one lets go.
        await waitUntilPossyncStopsWaitingFor(db.pool, pids[i]!);
        const next = holders[i + 1]!;
        await next.query('BEGIN');
        const taking = next.query(`UPDATE items SET qty = qty WHERE id = 'q1'`);
        await waitForWaiter(pids[i + 1]!);
        await holders[i]!.query('COMMIT');
        await taking;
      }
      await waitForBlockedPossync(db.pool, pids.at(-1)!, waiter);
      await holders.at(-1)!.query('COMMIT');
      const result = await pushing;
      expect(runProblems('push', result)).toEqual([]);
      // Gave up four times (once per holder but the last), more than ROW_LOCK_TRIES allows a stuck one.
      expect(result.retries.lockTimeout).toBeGreaterThanOrEqual(ROW_LOCK_TRIES);
      expect(await db.query(`SELECT qty FROM items WHERE id = 'q1'`)).toEqual([{ qty: 41 }]);
    } finally {
      patient.close();
    }
  });

  it('a push that keeps meeting rows an open transaction holds fails the table with BLOCKED, naming the session, and goes with a later run', async () => {
    const patient = await editingTill('till-lock2', { lockTimeoutSeconds: 1 }, { l2: 1 }, { l2: 22 });
    try {
      patient.local.prepare(`INSERT INTO others VALUES ('o2', 2, '2026-03-05T09:00:00.000Z')`).run();
      const { client: other } = await holdRow('l2');
      await other.query(`SET application_name = 'back-office'`);
      const run = await patient.cli('push');
      // Exit 1 (a table failed), with one line that names the session and what to do.
      expect(run.code).toBe(1);
      const items = run.result!.tables.find((t) => t.table === 'items' && t.step === 'push')!;
      expect(items.status).toBe('error');
      expect(items.errorCode).toBe('BLOCKED');
      expect(items.error).toMatch(new RegExp(`stayed locked by another session for longer than postgres.lockTimeoutSeconds \\(1 s, ${ROW_LOCK_TRIES} tries\\)`));
      expect(items.error).toMatch(/application "back-office"/);
      expect(items.error).toMatch(/pg_terminate_backend\(\d+\)/);
      expect(run.result!.retries.lockTimeout).toBe(ROW_LOCK_TRIES - 1);
      // The other table went on; the blocked row is still pending on the till.
      expect(await db.query(`SELECT id FROM others WHERE id = 'o2'`)).toEqual([{ id: 'o2' }]);
      await other.query('COMMIT');
      expect(runProblems('push again', await patient.sync('push'))).toEqual([]);
      expect(await db.query(`SELECT qty FROM items WHERE id = 'l2'`)).toEqual([{ qty: 22 }]);
    } finally {
      patient.close();
    }
  });
});
