import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

// Every command's --help reads like a man page: what it does, its options, examples, exit codes.
const COMMANDS = ['trigger', 'daemon', 'reset-checkpoints', 'verify-schemas', 'verify-data', 'status', 'logs', 'init', 'rejected', 'conflicts', 'demo', 'config', 'config schema', 'config check'];
const TOP_LEVEL = COMMANDS.filter((c) => !c.includes(' '));
/** Commander wraps help at 80 columns when stdout is not a terminal. */
const HELP_WIDTH = 80;

/** The description: the lines between "Usage: …" and the first section heading. */
function descriptionLines(help: string): string[] {
  const lines = help.split('\n');
  const end = lines.findIndex((l) => /^(Arguments|Options|Commands):$/.test(l));
  return lines.slice(1, end === -1 ? undefined : end);
}

describe('possync --help (subprocess)', () => {
  it('lists every command with the direction arrows, examples, environment and exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of TOP_LEVEL) expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
    expect(r.stdout).toContain('push  = push sqlite → postgres');
    expect(r.stdout).toContain('pull  = pull postgres → sqlite');
    expect(r.stdout).toContain('Getting started:');
    expect(r.stdout).toContain('SYNC_CRON');
    expect(r.stdout).toContain('Exit codes:');
  });

  it.each(COMMANDS)('%s --help has a description, options, examples and exit codes', async (cmd) => {
    const r = await runCli([...cmd.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: possync ${cmd} \\[options\\]`));
    expect(r.stdout).toContain('Options:');
    expect(r.stdout).toMatch(/Examples?:\n {2}\$ possync /);
    expect(r.stdout).toContain('Exit codes:');
    // No line wrapped by accident in the middle of a sentence.
    for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    // One examples section (not two), each example a command line to copy, and one exit-codes paragraph.
    expect(r.stdout.match(/^Examples?:$/gm)).toHaveLength(1);
    expect(r.stdout.match(/^Exit codes:/gm)).toHaveLength(1);
    const examples = r.stdout.slice(r.stdout.search(/^Examples?:$/m)).split(/\n\n(?!\s)/)[0]!.split('\n').slice(1);
    // `$ [VAR=value …] [npx] possync …`, or a `# comment` line.
    const example = /^ {2}\$ (\w+=\S+ )*(npx )?possync /;
    for (const line of examples.filter((l) => l.trim() !== '')) expect(line).toMatch(new RegExp(`${example.source}|^ {2}# `));
    expect(examples.filter((l) => example.test(l) && l.includes(`possync ${cmd}`)).length).toBeGreaterThan(0);
  });

  it.each(COMMANDS)('%s --help: the description reads as paragraphs, lists hang-indented', async (cmd) => {
    const r = await runCli([...cmd.split(' '), '--help']);
    expect(r.code).toBe(0);
    const desc = descriptionLines(r.stdout);
    expect(desc.join('\n').trim().length).toBeGreaterThan(40);
    let hang: number | undefined; // indent of the text of the list item being read
    for (let i = 0; i < desc.length; i++) {
      const [line, next] = [desc[i]!, desc[i + 1]];
      // A prose line is only broken where the next word no longer fits: never by hand mid-sentence.
      if (next !== undefined && line !== '' && next !== '' && !/^\s/.test(line) && !/^\s/.test(next)) {
        const word = next.split(' ')[0]!;
        expect(`${line} ${word}`.length, `"${line}" / "${next}"`).toBeGreaterThan(HELP_WIDTH);
      }
      // A wrapped list item continues under its text, not at the margin.
      const bullet = /^(\s*)- /.exec(line);
      if (bullet) hang = bullet[1]!.length + 2;
      else if (line.trim() === '') hang = undefined;
      else if (hang !== undefined) expect(line, `continuation of a list item in ${cmd} --help`).toMatch(new RegExp(`^ {${hang}}\\S`));
    }
  });
});
