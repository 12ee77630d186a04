import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { inject, describe, expect, it } from 'vitest';
import { tempDir } from '../support/db.ts';

// The benchmark itself is not part of npm test; this proves the script runs end to end and
// writes its result file, on a tiny data set against the suite's Postgres.
describe('npm run bench (smoke, 1,000 rows)', () => {
  it('measures every phase and writes a JSON result', async () => {
    const tmp = tempDir();
    const out = path.join(tmp.dir, 'bench.json');
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--rows', '1000', '--cycles', '2', '--no-pgloader', '--out', out], {
          env: { ...process.env, BENCH_DATABASE_URL: inject('pgAdminUrl'), CI: 'true' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.resume();
        child.stderr.resume();
        child.on('error', reject);
        child.on('close', resolve);
      });
      expect(code).toBe(0);
      const result = JSON.parse(fs.readFileSync(out, 'utf8')) as {
        rows: number;
        rowsPerSecond: { copy: number; push: number; pull: number; settle: number };
        cycleMs: { push: number; pull: number; smallPush: number; smallPull: number };
        peakRssMb: { baseline: number; push: number; pull: number; settle: number; cyclePush: number; cyclePull: number };
        phases: { settle: { rows: number } };
        verifyData: { found: number; hashedRows: number; fullRows: number };
      };
      expect(result.rows).toBe(1000);
      for (const v of [result.rowsPerSecond.copy, result.rowsPerSecond.push, result.rowsPerSecond.pull, result.rowsPerSecond.settle]) expect(v).toBeGreaterThan(0);
      // The first pull of the till that pushed compares every row (and applies none).
      expect(result.phases.settle.rows).toBe(1000);
      // verify-data finds the 10 planted differences (the phase fails otherwise) and reads few rows in full.
      expect(result.verifyData.found).toBe(10);
      expect(result.verifyData.fullRows).toBeLessThanOrEqual(10);
      for (const v of Object.values(result.cycleMs)) expect(v).toBeGreaterThan(0);
      for (const v of Object.values(result.peakRssMb)) expect(v).toBeGreaterThan(0);
      // Every phase needs at least what possync takes loaded and connected.
      for (const [k, v] of Object.entries(result.peakRssMb)) if (k !== 'baseline') expect(v, k).toBeGreaterThanOrEqual(result.peakRssMb.baseline * 0.9);
    } finally {
      tmp.cleanup();
    }
  }, 180_000);
});
