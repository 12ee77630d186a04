import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import type { TableResult } from '../../engine/result.ts';
import type { LoggedRun } from '../../engine/status/run-log.ts';
import { readRunLog } from '../../engine/status/run-log-report.ts';
import { PossyncError } from '../../errors.ts';
import { directionLine, STEP_ARROW } from '../arrows.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';
import { colors, formatMs, printJson } from '../output.ts';

interface LogsFlags extends ConfigFlags {
  limit: string;
  json?: boolean;
}

export function registerLogs(program: Command): void {
  withConfigOptions(
    program
      .command('logs')
      .summary('list the last sync runs of this terminal')
      .description(
        'List the last runs recorded in the terminal database (newest first): when, which direction, status, ' +
          'duration, and per table what was applied, deleted, unchanged, in conflict, deferred or rejected. ' +
          'Every run is recorded, by trigger and by the daemon; dry runs write nothing, so they are not listed. ' +
          'It reads only the terminal database, so it works offline.\n\n' +
          `  push  = ${STEP_ARROW.push}\n  pull  = ${STEP_ARROW.pull}`,
      )
      .option('-n, --limit <n>', 'how many runs', '20')
      .option('--json', 'print one JSON document: an array of runs with their full results'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ possync logs
  $ possync logs --limit 100 --json | jq '.[] | select(.status != "success") | .error'

Exit codes: 0 shown, 2 usage or config error, 3 the terminal database cannot be opened.`,
    )
    .action((flags: LogsFlags) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new PossyncError('USAGE', `--limit must be a positive whole number, got "${flags.limit}"`);
      const config = configFromFlags(flags);
      const runs = readRunLog(config, limit);
      if (flags.json) printJson(runs);
      else process.stdout.write(`${render(runs, colors())}\n`);
    });
}

function render(runs: LoggedRun[], c: ChalkInstance): string {
  if (runs.length === 0) return 'no runs recorded yet on this terminal';
  const lines: string[] = [];
  for (const run of runs) {
    const status = run.status === 'success' ? c.green(run.status) : run.status === 'partial' ? c.yellow(run.status) : c.red(run.status);
    const duration = run.result ? formatMs(run.result.durationMs) : '?';
    lines.push(`${c.bold(run.startedAt)}  ${directionLine(run.direction)}  ${status}  ${duration}${run.dryRun ? c.yellow('  (dry run)') : ''}  ${c.dim(run.runId)}`);
    for (const step of ['push', 'pull'] as const) {
      const tables = run.result?.tables.filter((t) => t.step === step) ?? [];
      if (tables.length > 0) lines.push(`  ${STEP_ARROW[step]}: ${tables.map(counts).join('; ')}`);
    }
    if (run.error) lines.push(c.red(`  run stopped: ${run.error}`));
  }
  return lines.join('\n');
}

function counts(t: TableResult): string {
  const parts = [`${t.inserted + t.updated} applied`];
  if (t.deleted > 0) parts.push(`${t.deleted} deleted`);
  if (t.unchanged > 0) parts.push(`${t.unchanged} unchanged`);
  if (t.conflicts > 0) parts.push(`${t.conflicts} conflicts`);
  if (t.deferred > 0) parts.push(`${t.deferred} deferred`);
  if (t.rejected > 0) parts.push(`${t.rejected} rejected`);
  if (t.status !== 'success') parts.push(t.status === 'error' ? `error: ${t.error ?? ''}` : 'not run');
  return `${t.label} ${parts.join(', ')}`;
}
