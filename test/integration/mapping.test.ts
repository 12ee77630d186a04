import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync } from '../../src/engine/run.ts';
import type { RunResult, TableResult } from '../../src/engine/result.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from '../support/db.ts';

// A clinic, not a shop: identity mapping, columnMap, localOnly, generated columns, direction,
// scope and fill on a schema the engine has never seen.
const PG = `
CREATE TABLE clinics (id uuid PRIMARY KEY, name text NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE patients (
  id uuid PRIMARY KEY, clinic_id uuid NOT NULL REFERENCES clinics(id), full_name text NOT NULL, phone text,
  name_length int GENERATED ALWAYS AS (length(full_name)) STORED,
  updated_at timestamptz(3) NOT NULL, deleted_at timestamptz(3));
CREATE TABLE visits (
  id uuid PRIMARY KEY, patient_id uuid NOT NULL REFERENCES patients(id), clinic_id uuid NOT NULL REFERENCES clinics(id),
  fee numeric(10,2) NOT NULL, recorded_by text NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE audit (id uuid PRIMARY KEY, what text NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY);
`;
const SQLITE = `
CREATE TABLE clinics (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE patients (
  local_id INTEGER PRIMARY KEY AUTOINCREMENT, server_id TEXT UNIQUE, clinic_id TEXT NOT NULL, name TEXT NOT NULL, phone TEXT,
  name_length INTEGER GENERATED ALWAYS AS (length(name)) VIRTUAL,
  sync_status TEXT DEFAULT 'pending', updated_at TEXT NOT NULL, deleted_at TEXT);
CREATE TABLE visits (
  id TEXT PRIMARY KEY, patient_id INTEGER NOT NULL REFERENCES patients(local_id), clinic_id TEXT NOT NULL,
  fee TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE audit (id TEXT PRIMARY KEY, what TEXT NOT NULL);
`;

const C1 = '00000000-0000-4000-8000-0000000000c1';
const C2 = '00000000-0000-4000-8000-0000000000c2';
const T = '2026-11-20T08:00:00.000Z';

function table(result: RunResult, step: 'push' | 'pull', name: string): TableResult {
  return result.tables.find((t) => t.step === step && t.table === name)!;
}

