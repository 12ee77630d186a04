import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireTerminalLock } from '../../src/db/sqlite/lock.ts';
import { createClinic, seedClinic, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';

describe('trigger while another run holds the terminal (subprocess)', () => {
  let c: Clinic;
  beforeAll(async () => {
    c = await createClinic('trigger_lock');
    await seedClinic(c);
  });
  afterAll(() => c.cleanup());

  it('fails fast with LOCKED (exit 1), naming the holder', async () => {
    const lock = await acquireTerminalLock(c.sqlitePath, 'sync both');
    try {
      const r = await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env: c.env });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`another possync run holds the lock for this terminal (sync both, pid ${process.pid}`);
      expect(r.stderr).toContain('--wait');
    } finally {
      lock.release();
    }
  });

  it('--wait waits for the other run to finish, then syncs', async () => {
    const lock = await acquireTerminalLock(c.sqlitePath, 'sync both');
    const released = new Promise<number>((resolve) =>
      setTimeout(() => {
        lock.release();
        resolve(Date.now());
      }, 1_500),
    );
    const r = await runCli(['trigger', '-d', 'both', '-c', c.configPath, '--wait', '60', '--json'], { env: c.env });
    const releasedAt = await released;
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { status: string; finishedAt: string };
    expect(result.status).toBe('success');
    expect(Date.parse(result.finishedAt)).toBeGreaterThanOrEqual(releasedAt);
  });
});
