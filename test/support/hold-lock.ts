import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'hold-lock-child.ts');

/**
 * Holds a terminal's sync lock from another process for `ms` milliseconds, like a second daemon
 * would. (Holding it in the test process itself would not do: better-sqlite3 waits synchronously,
 * so the test's own release timer could never fire while another acquirer waits.)
 * Resolves once the lock is held; `released` resolves with the time it was let go.
 */
export async function holdLockElsewhere(sqlitePath: string, ms: number): Promise<{ pid: number; released: Promise<number> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, sqlitePath, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const released = new Promise<number>((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve(Number(/released (\d+)/.exec(out)?.[1])) : reject(new Error(`lock holder exited ${code}`))));
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('held')) resolve();
    });
    child.on('error', reject);
  });
  return { pid: child.pid!, released };
}
