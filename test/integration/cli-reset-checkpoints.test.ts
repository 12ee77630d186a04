import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { ResolvedConfig } from '../../src/config/types.ts';
import { acquireTerminalLock } from '../../src/db/sqlite/lock.ts';
import { compareSides, inSync } from '../../src/engine/compare.ts';
import type { RunResult } from '../../src/engine/result.ts';
import { openAndPlan } from '../../src/engine/run.ts';
import { createClinic, seedClinic, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';

describe('possync reset-checkpoints (subprocess)', () => {
  let c: Clinic;
  let config: ResolvedConfig;
  const cli = (...args: string[]) => runCli([...args, '-c', c.configPath], { env: c.env });
  const pushCheckpoints = async () => (await c.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM possync.system_settings WHERE setting_key LIKE 'sync.checkpoint.%'`))[0]!.n;
  const pullCheckpoints = () => {
    const db = openSqlite(c.sqlitePath);
    try {
      return (db.prepare(`SELECT count(*) AS n FROM system_settings WHERE setting_key LIKE 'sync.checkpoint.%'`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  /** Every row of both sides, to prove a resync ends in exactly the same state. */
  const snapshot = async () => {
    const db = openSqlite(c.sqlitePath);
    const local = Object.fromEntries(['clinics', 'patients', 'visits'].map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY id`).all()]));
    db.close();
    const cloud: Record<string, unknown[]> = {};
    for (const t of ['clinics', 'patients', 'visits']) cloud[t] = await c.pg.query(`SELECT * FROM ${t} ORDER BY id`);
    return { local, cloud };
  };

  beforeAll(async () => {
    c = await createClinic('reset');
    await seedClinic(c);
    config = loadConfig({ configPath: c.configPath, env: { ...process.env, ...c.env }, dotenv: false });
    expect((await cli('trigger', '-d', 'both')).code).toBe(0);
  });
  afterAll(() => c.cleanup());

  it('refuses without --yes when stdin is not a terminal (exit 2) and clears nothing', async () => {
    const before = [await pushCheckpoints(), pullCheckpoints()];
    const r = await cli('reset-checkpoints');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('without confirmation: stdin is not a terminal');
    expect(r.stderr).toContain('--yes');
    expect(r.stdout).toBe('');
    expect([await pushCheckpoints(), pullCheckpoints()]).toEqual(before);
  });

  it('an unknown --table is a usage error (exit 2)', async () => {
    const r = await cli('reset-checkpoints', '--table', 'nurses', '--yes');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nurses');
    expect(r.stderr).toContain('clinics, patients, visits');
  });

  it('--table and --direction clear only the matching checkpoint', async () => {
    const r = await cli('reset-checkpoints', '--table', 'visits', '--direction', 'pull', '--yes', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ terminalId: 'till-reset', tables: ['visits'], steps: ['pull'], cleared: [{ step: 'pull', table: 'visits', side: 'sqlite' }] });
    expect(await pushCheckpoints()).toBe(3);
    expect(pullCheckpoints()).toBe(2);
  });

  it('clears everything, says what it cleared, and is idempotent', async () => {
    const r = await cli('reset-checkpoints', '--yes');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('cleared 5 checkpoints of terminal till-reset');
    expect(r.stdout).toMatch(/push sqlite → postgres {2}clinics, patients, visits/);
    expect(r.stdout).toMatch(/pull postgres → sqlite {2}clinics, patients/);
    expect([await pushCheckpoints(), pullCheckpoints()]).toEqual([0, 0]);
    const again = await cli('reset-checkpoints', '--yes');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to clear');
  });

  it('the next trigger resyncs every row in full and ends in the same state', async () => {
    const before = await snapshot();
    const r = await cli('trigger', '-d', 'both', '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as RunResult;
    expect(result.status).toBe('success');
    const sum = (step: 'push' | 'pull', f: (t: RunResult['tables'][number]) => number) => result.tables.filter((t) => t.step === step).reduce((a, t) => a + f(t), 0);
    // Every row was compared again on both sides ...
    expect(sum('push', (t) => t.unchanged + t.inserted + t.updated)).toBeGreaterThan(0);
    expect(sum('pull', (t) => t.unchanged + t.inserted + t.updated)).toBeGreaterThan(0);
    // ... and nothing changed or vanished.
    expect(sum('push', (t) => t.inserted + t.updated + t.deleted) + sum('pull', (t) => t.inserted + t.updated + t.deleted)).toBe(0);
    expect(await snapshot()).toEqual(before);
    // Exactly: every row of every table compared once per step and found equal, none inserted,
    // updated, deleted, in conflict or held, on two sides that hold the same number of rows.
    const tables = ['clinics', 'patients', 'visits'];
    for (const t of tables) expect(before.cloud[t]!.length, `${t}: both sides`).toBe(before.local[t]!.length);
    expect(tables.map((t) => before.local[t]!.length)).toEqual([2, 2, 1]);
    expect(result.tables.map((t) => `${t.step} ${t.table}`)).toEqual([...tables.map((t) => `push ${t}`), ...tables.map((t) => `pull ${t}`)]);
    for (const t of result.tables) {
      expect(
        { status: t.status, inserted: t.inserted, updated: t.updated, deleted: t.deleted, unchanged: t.unchanged, conflicts: t.conflicts, deferred: t.deferred, rejected: t.rejected },
        `${t.step} ${t.table}`,
      ).toEqual({ status: 'success', inserted: 0, updated: 0, deleted: 0, unchanged: before.local[t.table]!.length, conflicts: 0, deferred: 0, rejected: 0 });
    }
    const { pg, sqlite, plan, close } = await openAndPlan(config);
    try {
      const diffs = await compareSides(pg, sqlite, plan);
      expect(diffs.filter((d) => !inSync(d))).toEqual([]);
    } finally {
      await close();
    }
    expect([await pushCheckpoints(), pullCheckpoints()]).toEqual([3, 3]);
  });

  it('fails fast with LOCKED (exit 1) while a sync holds the terminal', async () => {
    const lock = await acquireTerminalLock(c.sqlitePath, 'sync both');
    try {
      const started = Date.now();
      const r = await cli('reset-checkpoints', '--yes');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('another possync run holds the lock for this terminal (sync both, pid');
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      lock.release();
    }
    expect(await pushCheckpoints()).toBe(3);
  });
});
