import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { ResolvedConfig } from '../../src/config/types.ts';
import type { RunResult, TableResult } from '../../src/engine/result.ts';
import { runSync } from '../../src/engine/run.ts';
import { createClinic, seedClinic, uuid, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { snapshotBothSides } from '../support/snapshot.ts';

/** The counts a run reports per table and step (what a dry run must predict exactly). */
const counts = (r: RunResult) =>
  r.tables.map((t: TableResult) => ({
    step: t.step,
    table: t.table,
    status: t.status,
    inserted: t.inserted,
    updated: t.updated,
    deleted: t.deleted,
    unchanged: t.unchanged,
    conflicts: t.conflicts,
    deferred: t.deferred,
    rejected: t.rejected,
    reasons: t.reasons,
  }));

const row = (r: RunResult, step: 'push' | 'pull', table: string) => r.tables.find((t) => t.step === step && t.table === table)!;

/**
 * Changes waiting on both sides after a first sync: on the till a new clinic, an edited patient
 * and a visit whose patient exists nowhere (it must wait: deferred); in the cloud a new clinic
 * and an edited patient.
 */
async function pendingChanges(c: Clinic): Promise<void> {
  const db = openSqlite(c.sqlitePath);
  db.prepare(`INSERT INTO clinics VALUES (?, 'Hilltop', '2026-11-03T08:00:00.000Z')`).run(uuid(3));
  db.prepare(`UPDATE patients SET full_name = 'Tomás Ruiz-Ortega', updated_at = '2026-11-03T09:00:00.000Z' WHERE id = ?`).run(uuid(12));
  // Like many POS apps, this one does not enforce its foreign keys.
  db.pragma('foreign_keys = OFF');
  db.prepare(`INSERT INTO visits VALUES (?, ?, 'walk-in', '15.00', '2026-11-03T10:00:00.000Z', '2026-11-03T10:00:00.000Z', 0)`).run(uuid(23), uuid(99));
  db.close();
  await c.pg.query(`INSERT INTO clinics VALUES ($1, 'Seaview', '2026-11-03T08:30:00Z')`, [uuid(4)]);
  await c.pg.query(`UPDATE patients SET full_name = 'Amina W. Njoroge', updated_at = '2026-11-03T09:30:00Z' WHERE id = $1`, [uuid(11)]);
}

const DEFERRED_REASON = `visits:${uuid(23)} waits for patient_id → patients[${uuid(99)}]`;

describe('runSync({ dryRun: true }) (engine)', () => {
  let c: Clinic;
  let config: ResolvedConfig;
  beforeAll(async () => {
    c = await createClinic('dry_engine');
    await seedClinic(c);
    config = loadConfig({ configPath: c.configPath, env: { ...process.env, ...c.env }, dotenv: false });
    expect((await runSync(config, { direction: 'both' })).status).toBe('success');
    await pendingChanges(c);
  });
  afterAll(() => c.cleanup());

  it('both ways: reports what it would do and writes nothing on either side', async () => {
    const before = await snapshotBothSides(c.sqlitePath, c.pg);
    const dry = await runSync(config, { direction: 'both', dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.status).toBe('partial'); // the visit would wait for its patient
    expect(row(dry, 'push', 'clinics')).toMatchObject({ inserted: 1, updated: 0, deleted: 0 });
    expect(row(dry, 'push', 'patients')).toMatchObject({ inserted: 0, updated: 1 });
    expect(row(dry, 'push', 'visits')).toMatchObject({ inserted: 0, deferred: 1, reasons: [DEFERRED_REASON] });
    expect(row(dry, 'pull', 'clinics')).toMatchObject({ inserted: 1 });
    // Rows, checkpoints, held rows, change logs (both), conflicts, run logs, terminals, triggers: all as before.
    expect(await snapshotBothSides(c.sqlitePath, c.pg)).toEqual(before);
  });

  it('push: the counts of a dry run are exactly those of the real run that follows', async () => {
    const dry = await runSync(config, { direction: 'push', dryRun: true });
    const heldAfterDry = openSqlite(c.sqlitePath);
    expect(heldAfterDry.prepare(`SELECT count(*) AS n FROM _possync_held`).get()).toEqual({ n: 0 });
    heldAfterDry.close();
    const real = await runSync(config, { direction: 'push' });
    expect(real.dryRun).toBe(false);
    expect(counts(dry)).toEqual(counts(real));
    expect(row(real, 'push', 'clinics').inserted + row(real, 'push', 'patients').updated).toBe(2);
    // The real run did write: the clinic is in the cloud and the visit is held for retry.
    expect(await c.pg.query(`SELECT name FROM clinics WHERE id = $1`, [uuid(3)])).toEqual([{ name: 'Hilltop' }]);
    const db = openSqlite(c.sqlitePath);
    expect(db.prepare(`SELECT tbl, kind FROM _possync_held`).all()).toEqual([{ tbl: 'visits', kind: 'deferred' }]);
    db.close();
  });

  it('pull: the counts of a dry run are exactly those of the real run that follows', async () => {
    const before = await snapshotBothSides(c.sqlitePath, c.pg);
    const dry = await runSync(config, { direction: 'pull', dryRun: true });
    expect(await snapshotBothSides(c.sqlitePath, c.pg)).toEqual(before);
    const real = await runSync(config, { direction: 'pull' });
    expect(counts(dry)).toEqual(counts(real));
    expect(row(real, 'pull', 'clinics').inserted).toBe(1);
    expect(row(real, 'pull', 'patients').updated).toBe(1);
    const db = openSqlite(c.sqlitePath);
    expect(db.prepare(`SELECT full_name FROM patients WHERE id = ?`).get(uuid(11))).toEqual({ full_name: 'Amina W. Njoroge' });
    db.close();
  });

  describe('on a pair that never synced', () => {
    let fresh: Clinic;
    let cfg: ResolvedConfig;
    beforeAll(async () => {
      fresh = await createClinic('dry_fresh');
      await seedClinic(fresh);
      cfg = loadConfig({ configPath: fresh.configPath, env: { ...process.env, ...fresh.env }, dotenv: false });
    });
    afterAll(() => fresh.cleanup());

    it('it writes no data, checkpoint, held row or log: it only installs possync', async () => {
      const appTables = ['clinics', 'patients', 'visits'];
      const before = await snapshotBothSides(fresh.sqlitePath, fresh.pg);
      const dry = await runSync(cfg, { direction: 'both', dryRun: true });
      expect(dry.dryRun).toBe(true);
      expect(row(dry, 'push', 'clinics').inserted).toBe(1);
      expect(row(dry, 'pull', 'clinics').inserted).toBe(1);
      const after = await snapshotBothSides(fresh.sqlitePath, fresh.pg);
      for (const t of appTables) {
        expect(after.sqlite.rows[t]).toEqual(before.sqlite.rows[t]);
        expect(after.postgres.rows[`public.${t}`]).toEqual(before.postgres.rows[`public.${t}`]);
      }
      // Installed: bookkeeping tables and capture triggers; recorded: nothing but possync's schema version.
      expect(after.postgres.triggers.length).toBeGreaterThan(before.postgres.triggers.length);
      expect(after.postgres.rows['possync.system_settings']!.map((r) => (JSON.parse(r) as { setting_key: string }).setting_key)).toEqual(['possync.schema_version']);
      for (const t of ['possync.changes', 'possync.conflicts', 'possync.sync_logs', 'possync.terminals']) expect(after.postgres.rows[t], t).toEqual([]);
      for (const t of ['_possync_changes', '_possync_held', '_possync_conflicts', '_possync_sync_logs', '_possync_inflight', '_possync_resync', 'system_settings']) {
        expect(after.sqlite.rows[t], t).toEqual([]);
      }
    });

    /**
     * KNOWN BUG (engine, outside the CLI): a dry run rolls back every batch on its own, so a new
     * child whose new parent is in an earlier table of the same run is reported "deferred"
     * (patients:…12 waits for clinic_id → clinics[…2]) although the real run applies both. The
     * fix belongs in src/engine/push/table.ts and src/engine/pull/apply.ts: one transaction per
     * side for the whole dry run, rolled back at its end. `it.fails` keeps the reproduction
     * running; once the engine is fixed it reports a pass-that-should-fail: drop `.fails` then.
     */
    it.fails('its counts match the real run that follows, also for new parents with new children', async () => {
      const dry = await runSync(cfg, { direction: 'both', dryRun: true });
      const real = await runSync(cfg, { direction: 'both' });
      expect(real.status).toBe('success');
      expect(counts(dry)).toEqual(counts(real));
    });
  });
});

describe('possync trigger --dry-run / --tables (subprocess)', () => {
  let c: Clinic;
  const cli = (...args: string[]) => runCli([...args, '-c', c.configPath], { env: c.env });
  const runsLogged = () => {
    const db = openSqlite(c.sqlitePath);
    try {
      return (db.prepare(`SELECT count(*) AS n FROM _possync_sync_logs`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const pushCheckpoint = async (table: string) =>
    (await c.pg.query<{ v: string }>(`SELECT setting_value AS v FROM possync.system_settings WHERE setting_key = $1`, [`sync.checkpoint.till-dry_cli.push.${table}`]))[0]?.v;

  beforeAll(async () => {
    c = await createClinic('dry_cli');
    await seedClinic(c);
    expect((await cli('trigger', '-d', 'both')).code).toBe(0);
    await pendingChanges(c);
  });
  afterAll(() => c.cleanup());

  it('--dry-run prints the would-be counts and the first deferred reason, and writes nothing', async () => {
    const before = await snapshotBothSides(c.sqlitePath, c.pg);
    const logged = runsLogged();
    const r = await cli('trigger', '-d', 'both', '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1); // a real run would leave the visit waiting
    expect(r.stdout).toContain('(dry run: nothing was written)');
    expect(r.stdout).toMatch(/^ {2}clinics +1 +0 +\d+ +0 +0 +0/m);
    expect(r.stdout).toContain('waiting or refused rows (retried on every run):');
    expect(r.stdout).toContain(`  push ${DEFERRED_REASON}`);
    const json = await cli('trigger', '-d', 'both', '--dry-run', '--json');
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout) as RunResult;
    expect(doc.dryRun).toBe(true);
    expect(row(doc, 'push', 'visits')).toMatchObject({ deferred: 1, reasons: [DEFERRED_REASON] });
    // Two dry runs later: not a row, checkpoint, held row or log line more on either side.
    expect(await snapshotBothSides(c.sqlitePath, c.pg)).toEqual(before);
    expect(runsLogged()).toBe(logged);
    const logs = await cli('logs', '--json');
    expect((JSON.parse(logs.stdout) as Array<{ dryRun: boolean }>).filter((l) => l.dryRun)).toEqual([]);
  });

  it('an unknown --tables name is a one-line usage error (exit 2) naming the configured tables', async () => {
    const before = await snapshotBothSides(c.sqlitePath, c.pg);
    const r = await cli('trigger', '-d', 'both', '--tables', 'clinics,nurses');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--tables names tables that are not in the config: nurses');
    expect(r.stderr).toContain('configured tables: clinics, patients, visits');
    const empty = await cli('trigger', '-d', 'both', '--tables', ' , ');
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim().split('\n')).toHaveLength(1);
    expect(await snapshotBothSides(c.sqlitePath, c.pg)).toEqual(before);
  });

  it('--tables a,b syncs only those tables', async () => {
    const visitsCheckpoint = await pushCheckpoint('visits');
    expect(visitsCheckpoint).toBeDefined();
    const r = await cli('trigger', '-d', 'both', '--tables', 'patients,clinics', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as RunResult;
    expect(doc.tables.map((t) => `${t.step} ${t.table}`)).toEqual(['push clinics', 'push patients', 'pull clinics', 'pull patients']);
    expect(row(doc, 'push', 'clinics').inserted).toBe(1);
    expect(row(doc, 'pull', 'clinics').inserted).toBe(1);
    // The till's clinic and patient edit are in the cloud, the cloud's clinic on the till ...
    expect(await c.pg.query(`SELECT name FROM clinics WHERE id = $1`, [uuid(3)])).toEqual([{ name: 'Hilltop' }]);
    const db = openSqlite(c.sqlitePath);
    expect(db.prepare(`SELECT name FROM clinics WHERE id = ?`).get(uuid(4))).toEqual({ name: 'Seaview' });
    // ... and visits were left alone: not pushed, nothing held, checkpoint unmoved.
    expect(db.prepare(`SELECT count(*) AS n FROM _possync_held`).get()).toEqual({ n: 0 });
    db.close();
    expect(await c.pg.query(`SELECT id FROM visits WHERE id = $1`, [uuid(23)])).toEqual([]);
    expect(await pushCheckpoint('visits')).toBe(visitsCheckpoint);
  });

  it('a real run holds the child back (exit 1) and its summary shows the first deferred reason', async () => {
    const r = await cli('trigger', '-d', 'both');
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('dry run');
    expect(r.stdout).toMatch(/^ {2}visits +0 +0 +\d+ +0 +1 +0/m);
    expect(r.stdout).toContain(`waiting or refused rows (retried on every run):\n  push ${DEFERRED_REASON}`);
    expect(r.stdout).toContain('1 waiting or refused');
    const db = openSqlite(c.sqlitePath);
    expect(db.prepare(`SELECT tbl, kind, reason FROM _possync_held`).all()).toEqual([{ tbl: 'visits', kind: 'deferred', reason: DEFERRED_REASON }]);
    db.close();
  });
});
