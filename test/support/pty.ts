import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/possync.js');

export interface PtyResult {
  code: number | null;
  /** stdout and stderr together, as the terminal showed them (with \r\n line ends and echo). */
  output: string;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `possync` on a pseudo-terminal (util-linux `script`), so stdin, stdout and stderr are all
 * TTYs as for an admin at a shell: prompts, colours and spinners behave as they do there.
 * `answers` are typed when their prompt appears. `columns` sizes the terminal (0 leaves it
 * unsized, as `script` does when fed from a pipe).
 */
export function runInPty(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; answers?: Array<{ when: RegExp; type: string }>; columns?: number; timeoutMs?: number } = {},
): Promise<PtyResult> {
  if (spawnSync('script', ['--version']).status !== 0) throw new Error('runInPty needs `script` from util-linux (apt-get install util-linux)');
  const columns = options.columns ?? 100;
  const size = columns > 0 ? `stty cols ${columns} rows 40; ` : '';
  // The shell notes its pid (which exec hands on to possync), so a timeout can kill possync
  // itself: it runs in the pseudo-terminal's own session, out of reach of a signal to `script`.
  const pidFile = path.join(os.tmpdir(), `possync-pty-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.pid`);
  const command = `${size}echo $$ > ${quote(pidFile)}; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const killInner = () => {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
    } catch {
      // already gone, or never started
    }
  };
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, DEBUG: '', CI: undefined, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const pending = [...(options.answers ?? [])];
    const onData = (d: Buffer) => {
      output += d.toString();
      // Type each answer once its prompt is on screen, like a person would.
      while (pending.length > 0 && pending[0]!.when.test(output)) child.stdin.write(pending.shift()!.type);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      killInner();
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      fs.rmSync(pidFile, { force: true });
      resolve({ code, output });
    });
  });
}
