import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/engine/verify.ts';
import { createClinic, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';

interface Report {
  ok: boolean;
  counts: { error: number; warning: number; info: number };
  findings: Finding[];
}

const verify = (c: Clinic, ...args: string[]) => runCli(['verify-schemas', '-c', c.configPath, ...args], { env: c.env });

describe('possync verify-schemas (subprocess)', () => {
  describe('a clean pair', () => {
    let c: Clinic;
    beforeAll(async () => {
      c = await createClinic('verify_clean');
    });
    afterAll(() => c.cleanup());

    it('before the first sync: exit 0, "not installed yet" is a note, and nothing is changed', async () => {
      const r = await verify(c);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('possync is not installed in Postgres yet (schema "possync"): the first sync installs it');
      expect(r.stdout).toContain('not installed in the terminal database yet');
      expect(r.stdout).toMatch(/✓ 3 tables: both databases match the config, 2 notes/);
      expect((await c.pg.query(`SELECT to_regnamespace('possync') AS s`))[0]).toEqual({ s: null });
      const db = openSqlite(c.sqlitePath);
      expect(db.prepare(`SELECT name FROM sqlite_schema WHERE name LIKE '%possync%'`).all()).toEqual([]);
      db.close();
    });

    it('after a sync: exit 0 with no findings; --json says ok', async () => {
      expect((await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env: c.env })).code).toBe(0);
      const r = await verify(c);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe('✓ 3 tables: both databases match the config');
      const json = await verify(c, '--json');
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ ok: true, counts: { error: 0, warning: 0, info: 0 }, findings: [] });
    });

    it('capture triggers dropped after syncing are an error on either side, and a sync repairs them', async () => {
      const db = openSqlite(c.sqlitePath);
      db.exec(`DROP TRIGGER "_possync_visits_ins"`);
      db.close();
      await c.pg.query(`DROP TRIGGER possync_capture_ins ON patients`);
      const r = await verify(c, '--json');
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as Report;
      const missing = report.findings.filter((f) => f.code === 'capture-missing');
      expect(missing.map((f) => [f.severity, f.table])).toEqual([
        ['error', 'patients'],
        ['error', 'visits'],
      ]);
      expect(missing.find((f) => f.table === 'visits')!.message).toContain('SQLite capture triggers');
      expect(missing.find((f) => f.table === 'visits')!.fix).toContain('reset-checkpoints --table visits --direction push');
      expect(missing.find((f) => f.table === 'patients')!.message).toContain('Postgres capture triggers');

      expect((await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env: c.env })).code).toBe(0);
      expect((await verify(c)).code).toBe(0);
    });
  });

  describe('drift', () => {
    let c: Clinic;
    beforeAll(async () => {
      c = await createClinic('verify_drift', {
        config: { fkMap: { visits: [{ field: 'doctor_id', refTable: 'patients' }] } },
      });
      const db = openSqlite(c.sqlitePath);
      db.exec(`ALTER TABLE visits DROP COLUMN reason; ALTER TABLE patients ADD COLUMN tags INTEGER;`);
      db.close();
      await c.pg.query(`ALTER TABLE patients DROP COLUMN born; ALTER TABLE patients ADD COLUMN tags jsonb;
        ALTER TABLE patients ADD COLUMN age_group text GENERATED ALWAYS AS (CASE WHEN balance > 0 THEN 'owing' END) STORED;`);
    });
    afterAll(() => c.cleanup());

    it('exits 1 and names the dropped columns, with the ALTER TABLE that fixes each', async () => {
      const r = await verify(c);
      expect(r.code).toBe(1);
      const lines = r.stdout.split('\n');
      const reason = lines.find((l) => l.includes('"reason"'));
      expect(reason).toMatch(/^error +visits: Postgres column "visits"\."reason" \(text, NOT NULL, no default\) has no SQLite counterpart/);
      expect(reason).toContain('fix: ALTER TABLE "visits" ADD COLUMN "reason" TEXT;');
      const born = lines.find((l) => l.includes('"born"'));
      expect(born).toMatch(/^warning +patients: SQLite column "patients"\."born" has no Postgres counterpart/);
      expect(born).toContain('ALTER TABLE "public"."patients" ADD COLUMN "born" text;');
      expect(r.stdout).toMatch(/✗ drift: \d+ errors?, \d+ warnings?/);
    });

    it('reports types that cannot round-trip, fkMap fields pointing nowhere and generated columns', async () => {
      const r = await verify(c, '--json');
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as Report;
      expect(report.ok).toBe(false);
      const byCode = (code: string) => report.findings.filter((f) => f.code === code);
      expect(byCode('type-cannot-round-trip')).toEqual([
        expect.objectContaining({ severity: 'error', table: 'patients', message: expect.stringContaining('"patients"."tags" (jsonb) ↔ "patients"."tags" (INTEGER') }),
      ]);
      expect(report.findings.some((f) => f.severity === 'error' && f.message.includes('fkMap.visits[0].field "doctor_id"'))).toBe(true);
      expect(byCode('generated-column')).toEqual([expect.objectContaining({ severity: 'info', table: 'patients', message: expect.stringContaining('"age_group"') })]);
      // Most severe first.
      const order = report.findings.map((f) => ({ error: 0, warning: 1, info: 2 })[f.severity]);
      expect([...order].sort()).toEqual(order);
    });

    it('a missing table is an error', async () => {
      const file = `${c.dir}/extra.json`;
      const raw = JSON.parse(fs.readFileSync(c.configPath, 'utf8')) as { tables: unknown[] };
      fs.writeFileSync(file, JSON.stringify({ ...raw, fkMap: undefined, tables: [...raw.tables, { name: 'doctors', pk: 'id', conflict: 'server-wins' }] }));
      const r = await runCli(['verify-schemas', '-c', file], { env: c.env });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('table "doctors" does not exist in Postgres schema "public"');
      expect(r.stdout).toContain('table "doctors" does not exist in the SQLite database');
    });

    it('warns when an integer key is assigned on both sides, and says how to configure it', async () => {
      await c.pg.query(`CREATE TABLE rooms (room_no int PRIMARY KEY, label text NOT NULL)`);
      const db = openSqlite(c.sqlitePath);
      db.exec(`CREATE TABLE rooms (room_no INTEGER PRIMARY KEY, label TEXT NOT NULL)`);
      db.close();
      const file = `${c.dir}/rooms.json`;
      const raw = JSON.parse(fs.readFileSync(c.configPath, 'utf8')) as { tables: unknown[] };
      const write = (table: Record<string, unknown>) => fs.writeFileSync(file, JSON.stringify({ ...raw, tables: [...raw.tables, table] }));
      write({ name: 'rooms', pk: 'room_no', conflict: 'server-wins' });
      const r = await runCli(['verify-schemas', '--json', '-c', file], { env: c.env });
      const rooms = (JSON.parse(r.stdout) as Report).findings.filter((f) => f.code === 'integer-key-both-ways');
      expect(rooms).toEqual([expect.objectContaining({ severity: 'warning', table: 'rooms', fix: expect.stringContaining('localPk') })]);
      write({ name: 'rooms', pk: 'room_no', conflict: 'server-wins', direction: 'pull' });
      const oneWay = await runCli(['verify-schemas', '--json', '-c', file], { env: c.env });
      expect((JSON.parse(oneWay.stdout) as Report).findings.filter((f) => f.code === 'integer-key-both-ways')).toEqual([]);
    });

    it('an unreachable Postgres exits 3', async () => {
      const r = await runCli(['verify-schemas', '-c', c.configPath], { env: { TEST_PG_URL: 'postgresql://possync:pw@127.0.0.1:1/nope' } });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('cannot reach PostgreSQL');
    });
  });
});
