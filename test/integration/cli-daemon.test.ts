import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonEvent } from '../../src/daemon/events.ts';
import { createClinic, seedClinic, uuid, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { ownPostgres } from '../support/ledger.ts';
import { processAlive, startCli, type RunningCli } from '../support/spawn-cli.ts';

// Timing rules for a loaded 2-core box: wait for events with generous timeouts and assert on
// ordering, exit codes and upper bounds that have a wide margin, never on exact durations.
const EVERY_SECOND = '*/1 * * * * *';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function events(d: RunningCli): DaemonEvent[] {
  return d.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as DaemonEvent);
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function localRow(c: Clinic, table: string, id: string): unknown {
  const db = openSqlite(c.sqlitePath);
  try {
    return db.prepare(`SELECT * FROM "${table}" WHERE id = ?`).get(id);
  } finally {
    db.close();
  }
}

describe('possync daemon (subprocess)', () => {
  const running: RunningCli[] = [];
  const daemon = (c: Clinic, extra: string[] = []) => {
    const d = startCli(['daemon', '-c', c.configPath, '--cron', EVERY_SECOND, '--log-format', 'json', ...extra], { env: c.env });
    running.push(d);
    return d;
  };
  afterEach(async () => {
    // Never leave a daemon behind, whatever a test did.
    for (const d of running.splice(0)) await d.stop('SIGKILL');
  });

  describe('on a schedule', () => {
    let c: Clinic;
    beforeAll(async () => {
      c = await createClinic('daemon_sched');
      await seedClinic(c);
    });
    afterAll(() => c.cleanup());

    it('syncs at start and on every tick, and stops on SIGTERM within 10 s with exit 0', async () => {
      const d = daemon(c);
      await d.waitForLine(/"event":"run".*"trigger":"start"/);
      const first = events(d).find((e) => e.event === 'run');
      expect(first).toMatchObject({ event: 'run', status: 'success', direction: 'both' });
      expect(first && first.event === 'run' && first.applied).toBeGreaterThan(0);

      // A cloud edit arrives on the terminal through a scheduled run ...
      await c.pg.query(`INSERT INTO clinics VALUES ($1, 'Hillside', '2026-11-05T08:00:00Z')`, [uuid(3)]);
      await until(() => localRow(c, 'clinics', uuid(3)), 'the cloud row on the terminal');
      // ... and a till edit reaches the cloud through a later one.
      const db = openSqlite(c.sqlitePath);
      db.prepare(`INSERT INTO visits VALUES (?, ?, 'follow-up', '25.00', '2026-11-05T10:00:00.000Z', '2026-11-05T10:00:00.000Z', 0)`).run(uuid(22), uuid(12));
      db.close();
      await until(async () => (await c.pg.query(`SELECT 1 FROM visits WHERE id = $1`, [uuid(22)]))[0], 'the till row in the cloud');

      // The row is committed before its run logs its line: wait for the lines, not just the rows.
      const scheduled = await d.waitForLines(/"event":"run".*"trigger":"schedule".*"applied":[1-9]/, 2);
      expect(scheduled.length).toBeGreaterThanOrEqual(2);
      expect(d.stderr()).toBe('');

      const stopped = await d.stop('SIGTERM');
      expect(stopped.code).toBe(0);
      expect(stopped.ms).toBeLessThan(10_000);
      expect(processAlive(d.pid)).toBe(false);
      expect(events(d).at(-1)).toMatchObject({ event: 'stop', signal: 'SIGTERM', forced: false });
    });

    it('logs human lines with the direction arrows by default, and stops on SIGINT with exit 0', async () => {
      const d = startCli(['daemon', '-c', c.configPath, '--cron', EVERY_SECOND], { env: c.env });
      running.push(d);
      const line = await d.waitForLine(/ · \d+ applied/);
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z both \(push sqlite → postgres, then pull postgres → sqlite\) · \d+ applied, \d+ conflicts, \d+ waiting · [\d.]+ m?s · success/);
      expect(d.lines[0]).toContain('daemon started: terminal till-daemon_sched');
      const stopped = await d.stop('SIGINT');
      expect(stopped.code).toBe(0);
      expect(d.lines.at(-1)).toMatch(/daemon stopped \(SIGINT\)$/);
    });
  });

  describe('never two syncs at once on one terminal', () => {
    let c: Clinic;
    let blocker: pg.Client;
    let server: Awaited<ReturnType<typeof ownPostgres>>;
    beforeAll(async () => {
      // Its own server: the transactions held open here would hold back other files' pull fences.
      server = await ownPostgres();
      c = await createClinic('daemon_two', { adminUrl: server.adminUrl });
      await seedClinic(c);
      const first = await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env: c.env });
      expect(first.code).toBe(0);
    });
    afterAll(async () => {
      await c?.cleanup();
      await server?.stop();
    });

    /**
     * Holds an EXCLUSIVE lock on the cloud's clinics table, so a push of a clinic change blocks
     * inside its sync (inside the terminal lock) for as long as the test wants; reads go on.
     */
    async function blockClinicWrites(): Promise<{ release(): Promise<void> }> {
      blocker = new pg.Client({ connectionString: c.pg.url });
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE clinics IN EXCLUSIVE MODE');
      return {
        async release() {
          await blocker.query('COMMIT');
          await blocker.end();
        },
      };
    }

    const waitingForLock = async () => (await c.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`))[0]!.n > 0;

    it('a second daemon skips its ticks while the first one syncs, and no runs overlap', async () => {
      const block = await blockClinicWrites();
      const db = openSqlite(c.sqlitePath);
      db.prepare(`INSERT INTO clinics VALUES (?, 'Riverside', '2026-11-06T08:00:00.000Z')`).run(uuid(4));
      db.close();

      const a = daemon(c);
      await until(waitingForLock, 'daemon A blocked inside its push');
      const blockedFrom = new Date();
      // B only pulls: nothing in Postgres would stop it, only the terminal lock can.
      const b = daemon(c, ['--direction', 'pull']);
      await b.waitForLines(/"event":"skip","at":"[^"]+","reason":"locked"/, 3);
      const blockedUntil = new Date();
      await block.release();

      await a.waitForLine(/"event":"run".*"trigger":"start".*"status":"success"/);
      await b.waitForLine(/"event":"run".*"status":"success"/);
      const [sa, sb] = await Promise.all([a.stop(), b.stop()]);
      expect(sa.code).toBe(0);
      expect(sb.code).toBe(0);

      const skips = events(b).filter((e) => e.event === 'skip' && e.reason === 'locked');
      expect(skips[0]).toMatchObject({ message: expect.stringContaining('another run holds the lock') });
      expect(skips[0]!.event === 'skip' && skips[0]!.message).toContain(`pid ${a.pid}`);
      // B was locked out for the whole blockade and got through only after A had finished.
      const aRun = events(a).find((e) => e.event === 'run')!;
      const bRuns = events(b).filter((e) => e.event === 'run');
      expect(bRuns.length).toBeGreaterThan(0);
      for (const r of bRuns) expect(r.at >= aRun.at).toBe(true);

      // Every run finishes while it still holds the lock, so no run may finish inside A's blockade.
      const local = openSqlite(c.sqlitePath);
      const logs = local.prepare(`SELECT run_id, started_at, finished_at, direction FROM _possync_sync_logs ORDER BY id`).all() as Array<{ run_id: string; finished_at: string; direction: string }>;
      local.close();
      const inside = logs.filter((l) => l.finished_at > blockedFrom.toISOString() && l.finished_at < blockedUntil.toISOString());
      expect(inside).toEqual([]);
      expect(logs.filter((l) => l.direction === 'pull').length).toBeGreaterThan(0);
      expect((await c.pg.query(`SELECT 1 FROM clinics WHERE id = $1`, [uuid(4)])).length).toBe(1);
    });

    it('SIGTERM during a blocked batch still exits 0 within 10 s; the batch rolls back and the next run applies it', async () => {
      const block = await blockClinicWrites();
      const db = openSqlite(c.sqlitePath);
      db.prepare(`INSERT INTO clinics VALUES (?, 'Seaside', '2026-11-07T08:00:00.000Z')`).run(uuid(5));
      db.close();
      const d = daemon(c);
      await until(waitingForLock, 'the daemon blocked inside its push');
      const stopped = await d.stop('SIGTERM');
      expect(stopped.code).toBe(0);
      expect(stopped.ms).toBeLessThan(10_000);
      expect(events(d).at(-1)).toMatchObject({ event: 'stop', forced: true });
      await block.release();
      expect(await c.pg.query(`SELECT 1 FROM clinics WHERE id = $1`, [uuid(5)])).toEqual([]);

      const next = await runCli(['trigger', '-d', 'both', '-c', c.configPath, '--json'], { env: c.env });
      expect(next.code).toBe(0);
      expect((await c.pg.query(`SELECT name FROM clinics WHERE id = $1`, [uuid(5)]))[0]).toEqual({ name: 'Seaside' });
    });

    it('a second Ctrl-C exits at once', async () => {
      const block = await blockClinicWrites();
      try {
        const db = openSqlite(c.sqlitePath);
        db.prepare(`UPDATE clinics SET name = 'Seaside Annex', updated_at = '2026-11-08T08:00:00.000Z' WHERE id = ?`).run(uuid(5));
        db.close();
        const d = daemon(c);
        await until(waitingForLock, 'the daemon blocked inside its push');
        d.child.kill('SIGINT');
        await sleep(300);
        expect(processAlive(d.pid)).toBe(true); // the first one waits for the run to stop
        const stopped = await d.stop('SIGINT');
        expect(stopped.code).toBe(130);
        expect(stopped.ms).toBeLessThan(3_000);
      } finally {
        await block.release();
      }
    });
  });

  describe('failures and usage errors', () => {
    let c: Clinic;
    beforeAll(async () => {
      c = await createClinic('daemon_usage');
    });
    afterAll(() => c.cleanup());

    it('an invalid cron expression exits 2 with one line naming the field', async () => {
      const r = await runCli(['daemon', '-c', c.configPath, '--cron', '61 * * * *'], { env: c.env });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('invalid cron expression "61 * * * *"');
      expect(r.stderr).toContain('minute');
      expect(r.stdout).toBe('');
    });

    it('an invalid cron in the config is caught the same way', async () => {
      const file = path.join(c.dir, 'bad-cron.json');
      fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(c.configPath, 'utf8')), cron: 'every 5 minutes' }));
      const r = await runCli(['daemon', '-c', file], { env: c.env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('invalid cron expression "every 5 minutes"');
    });

    it('no schedule at all exits 2 and says how to set one', async () => {
      const r = await runCli(['daemon', '-c', c.configPath], { env: { ...c.env, SYNC_CRON: '' } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('needs a schedule');
      expect(r.stderr).toContain('SYNC_CRON');
      expect(r.stderr).toContain('--cron');
    });

    it('SYNC_CRON is used when the config has no cron', async () => {
      const d = startCli(['daemon', '-c', c.configPath, '--log-format', 'json'], { env: { ...c.env, SYNC_CRON: '0 0 1 1 *' } });
      running.push(d);
      const start = JSON.parse(await d.waitForLine(/"event":"start"/)) as DaemonEvent;
      expect(start).toMatchObject({ event: 'start', cron: '0 0 1 1 *' });
      expect((await d.stop()).code).toBe(0);
    });

    it('an unreachable database is logged with a backoff, the daemon keeps running, and never prints the password', async () => {
      const d = startCli(['daemon', '-c', c.configPath, '--cron', EVERY_SECOND, '--log-format', 'json'], { env: { TEST_PG_URL: 'postgresql://possync:s3cret-pw@127.0.0.1:1/nope' } });
      running.push(d);
      const line = await d.waitForLine(/"event":"error"/);
      const e = JSON.parse(line) as DaemonEvent;
      expect(e).toMatchObject({ event: 'error', code: 'PG_UNREACHABLE', failure: { kind: 'unreachable', consecutive: 1 } });
      expect(e.event === 'error' && Date.parse(e.failure!.retryAfter) - Date.parse(e.at)).toBeGreaterThanOrEqual(2_500);
      await sleep(1_500);
      expect(processAlive(d.pid)).toBe(true);
      // Ticks inside the backoff window do not retry.
      expect(events(d).filter((x) => x.event === 'error')).toHaveLength(1);
      const stopped = await d.stop();
      expect(stopped.code).toBe(0);
      expect(d.lines.join('\n') + d.stderr()).not.toContain('s3cret-pw');
    });
  });
});
