import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { acquireTerminalLock } from '../../src/db/sqlite/lock.ts';
import { runSync } from '../../src/engine/run.ts';
import { createClinic, type Clinic } from '../support/clinic.ts';
import { tempDir } from '../support/db.ts';
import { holdLockElsewhere } from '../support/hold-lock.ts';

/**
 * Regression tests for two lock findings from the operating-surface work (issue 4), now fixed.
 *
 * Was: acquireTerminalLock opens the lock database and runs `PRAGMA journal_mode = DELETE` before
 * it sets `busy_timeout = 0`. While another process holds the lock (an EXCLUSIVE transaction),
 * that pragma waits for better-sqlite3's default busy timeout (5 s) and then throws a raw
 * SqliteError SQLITE_BUSY "database is locked": callers get no LOCKED error, no holder in the
 * message, a 5 s stall, and `--wait` longer than 5 s never waits. Fix: `new Database(lockPath,
 * { timeout: 0 })` (or set busy_timeout first) and treat a BUSY journal_mode pragma like a BUSY
 * BEGIN EXCLUSIVE, inside the wait loop.
 */
describe('terminal lock contention (engine findings)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  beforeAll(() => {
    tmp = tempDir();
    file = path.join(tmp.dir, 'till.sqlite');
  });
  afterAll(() => tmp.cleanup());

  it('a second acquirer gets LOCKED at once, naming the holder', async () => {
    const held = await acquireTerminalLock(file, 'sync both');
    try {
      const started = Date.now();
      const err = await acquireTerminalLock(file, 'sync pull').then(
        (l) => {
          l.release();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'LOCKED' });
      expect((err as Error).message).toContain('sync both');
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      held.release();
    }
  });

  it('waitMs longer than 5 s waits for the holder to finish', async () => {
    const held = await acquireTerminalLock(file, 'sync both');
    const release = setTimeout(() => held.release(), 6_500);
    try {
      const lock = await acquireTerminalLock(file, 'sync pull', { waitMs: 20_000 });
      lock.release();
    } finally {
      clearTimeout(release);
      held.release();
    }
  }, 30_000);
});

/**
 * Finding: runSync takes `startedAt` before it opens the databases and waits for the terminal
 * lock, so a run that waited (--wait) reports the wait as sync time, and the sync_logs intervals
 * of two runs that the lock kept apart overlap; the logs cannot show that they never ran at once.
 * Fix: take the start time (and measure durationMs) once the lock is held.
 */
describe('run start time (engine findings)', () => {
  let c: Clinic;
  beforeAll(async () => {
    c = await createClinic('lock_findings');
  });
  afterAll(() => c.cleanup());

  it('startedAt is after the lock wait', async () => {
    const config = loadConfig({ configPath: c.configPath, env: { ...process.env, ...c.env }, dotenv: false });
    const holder = await holdLockElsewhere(c.sqlitePath, 1_500);
    const result = await runSync(config, { direction: 'both', lockWaitMs: 4_000 });
    const releasedAt = await holder.released;
    expect(result.status).toBe('success');
    expect(Date.parse(result.startedAt)).toBeGreaterThanOrEqual(releasedAt);
  });
});
