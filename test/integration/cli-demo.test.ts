import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/possync.js');

/** Whether anything still listens on the demo's Postgres port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const portOf = (stdout: string) => Number(/PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);

describe('possync demo (subprocess)', () => {
  it('syncs the reference POS data both ways and ends equal, exit 0; a second run (--json) works too', async () => {
    const r = await runCli(['demo'], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('push sqlite → postgres');
    expect(r.stdout).toContain('pull postgres → sqlite');
    expect(r.stdout).toContain('✓ both sides are equal');
    expect(r.stdout).toMatch(/orders\s+4\s+4\s+✓/);
    // The second act: the till renames a product and sells 2, the cloud reprices it and books 24
    // in; both edits are kept and the stock adds up (column merge + counter).
    expect(r.stdout).toMatch(/name\s+Ketepa Pride Tea 100 g\s+Ketepa Pride Tea 100 g \(loose\)\s+Ketepa Pride Tea 100 g\s+Ketepa Pride Tea 100 g \(loose\)/);
    expect(r.stdout).toMatch(/price\s+245\.00\s+245\.00\s+255\.00\s+255\.00/);
    expect(r.stdout).toMatch(/stock\s+40\s+38 \(sold 2\)\s+64 \(\+24 delivered\)\s+62/);
    expect(r.stdout).toContain('✓ both edits kept');
    expect(await listening(portOf(r.stdout))).toBe(false);

    const again = await runCli(['demo', '--json'], { timeoutMs: 120_000 });
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout) as {
      equal: boolean;
      after: Array<{ table: string; inSync: boolean }>;
      result: { status: string };
      merge: { ok: boolean; after: { till: { name: string; price: string; stock: number }; cloud: { name: string; price: string; stock: number } } };
    };
    expect(doc.equal).toBe(true);
    expect(doc.merge.ok).toBe(true);
    expect(doc.merge.after.till).toEqual({ name: 'Ketepa Pride Tea 100 g (loose)', price: '255.00', stock: 62 });
    expect(doc.merge.after.cloud).toEqual(doc.merge.after.till);
    expect(doc.result.status).toBe('success');
    expect(doc.after.every((t) => t.inSync)).toBe(true);
  }, 240_000);

  it('Ctrl-C stops the embedded Postgres and removes it', async () => {
    let out = '';
    const child = spawn(process.execPath, [BIN, 'demo'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    // Wait until the server is up (the demo prints its header once Postgres runs).
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('demo did not start')), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('possync demo')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).not.toBe(0);
    const port = portOf(out);
    expect(port).toBeGreaterThan(0);
    expect(await listening(port)).toBe(false);
  }, 120_000);
});
