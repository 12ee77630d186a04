import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { inject, describe, expect, it } from 'vitest';
import { tempDir } from '../support/db.ts';

// The many-terminals benchmark is not part of npm test; this proves it runs end to end, checks
// what it claims to check and writes its result file, with 3 tills against the suite's Postgres.
// No fence-lag step here: it holds a write transaction open, which would hold back the pull
// fence of every other test file on this server (xids are cluster-wide). Direct connections only
// (--pgbouncer off), as before the bench measured both: the PgBouncer tests cover the pooler.
describe('npm run bench:terminals (smoke, 3 tills)', () => {
  it('runs concurrent cycles, verifies every till, measures a no-change pull, writes a JSON result', async () => {
    const tmp = tempDir();
    const out = path.join(tmp.dir, 'bench-terminals.json');
    try {
      let stdout = '';
      let stderr = '';
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'scripts/bench-terminals.ts', '--terminals', '3', '--changes', '10', '--cycles', '2', '--no-change-rows', '1000', '--no-change-repeat', '3', '--no-fence-lag', '--pgbouncer', 'off', '--out', out],
          { env: { ...process.env, BENCH_DATABASE_URL: inject('pgAdminUrl'), CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', resolve);
      });
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      expect(stdout).toMatch(/p50 ms\s+p95 ms\s+max ms/);
      // possync's own retry counts, by cause, per cycle and in the summary line.
      expect(stdout).toMatch(/conflicts\s+retries\s+40P01\s+40001\s+55P03\s+errors/);
      expect(stdout).toMatch(/retries: \d+ batches or pulls redone by possync \(\d+ after a deadlock, 40P01; \d+ after a serialization failure, 40001; \d+ after a lock wait past lockTimeoutSeconds, 55P03\)/);
      const result = JSON.parse(fs.readFileSync(out, 'utf8')) as {
        ok: boolean;
        cycles: Array<{
          cycle: number;
          runMs: { p50: number; p95: number; max: number };
          rowsPushed: number;
          rowsPulled: number;
          errors: number;
          retries: { total: number; push: number; pull: number; deadlock: number; serialization: number; lockTimeout: number };
        }>;
        summary: { errors: number; retries: number; retriesDeadlock: number; retriesSerialization: number };
        final: { tillsInSync: number; tills: number; salesCreated: number; salesInPostgres: number; lostRows: number; lostEdits: number; idleRoundRowsMoved: number };
        noChange: { big: { rows: number; engineMedianMs: number; statements: number | number[] }; small: { statements: number | number[] }; ratio: number };
        fenceLag?: unknown;
      };
      expect(result.ok).toBe(true);
      expect(result.cycles.map((c) => c.cycle)).toEqual([0, 1, 2]);
      for (const c of result.cycles.slice(1)) {
        expect(c.errors).toBe(0);
        expect(c.rowsPushed).toBeGreaterThan(0);
        expect(c.rowsPulled).toBeGreaterThan(0);
        expect(c.runMs.p50).toBeGreaterThan(0);
        expect(c.runMs.max).toBeGreaterThanOrEqual(c.runMs.p95);
      }
      for (const c of result.cycles) {
        expect(c.retries.total).toBe(c.retries.push + c.retries.pull);
        expect(c.retries.total).toBe(c.retries.deadlock + c.retries.serialization + c.retries.lockTimeout);
      }
      expect(result.summary.retries).toBe(result.cycles.reduce((a, c) => a + c.retries.total, 0));
      expect(result.summary.retries).toBe(result.summary.retriesDeadlock + result.summary.retriesSerialization);
      expect(result.final).toMatchObject({ tillsInSync: 3, tills: 3, lostRows: 0, lostEdits: 0, idleRoundRowsMoved: 0 });
      expect(result.final.salesInPostgres).toBe(result.final.salesCreated);
      expect(result.noChange.big.rows).toBe(1000);
      expect(result.noChange.big.engineMedianMs).toBeGreaterThan(0);
      // The same statements at both sizes (one probe fewer when the fence has not moved, which
      // other test files on this server can cause: xids are cluster-wide).
      const counts = [result.noChange.big.statements, result.noChange.small.statements].flat();
      expect(Math.max(...counts) - Math.min(...counts), JSON.stringify(counts)).toBeLessThanOrEqual(1);
      expect(result.fenceLag).toBeUndefined();
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
