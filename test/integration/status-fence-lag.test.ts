import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport, TableStatus } from '../../src/engine/status/report.ts';
import { createClinic, seedClinic, uuid, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { createTestPg, openSqlite, type TestPg } from '../support/db.ts';
import { ownPostgres } from '../support/ledger.ts';
import { backendPid } from '../support/pg-locks.ts';

// `possync status` shows per table the fence lag (issue 7 point 5): how many writing transactions
// of others this terminal has not pulled yet and how old the oldest of them is; and server-wide,
// the open transaction that pins the pull fence for every till, even one in another database.
//
// Its own server: this file holds a writing transaction open, which would hold back the pull
// fence of every other test file (xids are cluster-wide).

describe('possync status: fence lag (subprocess)', () => {
  let server: Awaited<ReturnType<typeof ownPostgres>>;
  let c: Clinic;
  let other: TestPg;
  const status = async (): Promise<StatusReport> => {
    const r = await runCli(['status', '--json', '-c', c.configPath], { env: c.env });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as StatusReport;
  };
  const byTable = (s: StatusReport): Record<string, TableStatus> => Object.fromEntries(s.tables.map((t) => [t.table, t]));
  const trigger = async (direction: string) => {
    const r = await runCli(['trigger', '-d', direction, '--json', '-c', c.configPath], { env: c.env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { warnings: string[]; tables: Array<{ table: string; step: string; updated: number; unchanged: number }> };
  };
  const fenceOf = (s: StatusReport) => {
    if (!s.cloud.reachable) throw new Error(`cloud unreachable: ${s.cloud.error}`);
    return s.cloud.currentFence;
  };

  beforeAll(async () => {
    server = await ownPostgres();
    c = await createClinic('fencelag', { adminUrl: server.adminUrl });
    other = await createTestPg('fencelag_backoffice', server.adminUrl);
    // No autovacuum: an ANALYZE takes an xid and would briefly show up as the fence's holder.
    await c.pg.query(`ALTER SYSTEM SET autovacuum = off`);
    await c.pg.query(`SELECT pg_reload_conf()`);
    await seedClinic(c);
    await trigger('both');
  });
  afterAll(async () => {
    await other?.drop();
    await c?.cleanup();
    await server?.stop();
  });

  it('a terminal behind by N transactions: counts them per table, with the age of the oldest; its own pushes do not count', async () => {
    // This terminal's own push to patients: never pulled back, so never lag.
    const db = openSqlite(c.sqlitePath);
    db.prepare(`UPDATE patients SET full_name = 'Tomás Ruiz Díaz', updated_at = '2026-11-03T08:00:00.000Z' WHERE id = ?`).run(uuid(12));
    db.close();
    await trigger('push');

    const before = Date.now();
    // The back office: three transactions on patients, one touching clinics and patients together.
    await c.pg.query(`INSERT INTO patients VALUES ($1, $2, 'Lena Koch', NULL, 0, '2026-11-10T08:00:00Z', NULL)`, [uuid(13), uuid(1)]);
    await c.pg.query(`UPDATE patients SET balance = 20 WHERE id = $1`, [uuid(11)]);
    await c.pg.query(`INSERT INTO patients VALUES ($1, $2, 'Ravi Shah', NULL, 0, '2026-11-10T08:00:00Z', NULL)`, [uuid(14), uuid(1)]);
    await c.pg.query(`BEGIN; UPDATE clinics SET name = 'Northside East' WHERE id = '${uuid(1)}'; UPDATE patients SET balance = 21 WHERE id = '${uuid(11)}'; COMMIT`);
    const after = Date.now();
    await new Promise((r) => setTimeout(r, 1_100));

    const s = await status();
    const t = byTable(s);
    expect(t.patients!.fenceLag).toMatchObject({ transactions: 4 });
    expect(t.patients!.pendingPull).toEqual({ changes: 4, keys: 4 });
    const oldest = Date.parse(t.patients!.fenceLag!.oldestChangeAt!);
    expect(oldest).toBeGreaterThanOrEqual(before - 50);
    expect(oldest).toBeLessThanOrEqual(after + 50);
    expect(t.patients!.fenceLag!.oldestChangeAgeSeconds).toBeGreaterThanOrEqual(1);
    expect(t.clinics!.fenceLag).toMatchObject({ transactions: 1 });
    expect(t.visits!.fenceLag).toEqual({ transactions: 0, oldestChangeAt: null, oldestChangeAgeSeconds: null });
    expect(fenceOf(s).heldBy).toBeNull();
    expect(fenceOf(s).xid).toMatch(/^\d+$/);

    const human = await runCli(['status', '-c', c.configPath], { env: c.env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/fence lag/);
    expect(human.stdout).toMatch(/^ {2}patients .* 4 tx, oldest \d+ s ago$/m);
    expect(human.stdout).toMatch(/^ {2}visits .* none$/m);
    expect(human.stdout).toMatch(/pull fence now: xid \d+, no open transaction holds it back/);

    // Pulled: nothing behind any more.
    await trigger('pull');
    const caught = byTable(await status());
    for (const name of ['clinics', 'patients', 'visits']) expect(caught[name]!.fenceLag, name).toEqual({ transactions: 0, oldestChangeAt: null, oldestChangeAgeSeconds: null });
  });

  it('a long-open writing transaction in another database pins the fence: status names it, and the lag stays until it ends', async () => {
    // The back office's ETL, in another database of the same server, left a transaction open.
    const etl = new pg.Client({ connectionString: other.url, application_name: 'back-office-etl' });
    await etl.connect();
    try {
      const etlPid = await backendPid(etl);
      await etl.query('BEGIN');
      await etl.query('CREATE TABLE staging (id int)');
      const { rows } = await etl.query<{ xid: string }>(`SELECT pg_current_xact_id()::text AS xid`);
      const etlXid = rows[0]!.xid;

      // Meanwhile a change commits in the clinic database.
      await c.pg.query(`UPDATE patients SET balance = 30 WHERE id = $1`, [uuid(11)]);

      const s = await status();
      expect(fenceOf(s).xid).toBe(etlXid);
      expect(fenceOf(s).heldBy).toMatchObject({ pid: etlPid, database: other.name, application: 'back-office-etl', state: 'idle in transaction', prepared: null });
      expect(fenceOf(s).heldBy!.ageSeconds).toBeGreaterThanOrEqual(0);
      expect(byTable(s).patients!.fenceLag).toMatchObject({ transactions: 1 });
      const human = await runCli(['status', '-c', c.configPath], { env: c.env });
      expect(human.stdout).toContain(`pull fence now: xid ${etlXid}, held by an open transaction (pid ${etlPid}, application back-office-etl, database ${other.name}, idle in transaction) since`);

      // A pull applies the committed change (it is visible in the pull's snapshot) and warns. Its
      // checkpoint keeps that snapshot, so the change is no longer behind, though the fence stays.
      const pulled = await trigger('pull');
      expect(pulled.warnings.join(' ')).toMatch(/long-running Postgres transaction holds the pull fence back/);
      const db = openSqlite(c.sqlitePath);
      expect(db.prepare(`SELECT balance FROM patients WHERE id = ?`).get(uuid(11))).toEqual({ balance: '30.00' });
      db.close();
      const after = await status();
      expect(fenceOf(after).xid).toBe(etlXid);
      expect(byTable(after).patients!.fenceLag).toMatchObject({ transactions: 0 });
      // And a change committed after that pull is behind again, until the next pull.
      await c.pg.query(`UPDATE patients SET balance = 31 WHERE id = $1`, [uuid(11)]);
      expect(byTable(await status()).patients!.fenceLag).toMatchObject({ transactions: 1 });
      const patients = (await trigger('pull')).tables.filter((t) => t.table === 'patients');
      expect(patients.map((t) => [t.step, t.updated, t.unchanged])).toEqual([['pull', 1, 0]]);
      expect(byTable(await status()).patients!.fenceLag).toMatchObject({ transactions: 0 });

      await etl.query('COMMIT');
    } finally {
      await etl.query('ROLLBACK').catch(() => {});
      await etl.end();
    }
    const released = await status();
    expect(fenceOf(released).heldBy).toBeNull();
    await trigger('pull');
    expect(byTable(await status()).patients!.fenceLag).toMatchObject({ transactions: 0 });
  });
});
