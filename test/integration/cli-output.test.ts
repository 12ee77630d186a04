import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClinic, seedClinic, type Clinic } from '../support/clinic.ts';
import { runCli } from '../support/cli.ts';
import { runInPty } from '../support/pty.ts';

const ESC = '\u001b';
/** SGR sequences: colours and text styles. */
const SGR = /\u001b\[[0-9;]*m/;
/** ora's default spinner frames. */
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;
/** A stack frame line as Node prints it. */
const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

describe('possync output: errors, terminals and NO_COLOR (subprocess)', () => {
  let c: Clinic;
  let bad: string;
  // What a colour terminal's environment looks like, minus the terminal itself.
  const colourEnv = { NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined, TERM: 'xterm-256color' };
  const unreachable = { TEST_PG_URL: 'postgresql://possync:s3cret-pw@127.0.0.1:1/nope' };

  beforeAll(async () => {
    c = await createClinic('output');
    await seedClinic(c);
    bad = path.join(c.dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ terminalId: 'x', tables: [{ name: 'clinics', pk: 'id', conflikt: 'lww' }] }));
  });
  afterAll(() => c.cleanup());

  describe('errors', () => {
    it('without DEBUG an error is exactly one line on stderr, with no stack', async () => {
      for (const [args, env, code] of [
        [['trigger', '-d', 'push', '-c', bad], c.env, 2],
        [['trigger', '-d', 'push', '-c', c.configPath], unreachable, 3],
      ] as const) {
        const r = await runCli([...args], { env: { ...env, DEBUG: undefined } });
        expect(r.code).toBe(code);
        expect(r.stdout).toBe('');
        expect(r.stderr.endsWith('\n')).toBe(true);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^possync: /);
        expect(r.stderr).not.toMatch(STACK_FRAME);
      }
    });

    it('DEBUG=1 adds the stack trace after the same first line (and still hides the password)', async () => {
      const plain = await runCli(['trigger', '-d', 'push', '-c', bad], { env: c.env });
      const debug = await runCli(['trigger', '-d', 'push', '-c', bad], { env: { ...c.env, DEBUG: '1' } });
      expect(debug.code).toBe(2);
      const lines = debug.stderr.trimEnd().split('\n');
      expect(lines[0]).toBe(plain.stderr.trimEnd());
      expect(lines.length).toBeGreaterThan(2);
      expect(debug.stderr).toMatch(STACK_FRAME);
      expect(debug.stderr).toContain('src/config/load.ts');

      // An error with a cause prints the cause's stack: where the driver failed.
      const down = await runCli(['trigger', '-d', 'push', '-c', c.configPath], { env: { ...unreachable, DEBUG: '1' } });
      expect(down.code).toBe(3);
      expect(down.stderr.split('\n')[0]).toContain('cannot reach PostgreSQL');
      expect(down.stderr).toMatch(STACK_FRAME);
      expect(down.stderr).not.toContain('s3cret-pw');
    });
  });

  describe('stdout and stderr not a terminal', () => {
    it('no spinner frames, no carriage returns and no escape codes, even without NO_COLOR', async () => {
      const runs = [
        await runCli(['trigger', '-d', 'both', '-c', c.configPath], { env: { ...c.env, ...colourEnv } }),
        await runCli(['verify-schemas', '-c', c.configPath], { env: { ...c.env, ...colourEnv } }),
        await runCli(['status', '-c', c.configPath], { env: { ...c.env, ...colourEnv } }),
        await runCli(['trigger', '-d', 'push', '-c', bad], { env: { ...c.env, ...colourEnv } }),
      ];
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 2]);
      expect(runs[0]!.stdout).toContain('push sqlite → postgres');
      for (const r of runs) {
        const all = r.stdout + r.stderr;
        expect(all).not.toContain(ESC);
        expect(all).not.toContain('\r');
        expect(all).not.toMatch(SPINNER);
      }
    });
  });

  describe('on a terminal (pseudo-terminal)', () => {
    it('colours the summary when the terminal allows it', async () => {
      const r = await runInPty(['trigger', '-d', 'both', '-c', c.configPath], { env: { ...c.env, ...colourEnv } });
      expect(r.code).toBe(0);
      expect(r.output).toContain('push sqlite → postgres');
      expect(r.output).toMatch(SGR);
    });

    it('NO_COLOR: not one colour escape, from the summary or the spinner', async () => {
      const r = await runInPty(['trigger', '-d', 'both', '-c', c.configPath], { env: { ...c.env, ...colourEnv, NO_COLOR: '1' } });
      expect(r.code).toBe(0);
      expect(r.output).toContain('push sqlite → postgres');
      expect(r.output).not.toMatch(SGR);
      const error = await runInPty(['trigger', '-d', 'push', '-c', bad], { env: { ...c.env, ...colourEnv, NO_COLOR: '1' } });
      expect(error.code).toBe(2);
      expect(error.output).toContain('possync: bad.json has 2 problems');
      expect(error.output).not.toMatch(SGR);
    });

    it('--json prints only the JSON document: no spinner and no escape codes at all', async () => {
      const r = await runInPty(['trigger', '-d', 'both', '--json', '-c', c.configPath], { env: { ...c.env, ...colourEnv } });
      expect(r.code).toBe(0);
      expect(r.output).not.toContain(ESC);
      expect((JSON.parse(r.output) as { status: string }).status).toBe('success');
    });

    it('a terminal that reports 0 columns gets no spinner, and the run still finishes', async () => {
      // ora divides by the width to count lines to clear: 0 columns used to make it loop forever.
      const r = await runInPty(['trigger', '-d', 'both', '-c', c.configPath], { env: { ...c.env, ...colourEnv }, columns: 0, timeoutMs: 45_000 });
      expect(r.code).toBe(0);
      expect(r.output).toContain('push sqlite → postgres');
      expect(r.output).not.toMatch(SPINNER);
    });
  });
});
