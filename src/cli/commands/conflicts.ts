import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { readConflicts, type ConflictRecord, type ConflictsReport } from '../../engine/status/conflicts-report.ts';
import { PossyncError } from '../../errors.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';
import { colors, printJson } from '../output.ts';

interface ConflictsFlags extends ConfigFlags {
  log?: boolean;
  table?: string;
  since?: string;
  limit: string;
  json?: boolean;
}

export function registerConflicts(program: Command): void {
  withConfigOptions(
    program
      .command('conflicts')
      .summary('browse the recorded conflicts and merges')
      .description(
        'With --log: the conflicts and column merges this terminal met, newest first, from both sides: the ones a ' +
          'pull met (recorded in the terminal database) and the ones a push met (recorded in the cloud, possync.conflicts; ' +
          'left out with a note when the cloud cannot be reached). Each shows the policy, which side won, and for a column ' +
          'merge the columns that clashed, the base both sides last agreed on and the row written.',
      )
      .option('--log', 'list the recorded conflicts and merges')
      .option('--table <name>', 'only this table (its Postgres name)')
      .option('--since <when>', 'only since then: an ISO date or time, or an age such as 30m, 12h, 7d')
      .option('-n, --limit <n>', 'at most this many per side', '50')
      .option('--json', 'print one JSON document: { terminal, cloud }'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ possync conflicts --log
  $ possync conflicts --log --table products --since 7d --json

Exit codes: 0 shown, 2 usage or config error, 3 the terminal database cannot be opened.`,
    )
    .action(async (flags: ConflictsFlags) => {
      if (!flags.log) {
        throw new PossyncError('USAGE', 'possync conflicts needs --log (open conflicts to resolve by hand, conflict "manual", are not available yet)');
      }
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new PossyncError('USAGE', `--limit must be a positive whole number, got "${flags.limit}"`);
      const since = flags.since === undefined ? undefined : parseSince(flags.since);
      const config = configFromFlags(flags);
      const report = await readConflicts(config, limit, { table: flags.table, since });
      if (flags.json) printJson(report);
      else process.stdout.write(`${render(report, colors())}\n`);
    });
}

/** An ISO moment, or an age (30m, 12h, 7d) before now, as the ISO text both logs sort by. */
export function parseSince(text: string, now = Date.now()): string {
  const age = /^(\d+)\s*([mhd])$/.exec(text.trim());
  const ms = age ? now - Number(age[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 'm' | 'h' | 'd'] : Date.parse(text);
  if (!Number.isFinite(ms)) throw new PossyncError('USAGE', `--since must be an ISO date or time, or an age such as 30m, 12h, 7d; got "${text}"`);
  return new Date(ms).toISOString();
}

function render(report: ConflictsReport, c: ChalkInstance): string {
  const all = [...report.terminal.map((r) => ({ r, side: 'till' })), ...(report.cloud ?? []).map((r) => ({ r, side: 'cloud' }))].sort((a, b) => (a.r.at < b.r.at ? 1 : a.r.at > b.r.at ? -1 : 0));
  const lines: string[] = [];
  if (all.length === 0) lines.push('no conflicts recorded');
  for (const { r, side } of all) lines.push(...describe(r, side, c));
  if (report.cloud === null) lines.push(c.yellow(`push conflicts (recorded in the cloud) left out: ${report.cloudError ?? 'the cloud cannot be reached'}`));
  return lines.join('\n');
}

function describe(r: ConflictRecord, side: string, c: ChalkInstance): string[] {
  const merge = r.result !== undefined;
  const head = `${c.bold(r.at)}  ${r.direction} (recorded on the ${side})  ${r.table} ${r.key}  ${r.policy}  ${merge ? (r.columns?.length ? `clashed on ${r.columns.join(', ')}: ${r.winner} won` : 'merged, nothing clashed') : `${r.winner} won`}`;
  const lines = [head];
  const show = (label: string, v: unknown) => lines.push(`  ${c.dim(label.padEnd(7))}${JSON.stringify(v)}`);
  if (merge) show('base', r.base);
  show('till', r.local);
  show('cloud', r.server);
  if (merge) show('result', r.result);
  return lines;
}