describe('identity mapping, column mapping and table options', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let sqlitePath: string;
  let config: ReturnType<typeof makeConfig>;

  beforeAll(async () => {
    db = await createTestPg('mapping');
    await db.query(PG);
    await db.query(`INSERT INTO clinics VALUES ($1, 'Riverside', $3), ($2, 'Hilltop', $3)`, [C1, C2, T]);
    tmp = tempDir();
    sqlitePath = path.join(tmp.dir, 'desk.sqlite');
    createSqliteFile(sqlitePath, SQLITE);
    config = makeConfig(
      {
        sqlite: { path: sqlitePath },
        postgres: { url: db.url },
        terminalId: 'desk-1',
        batchSize: 3,
        localOnly: ['sync_status'],
        tables: [
          { name: 'clinics', pk: 'id', updatedCol: 'updated_at', direction: 'pull' },
          { name: 'patients', pk: 'id', updatedCol: 'updated_at', deletedCol: 'deleted_at', localPk: 'local_id', serverIdCol: 'server_id', columnMap: { name: 'full_name' } },
          { name: 'visits', pk: 'id', updatedCol: 'updated_at', scope: { clinic_id: C1 }, fill: { recorded_by: '$terminalId' } },
          { name: 'audit', pk: 'id', conflict: 'client-wins', direction: 'push' },
        ],
        fkMap: { visits: [{ field: 'patient_id', refTable: 'patients' }] },
      },
      tmp.dir,
    );
  });
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it('assigns shared ids to local rows, translates FKs, maps columns and fills constants on push', async () => {
    const local = openSqlite(sqlitePath);
    local.prepare(`INSERT INTO clinics VALUES (?, 'Riverside', ?)`).run(C1, T);
    local.prepare(`INSERT INTO patients (local_id, clinic_id, name, phone, updated_at) VALUES (1, ?, 'Wanjiru Kamau', '+254700000001', ?)`).run(C1, T);
    local.prepare(`INSERT INTO patients (local_id, clinic_id, name, phone, updated_at) VALUES (2, ?, 'Otieno Ouma', NULL, ?)`).run(C1, T);
    local.prepare(`INSERT INTO visits VALUES ('00000000-0000-4000-8000-000000000101', 1, ?, '1500.00', ?)`).run(C1, T);
    local.prepare(`INSERT INTO visits VALUES ('00000000-0000-4000-8000-000000000102', 2, ?, '750.50', ?)`).run(C1, T);
    local.prepare(`INSERT INTO audit VALUES ('00000000-0000-4000-8000-000000000201', 'opened desk')`).run();
    local.close();

    const r = await runSync(config, { direction: 'push' });
    expect(r.status).toBe('success');
    expect(table(r, 'push', 'patients').inserted).toBe(2);
    expect(table(r, 'push', 'visits').inserted).toBe(2);
    expect(r.tables.some((t) => t.table === 'clinics')).toBe(false); // pull-only: no push step

    const check = openSqlite(sqlitePath);
    const patients = check.prepare(`SELECT local_id, server_id, name FROM patients ORDER BY local_id`).all() as Array<{ local_id: number; server_id: string; name: string }>;
    check.close();
    expect(patients.every((p) => /^[0-9a-f-]{36}$/.test(p.server_id))).toBe(true);
    const pgPatients = await db.query<{ id: string; full_name: string; name_length: number }>(`SELECT id::text, full_name, name_length FROM patients ORDER BY full_name`);
    expect(pgPatients).toEqual([
      { id: patients.find((p) => p.local_id === 2)!.server_id, full_name: 'Otieno Ouma', name_length: 11 },
      { id: patients.find((p) => p.local_id === 1)!.server_id, full_name: 'Wanjiru Kamau', name_length: 13 },
    ]);
    const visits = await db.query<{ id: string; patient_id: string; fee: string; recorded_by: string }>(`SELECT id::text, patient_id::text, fee::text, recorded_by FROM visits ORDER BY id`);
    expect(visits).toEqual([
      { id: '00000000-0000-4000-8000-000000000101', patient_id: patients[0]!.server_id, fee: '1500.00', recorded_by: 'desk-1' },
      { id: '00000000-0000-4000-8000-000000000102', patient_id: patients[1]!.server_id, fee: '750.50', recorded_by: 'desk-1' },
    ]);
    expect(await db.query(`SELECT what FROM audit`)).toEqual([{ what: 'opened desk' }]);
  });

  it('pulls cloud rows into local ids, honours scope, and never pushes pull-only tables', async () => {
    const [p1] = await db.query<{ id: string }>(`SELECT id::text FROM patients WHERE full_name = 'Wanjiru Kamau'`);
    const cloudPatient = '00000000-0000-4000-8000-000000000301';
    await db.query(`INSERT INTO patients (id, clinic_id, full_name, updated_at) VALUES ($1, $2, 'Akinyi Cloud', $3)`, [cloudPatient, C1, T]);
    await db.query(`INSERT INTO visits VALUES ('00000000-0000-4000-8000-000000000103', $1, $2, 99.90, 'web', $3)`, [cloudPatient, C1, T]);
    await db.query(`INSERT INTO visits VALUES ('00000000-0000-4000-8000-000000000104', $1, $2, 10.00, 'web', $3)`, [p1!.id, C2, T]);
    await db.query(`INSERT INTO audit VALUES ('00000000-0000-4000-8000-000000000202', 'cloud only')`);

    const local = openSqlite(sqlitePath);
    local.prepare(`UPDATE clinics SET name = 'Renamed locally', updated_at = '2026-11-25T00:00:00.000Z' WHERE id = ?`).run(C1);
    local.prepare(`UPDATE patients SET sync_status = 'synced' WHERE local_id = 1`).run(); // localOnly: not a change
    local.close();

    const r = await runSync(config, { direction: 'both' });
    // The local edit of the pull-only table is refused and reported (so the run is partial)...
    expect(r.status).toBe('partial');
    expect(table(r, 'push', 'clinics').rejected).toBe(1);
    expect(table(r, 'push', 'clinics').reasons[0]).toContain('pull-only');
    expect(r.tables.filter((t) => t.status !== 'success')).toEqual([]);
    expect(table(r, 'push', 'patients').inserted + table(r, 'push', 'patients').updated).toBe(0);
    expect(table(r, 'pull', 'patients').inserted).toBe(1);
    expect(table(r, 'pull', 'visits').inserted).toBe(1); // the other clinic's visit is out of scope
    expect(r.tables.some((t) => t.step === 'pull' && t.table === 'audit')).toBe(false);

    const check = openSqlite(sqlitePath);
    const akinyi = check.prepare(`SELECT local_id, server_id, name FROM patients WHERE server_id = ?`).get(cloudPatient) as { local_id: number; name: string };
    expect(akinyi.name).toBe('Akinyi Cloud');
    expect(check.prepare(`SELECT patient_id, fee FROM visits WHERE id = '00000000-0000-4000-8000-000000000103'`).get()).toEqual({ patient_id: akinyi.local_id, fee: '99.90' });
    expect(check.prepare(`SELECT count(*) AS n FROM visits WHERE id = '00000000-0000-4000-8000-000000000104'`).get()).toEqual({ n: 0 });
    expect(check.prepare(`SELECT count(*) AS n FROM audit`).get()).toEqual({ n: 1 });
    // ...the cloud copy is untouched, and the terminal has the cloud version back.
    expect(check.prepare(`SELECT name FROM clinics WHERE id = ?`).get(C1)).toEqual({ name: 'Riverside' });
    check.close();
    expect(await db.query(`SELECT name FROM clinics WHERE id = $1`, [C1])).toEqual([{ name: 'Riverside' }]);
  });

  it('refuses a local row outside the scope and defers a child whose parent is missing locally', async () => {
    const local = openSqlite(sqlitePath);
    local.prepare(`INSERT INTO visits VALUES ('00000000-0000-4000-8000-000000000105', 1, ?, '5.00', ?)`).run(C2, T);
    local.pragma('foreign_keys = OFF');
    local.prepare(`INSERT INTO visits VALUES ('00000000-0000-4000-8000-000000000106', 999, ?, '6.00', ?)`).run(C1, T);
    local.close();

    const r = await runSync(config, { direction: 'push' });
    const visits = table(r, 'push', 'visits');
    expect(r.status).toBe('partial');
    expect(visits.rejected).toBe(1);
    expect(visits.deferred).toBe(1);
    expect(visits.reasons.join('\n')).toContain('outside this terminal\'s scope');
    expect(visits.reasons.join('\n')).toContain('waits for patient_id → patients[local 999]');

    // The parent appears locally: the deferred child goes through on the next run.
    const again = openSqlite(sqlitePath);
    again.prepare(`INSERT INTO patients (local_id, clinic_id, name, updated_at) VALUES (999, ?, 'Late Parent', ?)`).run(C1, T);
    again.prepare(`DELETE FROM visits WHERE id = '00000000-0000-4000-8000-000000000105'`).run();
    again.close();
    const r2 = await runSync(config, { direction: 'push' });
    expect(table(r2, 'push', 'visits').deferred).toBe(0);
    expect(table(r2, 'push', 'visits').rejected).toBe(0);
    expect(await db.query(`SELECT fee::text FROM visits WHERE id = '00000000-0000-4000-8000-000000000106'`)).toEqual([{ fee: '6.00' }]);
  });
});
