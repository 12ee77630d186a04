import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/engine/verify.ts';
import { createClinic, seedClinic, CLINIC_TABLES, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';

interface Report {
  ok: boolean;
  counts: { error: number; warning: number; info: number };
  findings: Finding[];
}

const CLEAN = '✓ 3 tables: both databases match the config';

describe('possync verify-schemas: config columns that do not exist (subprocess)', () => {
  let c: Clinic;
  let file: string;
  beforeAll(async () => {
    c = await createClinic('verify_cols');
    // pk, updatedCol and deletedCol each name a column neither database has.
    const tables = CLINIC_TABLES.map((t) =>
      t.name === 'clinics' ? { ...t, pk: 'clinic_no' } : t.name === 'patients' ? { ...t, updatedCol: 'modified_at', deletedCol: 'removed_at' } : t,
    );
    file = path.join(c.dir, 'typos.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(c.configPath, 'utf8')), tables }));
  });
  afterAll(() => c.cleanup());

  // verify-schemas reports (exit 1 = drift, like any other mismatch it exists to find); it exits 2
  // only when it cannot read the config at all. trigger, which cannot run on it, exits 2.
  it('is drift: exit 1, one error line per column naming the table, the key and the column', async () => {
    const r = await runCli(['verify-schemas', '-c', file], { env: c.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    for (const expected of [
      'error    clinics: pk column "clinic_no" does not exist in Postgres table "clinics"',
      'error    patients: updatedCol "modified_at" does not exist in Postgres table "patients"',
      'error    patients: deletedCol "removed_at" does not exist in Postgres table "patients"',
    ]) {
      expect(lines.filter((l) => l.startsWith(expected)), expected).toHaveLength(1);
    }
    expect(r.stdout).toMatch(/✗ drift: [3-9] errors?/);

    const json = await runCli(['verify-schemas', '--json', '-c', file], { env: c.env });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as Report;
    expect(report.ok).toBe(false);
    expect(report.findings.filter((f) => f.code === 'config-mismatch' && /"(clinic_no|modified_at|removed_at)"/.test(f.message))).toHaveLength(3);
  });

  it('nothing was changed, and trigger refuses the same config as a config error (exit 2, one line)', async () => {
    const r = await runCli(['trigger', '-d', 'both', '-c', file], { env: c.env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('clinic_no');
    expect(r.stderr).toContain('possync verify-schemas');
    expect((await c.pg.query(`SELECT to_regnamespace('possync') AS s`))[0]).toEqual({ s: null });
  });
});

describe('possync verify-schemas: stale capture triggers (subprocess)', () => {
  let c: Clinic;
  const verify = (...args: string[]) => runCli(['verify-schemas', '-c', c.configPath, ...args], { env: c.env });
  beforeAll(async () => {
    c = await createClinic('verify_stale');
    await seedClinic(c);
    expect((await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env: c.env })).code).toBe(0);
  });
  afterAll(() => c.cleanup());

  it('an older capture function in Postgres and an altered SQLite trigger are drift with a fix; trigger upgrades them; clean again', async () => {
    expect((await verify()).stdout.trim()).toBe(CLEAN);

    // What an older possync left behind: the clinics capture function with another body and
    // version, and a visits trigger whose SQL differs from this version's.
    const [{ fn }] = (await c.pg.query<{ fn: string }>(
      `SELECT t.tgfoid::regprocedure::text AS fn FROM pg_trigger t WHERE t.tgrelid = 'public.clinics'::regclass AND t.tgname = 'possync_capture_ins'`,
    )) as [{ fn: string }];
    await c.pg.query(`CREATE OR REPLACE FUNCTION ${fn} RETURNS trigger LANGUAGE plpgsql AS $f$BEGIN RETURN NULL; END$f$`);
    await c.pg.query(`COMMENT ON FUNCTION ${fn} IS 'possync capture for public.clinics v0000000000000000'`);
    const db = openSqlite(c.sqlitePath);
    const { sql } = db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = '_possync_visits_upd'`).get() as { sql: string };
    db.exec(`DROP TRIGGER "_possync_visits_upd"; ${sql.replace('BEGIN', '-- possync 0.0.1\nBEGIN')}`);
    db.close();

    const r = await verify();
    expect(r.code).toBe(1);
    const clinics = r.stdout.split('\n').find((l) => l.includes('clinics: Postgres capture triggers'));
    const visits = r.stdout.split('\n').find((l) => l.includes('visits: SQLite capture triggers'));
    for (const line of [clinics, visits]) {
      expect(line).toMatch(/^warning +\w+: (Postgres|SQLite) capture triggers on "\w+" are from an older possync/);
      expect(line).toContain('fix: the next sync replaces them (possync trigger)');
    }
    const report = JSON.parse((await verify('--json')).stdout) as Report;
    expect(report.findings.filter((f) => f.code === 'capture-stale').map((f) => f.table).sort()).toEqual(['clinics', 'visits']);

    // The fix it names: a sync reinstalls both, and says so.
    const sync = await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env: c.env });
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/note: installed Postgres capture triggers on .*"clinics"/);
    expect(sync.stdout).toMatch(/note: installed SQLite capture triggers on visits/);
    const after = await verify();
    expect(after.code).toBe(0);
    expect(after.stdout.trim()).toBe(CLEAN);
    // And the reinstalled triggers capture again: a cloud insert reaches the till.
    await c.pg.query(`INSERT INTO clinics VALUES ('00000000-0000-4000-8000-000000000077', 'Eastgate', '2026-11-09T08:00:00Z')`);
    const pulled = await runCli(['trigger', '-d', 'pull', '--json', '-c', c.configPath], { env: c.env });
    expect(pulled.code).toBe(0);
    expect((JSON.parse(pulled.stdout) as { tables: Array<{ table: string; inserted: number }> }).tables.find((t) => t.table === 'clinics')!.inserted).toBe(1);
  });
});
