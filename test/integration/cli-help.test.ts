import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

// Every command's --help reads like a man page: what it does, its options, examples, exit codes.
const COMMANDS = ['trigger', 'daemon', 'reset-checkpoints', 'verify-schemas', 'status', 'logs', 'init'];

describe('possync --help (subprocess)', () => {
  it('lists every command with the direction arrows, examples, environment and exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
    expect(r.stdout).toContain('push  = push sqlite → postgres');
    expect(r.stdout).toContain('pull  = pull postgres → sqlite');
    expect(r.stdout).toContain('Getting started:');
    expect(r.stdout).toContain('SYNC_CRON');
    expect(r.stdout).toContain('Exit codes:');
  });

  it.each(COMMANDS)('%s --help has a description, options, examples and exit codes', async (cmd) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: possync ${cmd} \\[options\\]`));
    expect(r.stdout).toContain('Options:');
    expect(r.stdout).toMatch(/Examples?:\n {2}\$ possync /);
    expect(r.stdout).toContain('Exit codes:');
    // No line wrapped by accident in the middle of a sentence.
    for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });
});
