import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_DIR, backupSqlite, listBackups } from '../../src/db/sqlite/backup.ts';
import { createClinic, seedClinic, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { startCli } from '../support/spawn-cli.ts';

describe('--backup (trigger and daemon)', () => {
  let c: Clinic;
  beforeAll(async () => {
    c = await createClinic('backup');
    await seedClinic(c);
  });
  afterAll(() => c.cleanup());

  it('trigger --backup copies the database before the run and keeps the newest N', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await runCli(['trigger', '-d', 'both', '-c', c.configPath, '--backup', '--backup-keep', '2'], { env: c.env });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^backup: .*${BACKUP_DIR}/till-\\d{8}T\\d{9}Z\\.sqlite$`, 'm'));
    }
    const files = listBackups(c.sqlitePath);
    expect(files).toHaveLength(2);
    expect(fs.readdirSync(path.join(c.dir, BACKUP_DIR)).filter((f) => f.endsWith('.partial'))).toEqual([]);
    // The newest backup is the state before the third run: a complete, readable database.
    const copy = new Database(files.at(-1)!, { readonly: true });
    expect((copy.prepare(`SELECT count(*) AS n FROM clinics`).get() as { n: number }).n).toBe(2);
    copy.close();
  });

  it('--json output stays one JSON document with --backup', async () => {
    const r = await runCli(['trigger', '-d', 'push', '-c', c.configPath, '--backup', '--json'], { env: c.env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'success' });
  });

  it('rejects --backup-keep without --backup, or a bad count (exit 2)', async () => {
    const alone = await runCli(['trigger', '-d', 'push', '-c', c.configPath, '--backup-keep', '3'], { env: c.env });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--backup-keep only applies together with --backup');
    const bad = await runCli(['trigger', '-d', 'push', '-c', c.configPath, '--backup', '--backup-keep', '0'], { env: c.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--backup-keep must be a positive whole number');
  });

  it('the daemon backs up before every run and keeps the newest N', async () => {
    fs.rmSync(path.join(c.dir, BACKUP_DIR), { recursive: true, force: true });
    const d = startCli(['daemon', '-c', c.configPath, '--cron', '*/1 * * * * *', '--log-format', 'json', '--backup', '--backup-keep', '2'], { env: c.env });
    try {
      const runs = await d.waitForLines(/"event":"run".*"backup":/, 4);
      expect(runs.every((l) => JSON.parse(l).backup.includes(BACKUP_DIR))).toBe(true);
    } finally {
      expect((await d.stop()).code).toBe(0);
    }
    expect(listBackups(c.sqlitePath)).toHaveLength(2);
  });

  it('backs up a database that is being written to (online backup)', async () => {
    const writer = openSqlite(c.sqlitePath);
    writer.exec('BEGIN IMMEDIATE');
    writer.prepare(`UPDATE clinics SET name = name || '!'`).run();
    try {
      const { file } = await backupSqlite(c.sqlitePath, { keep: 10 });
      const copy = new Database(file, { readonly: true });
      // The uncommitted write is not in the copy: it is one consistent committed state.
      expect((copy.prepare(`SELECT count(*) AS n FROM clinics WHERE name LIKE '%!'`).get() as { n: number }).n).toBe(0);
      copy.close();
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });
});
