import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAndPlan } from '../../src/engine/run.ts';
import { runVerifyData } from '../../src/engine/verify-data/run.ts';
import { tillBuckets, tillScanOf } from '../../src/engine/verify-data/till.ts';
import { createLedger, expectNoTableErrors, type Ledger, type Terminal } from '../support/ledger.ts';

// verify-data hashes the till while Postgres runs its own pass. When the cloud's half fails first
// (here: its backend terminated while it waits for a table lock, as when the server restarts or a
// DBA kills the session), the run must end with that error at once, not after the rest of a long
// till scan. Timed against the same till scan on its own, in the same run.
const ROWS = 1_000_000;

describe('verify-data: the cloud lost while the till is being scanned', () => {
  let ledger: Ledger;
  let till: Terminal;

  beforeAll(async () => {
    ledger = await createLedger('verify_cloud_lost', {
      extraPg: `CREATE TABLE wide (id int PRIMARY KEY, label text NOT NULL, updated_at timestamptz(3) NOT NULL);`,
      extraSqlite: `CREATE TABLE wide (id INTEGER PRIMARY KEY, label TEXT NOT NULL, updated_at TEXT NOT NULL);`,
      extraTables: [{ name: 'wide', pk: 'id', updatedCol: 'updated_at' }],
    });
    till = ledger.terminal('till-cloud-lost');
    expectNoTableErrors(await till.sync('both')); // an empty table, pulled once: verify-data compares it
    // A large till table written behind possync (only its scan matters here, not what it finds).
    till.local.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
      INSERT INTO wide SELECT i, 'label ' || i, '2026-12-01T00:00:00.000Z' FROM n; DELETE FROM _possync_changes;`);
  }, 120_000);
  afterAll(() => ledger?.cleanup());

  it('ends with the cloud error well before the till scan would have ended', async () => {
    const { sqlite, plan, close } = await openAndPlan(till.config);
    let scanMs: number;
    try {
      const t = plan.tables.find((x) => x.name === 'wide')!;
      const started = performance.now();
      await tillBuckets(sqlite.db, plan, t, 16_384, tillScanOf(sqlite.db, t, till.sqlitePath), async () => {});
      scanMs = performance.now() - started;
    } finally {
      await close();
    }

    const locker = new pg.Client({ connectionString: ledger.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE wide IN ACCESS EXCLUSIVE MODE');
      const run = runVerifyData(till.config, { tables: ['wide'] });
      run.catch(() => {});
      // verify-data's cloud pass, waiting for the lock: terminate its backend.
      let pid: number | undefined;
      // (Asked on another connection: inside the locker's transaction the view would not change.)
      for (let i = 0; i < 1000 && pid === undefined; i++) {
        const rows = await ledger.db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%_possync_apart%'`);
        pid = rows[0]?.pid;
        if (pid === undefined) await new Promise((r) => setTimeout(r, 10));
      }
      expect(pid, 'the cloud pass never waited for the lock').toBeDefined();
      const killed = performance.now();
      await locker.query('SELECT pg_terminate_backend($1)', [pid]);
      const err = await run.then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      const afterKill = performance.now() - killed;
      expect(err?.message).toMatch(/lost the connection to PostgreSQL|terminat/i);
      // Without stopping, the run would end only once the till scan is through (scanMs or more).
      expect(afterKill, `ended ${afterKill.toFixed(0)} ms after the kill; the till scan alone takes ${scanMs.toFixed(0)} ms`).toBeLessThan(scanMs / 2);
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
    }
  }, 120_000);
});
