import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoggedRun } from '../../src/engine/status/run-log.ts';
import type { StatusReport } from '../../src/engine/status/report.ts';
import { createClinic, seedClinic, uuid, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';

describe('possync status and logs (subprocess)', () => {
  let c: Clinic;
  const cli = (args: string[], env: Record<string, string> = c.env) => runCli([...args, '-c', c.configPath], { env });

  beforeAll(async () => {
    c = await createClinic('status');
    await seedClinic(c);
  });
  afterAll(() => c.cleanup());

  it('before the first run: says possync has not run here, and logs has nothing', async () => {
    const s = await cli(['status']);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('possync has not run on this terminal yet');
    expect(s.stdout).toContain('last successful push sqlite → postgres: never');
    const l = await cli(['logs']);
    expect(l.code).toBe(0);
    expect(l.stdout.trim()).toBe('no runs recorded yet on this terminal');
  });

  describe('after some runs', () => {
    beforeAll(async () => {
      expect((await cli(['trigger', '-d', 'both'])).code).toBe(0);
      const db = openSqlite(c.sqlitePath);
      // A visit whose patient exists nowhere (the till app does not enforce FKs): push defers it.
      db.pragma('foreign_keys = OFF');
      db.prepare(`INSERT INTO visits VALUES (?, ?, 'walk-in', NULL, '2026-11-09T09:00:00.000Z', '2026-11-09T09:00:00.000Z', 0)`).run(uuid(29), uuid(99));
      db.close();
      expect((await cli(['trigger', '-d', 'push'])).code).toBe(1);
      // A local edit not pushed yet, and a cloud edit not pulled yet.
      const db2 = openSqlite(c.sqlitePath);
      db2.prepare(`UPDATE clinics SET name = 'Lakeside West', updated_at = '2026-11-10T08:00:00.000Z' WHERE id = ?`).run(uuid(2));
      db2.close();
      await c.pg.query(`INSERT INTO patients VALUES ($1, $2, 'Lena Koch', NULL, 0, '2026-11-10T08:00:00Z', NULL)`, [uuid(13), uuid(1)]);
    });

    it('--json reports runs, pending work both ways, held rows and checkpoints', async () => {
      const r = await cli(['status', '--json']);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as StatusReport;
      expect(s.terminalId).toBe('till-status');
      expect(s.installed).toBe(true);
      expect(s.cloud).toMatchObject({ reachable: true, installed: true });
      expect(s.lastSuccess.push).toMatchObject({ direction: 'both', status: 'success' });
      expect(s.lastSuccess.pull).toMatchObject({ direction: 'both', status: 'success' });
      expect(s.lastRun).toMatchObject({ direction: 'push', status: 'partial' });
      expect(s.recentRuns).toEqual({ runs: 2, success: 1, partial: 1, failed: 0, errorRate: 0 });
      const t = Object.fromEntries(s.tables.map((x) => [x.table, x]));
      expect(t.clinics!.pendingPush).toBe(1);
      expect(t.patients!.pendingPull).toEqual({ changes: 1, keys: 1 });
      expect(t.visits!.deferred).toBe(1);
      expect(t.visits!.pushCheckpoint!.text).toMatch(/^(up to local change #\d+|full scan done, no changes since)$/);
      expect(t.clinics!.pullCheckpoint.text).toMatch(/^up to xid \d+$/);
      expect(s.held).toEqual([expect.objectContaining({ side: 'push', table: 'visits', kind: 'deferred', reason: expect.stringContaining('patient_id') })]);
      expect(s.conflicts).toEqual({ terminal: 0, cloud: 0, open: 0 });
    });

    it('the human view prints the arrows, the table and the waiting rows', async () => {
      const r = await cli(['status']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/last successful push sqlite → postgres: \d{4}-.*Z \(\d+ (s|min) ago\)/);
      expect(r.stdout).toContain('last 2 runs: 1 success, 1 partial, 0 failed (error rate 0%)');
      expect(r.stdout).toMatch(/^ {2}clinics +1 +0 +0 +0 /m);
      expect(r.stdout).toMatch(/^ {2}visits +0 +0 +1 +0 /m);
      expect(r.stdout).toContain('waiting or refused rows (retried on every run):');
      expect(r.stdout).not.toContain('unreachable');
    });

    it('works when the cloud is unreachable: exit 0, a warning line, local information', async () => {
      const r = await cli(['status', '--json'], { TEST_PG_URL: 'postgresql://possync:s3cret-pw@127.0.0.1:1/nope' });
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as StatusReport;
      expect(s.cloud).toMatchObject({ reachable: false, error: expect.stringContaining('cannot reach PostgreSQL') });
      expect(s.tables.find((x) => x.table === 'clinics')!.pendingPush).toBe(1);
      expect(s.tables.every((x) => x.pushCheckpoint === null && x.pendingPull === null)).toBe(true);
      expect(r.stdout).not.toContain('s3cret-pw');
      const human = await cli(['status'], { TEST_PG_URL: 'postgresql://possync:s3cret-pw@127.0.0.1:1/nope' });
      expect(human.code).toBe(0);
      expect(human.stdout).toContain('warning: the cloud is unreachable, showing local information only');
    });

    it('exits 3 when the terminal database cannot be opened', async () => {
      const r = await runCli(['status', '-c', c.configPath, '--sqlite', path.join(c.dir, 'missing.sqlite')], { env: c.env });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('SQLite database not found');
    });

    it('logs lists the last runs, newest first, with per-table counts', async () => {
      const r = await cli(['logs', '--limit', '5']);
      expect(r.code).toBe(0);
      const headers = r.stdout.split('\n').filter((l) => /^\d{4}-/.test(l));
      expect(headers).toHaveLength(2);
      expect(headers[0]).toMatch(/push sqlite → postgres {2}partial/);
      expect(headers[1]).toMatch(/both \(push sqlite → postgres, then pull postgres → sqlite\) {2}success/);
      expect(r.stdout).toMatch(/push sqlite → postgres: clinics 0 applied; patients 0 applied; visits 0 applied, 1 deferred/);
      expect(r.stdout).toMatch(/push sqlite → postgres: clinics 1 applied; patients 1 applied; visits 1 applied/);
      expect(r.stdout).toMatch(/pull postgres → sqlite: clinics 1 applied[^;]*; patients 1 applied/);
    });

    it('logs --json and --limit', async () => {
      const r = await cli(['logs', '--limit', '1', '--json']);
      expect(r.code).toBe(0);
      const runs = JSON.parse(r.stdout) as LoggedRun[];
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ direction: 'push', status: 'partial', dryRun: false });
      expect(runs[0]!.result!.tables.find((t) => t.table === 'visits')).toMatchObject({ step: 'push', deferred: 1 });
      const bad = await cli(['logs', '--limit', '0']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--limit must be a positive whole number');
    });
  });
});
