import fs from 'node:fs';
import path from 'node:path';
import { createSqliteFile, createTestPg, openSqlite, tempDir, type TestPg } from './db.ts';

/**
 * A tiny clinic schema for the operating-surface tests (daemon, status, verify-schemas ...):
 * three tables with FKs, a composite-free uuid key, money, a soft delete and a terminal-only
 * column, small enough that every CLI subprocess run takes well under a second.
 */
export const CLINIC_PG = `
CREATE TABLE clinics (id uuid PRIMARY KEY, name text NOT NULL, updated_at timestamptz(3) NOT NULL);
CREATE TABLE patients (id uuid PRIMARY KEY, clinic_id uuid NOT NULL REFERENCES clinics(id), full_name text NOT NULL,
  born date, balance numeric(10,2) NOT NULL DEFAULT 0, updated_at timestamptz(3) NOT NULL, deleted_at timestamptz(3));
CREATE TABLE visits (id uuid PRIMARY KEY, patient_id uuid NOT NULL REFERENCES patients(id), reason text NOT NULL,
  fee numeric(10,2), visited_at timestamptz(3) NOT NULL, updated_at timestamptz(3) NOT NULL);
`;

export const CLINIC_SQLITE = `
CREATE TABLE clinics (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE patients (id TEXT PRIMARY KEY, clinic_id TEXT NOT NULL REFERENCES clinics(id), full_name TEXT NOT NULL,
  born TEXT, balance TEXT NOT NULL DEFAULT '0', updated_at TEXT NOT NULL, deleted_at TEXT);
CREATE TABLE visits (id TEXT PRIMARY KEY, patient_id TEXT NOT NULL REFERENCES patients(id), reason TEXT NOT NULL,
  fee TEXT, visited_at TEXT NOT NULL, updated_at TEXT NOT NULL, printed INTEGER NOT NULL DEFAULT 0);
`;

export const CLINIC_TABLES = [
  { name: 'clinics', pk: 'id', updatedCol: 'updated_at' },
  { name: 'patients', pk: 'id', updatedCol: 'updated_at', deletedCol: 'deleted_at' },
  { name: 'visits', pk: 'id', updatedCol: 'updated_at', localOnly: ['printed'] },
];

export const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

export interface Clinic {
  pg: TestPg;
  dir: string;
  sqlitePath: string;
  configPath: string;
  /** Environment for runCli: the config reads the Postgres URL from TEST_PG_URL. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** A fresh Postgres database and terminal file with the clinic schema, and a config for them. */
export async function createClinic(label: string, options: { terminalId?: string; config?: Record<string, unknown>; adminUrl?: string } = {}): Promise<Clinic> {
  const pg = await createTestPg(label, options.adminUrl);
  await pg.query(CLINIC_PG);
  const tmp = tempDir(`possync-${label}-`);
  const sqlitePath = path.join(tmp.dir, 'till.sqlite');
  createSqliteFile(sqlitePath, CLINIC_SQLITE);
  const configPath = path.join(tmp.dir, 'possync.config.json');
  fs.writeFileSync(
    configPath,
    JSON.stringify(
      { sqlite: { path: 'till.sqlite' }, postgres: { url: 'env:TEST_PG_URL' }, terminalId: options.terminalId ?? `till-${label}`, tables: CLINIC_TABLES, ...options.config },
      null,
      2,
    ),
  );
  return {
    pg,
    dir: tmp.dir,
    sqlitePath,
    configPath,
    env: { TEST_PG_URL: pg.url },
    async cleanup() {
      await pg.drop();
      tmp.cleanup();
    },
  };
}

/** Seeds one clinic and patient in Postgres and one visit on the terminal. */
export async function seedClinic(c: Clinic): Promise<void> {
  await c.pg.query(`INSERT INTO clinics VALUES ($1, 'Northside', '2026-11-01T08:00:00Z')`, [uuid(1)]);
  await c.pg.query(`INSERT INTO patients VALUES ($1, $2, 'Amina Njoroge', '1990-04-12', 12.50, '2026-11-01T08:00:00Z', NULL)`, [uuid(11), uuid(1)]);
  const db = openSqlite(c.sqlitePath);
  db.prepare(`INSERT INTO clinics VALUES (?, 'Lakeside', '2026-11-02T08:00:00.000Z')`).run(uuid(2));
  db.prepare(`INSERT INTO patients VALUES (?, ?, 'Tomás Ruiz', NULL, '0.00', '2026-11-02T08:00:00.000Z', NULL)`).run(uuid(12), uuid(2));
  db.prepare(`INSERT INTO visits VALUES (?, ?, 'check-up', '40.00', '2026-11-02T09:00:00.000Z', '2026-11-02T09:00:00.000Z', 0)`).run(uuid(21), uuid(12));
  db.close();
}
