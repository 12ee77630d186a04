import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.ts';
import { createClinic, seedClinic, uuid, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { ownPostgres } from '../support/ledger.ts';
import { processAlive, startCli, type RunningCli } from '../support/spawn-cli.ts';

// cli-daemon.test.ts covers two daemons, cli-trigger-lock.test.ts a trigger against a lock held
// in-process. This is the case admins meet: the real daemon is mid-run and someone types
// `possync trigger` on the same terminal. Timing rules as there: generous timeouts, assertions on
// order and exit codes, never on exact durations.
const EVERY_SECOND = '*/1 * * * * *';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('a running daemon and a manual trigger on one terminal (subprocess)', () => {
  let c: Clinic;
  let server: Awaited<ReturnType<typeof ownPostgres>>;
  const running: RunningCli[] = [];
  beforeAll(async () => {
    // Its own server: the transaction held open here would hold back other files' pull fences.
    server = await ownPostgres();
    c = await createClinic('daemon_trigger', { adminUrl: server.adminUrl });
    await seedClinic(c);
    expect((await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env: c.env })).code).toBe(0);
  });
  afterEach(async () => {
    for (const d of running.splice(0)) await d.stop('SIGKILL');
  });
  afterAll(async () => {
    await c?.cleanup();
    await server?.stop();
  });

  it('trigger exits 1 naming the daemon while it holds the lock mid-run; with --wait it runs right after, never alongside', async () => {
    // Park the daemon inside its push (inside the terminal lock): the cloud's clinics table is
    // locked by another session, and the till has a clinic change to push.
    const blocker = new pg.Client({ connectionString: c.pg.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE clinics IN EXCLUSIVE MODE');
    const db = openSqlite(c.sqlitePath);
    db.prepare(`INSERT INTO clinics VALUES (?, 'Riverside', '2026-11-06T08:00:00.000Z')`).run(uuid(6));
    db.close();
    const daemon = startCli(['daemon', '-c', c.configPath, '--cron', EVERY_SECOND, '--log-format', 'json'], { env: c.env });
    running.push(daemon);
    await until(async () => (await c.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`))[0]!.n > 0, 'the daemon blocked inside its push');

    const refused = await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env: c.env });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain(`possync: another possync run holds the lock for this terminal (sync both, pid ${daemon.pid} on `);
    expect(refused.stderr).toContain('--wait <seconds>');

    let settled = false;
    const waiting = runCli(['trigger', '-d', 'both', '--wait', '90', '--json', '-c', c.configPath], { env: c.env, timeoutMs: 120_000 }).finally(() => (settled = true));
    await sleep(2_000);
    expect(settled).toBe(false); // still waiting for the daemon's run
    const releasedAt = Date.now();
    await blocker.query('COMMIT');
    await blocker.end();

    const r = await waiting;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as RunResult;
    expect(result.status).toBe('success');
    expect(Date.parse(result.startedAt)).toBeGreaterThanOrEqual(releasedAt);
    await daemon.waitForLine(/"event":"run".*"trigger":"start".*"status":"success"/);
    expect((await c.pg.query(`SELECT name FROM clinics WHERE id = $1`, [uuid(6)]))[0]).toEqual({ name: 'Riverside' });

    const stopped = await daemon.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(processAlive(daemon.pid)).toBe(false);

    // Every run on the terminal, the daemon's and the trigger's, finished before the next began.
    const local = openSqlite(c.sqlitePath);
    const runs = local.prepare(`SELECT run_id, started_at, finished_at FROM _possync_sync_logs ORDER BY started_at`).all() as Array<{ run_id: string; started_at: string; finished_at: string }>;
    local.close();
    expect(runs.map((x) => x.run_id)).toContain(result.runId);
    expect(runs.length).toBeGreaterThanOrEqual(3); // setup, the daemon's blocked run, the trigger
    for (let i = 1; i < runs.length; i++) expect(runs[i - 1]!.finished_at <= runs[i]!.started_at, `${runs[i - 1]!.run_id} / ${runs[i]!.run_id}`).toBe(true);
  }, 180_000);
});
