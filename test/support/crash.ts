import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/possync.js');

export interface KilledRun {
  /** True when SIGKILL ended the run; false when it finished first. */
  killed: boolean;
  code: number | null;
  /** How long the run went on after it had started (taken the lock): to its end, or to the kill. */
  ranMs: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `possync trigger --direction <direction>` as a subprocess and SIGKILLs it `afterMs` after
 * the run has really started (it has taken the terminal lock, whose info file appears next to
 * the SQLite file), so the kill lands in the sync itself rather than in Node's startup.
 */
export function runAndKill(configPath: string, sqlitePath: string, afterMs: number, direction = 'both'): Promise<KilledRun> {
  const lockInfo = `${sqlitePath}.possync-lock.json`;
  // A killed run cannot remove its info file; a stale one would start the clock too early.
  fs.rmSync(lockInfo, { force: true });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'trigger', '--direction', direction, '--json', '--config', configPath], {
      env: { ...process.env, NO_COLOR: '1', DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timer: NodeJS.Timeout | undefined;
    let startedAt: number | undefined;
    const poll = setInterval(() => {
      if (!fs.existsSync(lockInfo)) return;
      clearInterval(poll);
      startedAt = performance.now();
      timer = setTimeout(() => {
        killed = child.kill('SIGKILL');
      }, afterMs);
    }, 2);
    // A safety net: no run of the test workloads takes this long.
    const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      clearTimeout(limit);
      resolve({ killed: killed && signal === 'SIGKILL', code, ranMs: startedAt === undefined ? 0 : performance.now() - startedAt, stdout, stderr });
    });
  });
}
