import { Option, type Command } from 'commander';
import { selectTables } from '../../config/select-tables.ts';
import type { Direction } from '../../config/types.ts';
import { PossyncError, runExitCode } from '../../errors.ts';
import { runSync } from '../../engine/run.ts';
import { backupSqlite } from '../../db/sqlite/backup.ts';
import { waitForLockFree } from '../../db/sqlite/lock-holder.ts';
import { STEP_ARROW } from '../arrows.ts';
import { backupFromFlags, withBackupOptions, type BackupFlags } from '../backup-options.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';
import { colors, printJson, progress, type Progress } from '../output.ts';
import { progressLine } from '../progress-line.ts';
import type { ProgressEvent } from '../../engine/context.ts';
import { renderRun } from '../summary.ts';

interface TriggerFlags extends ConfigFlags, BackupFlags {
  direction: Direction;
  tables?: string;
  dryRun?: boolean;
  json?: boolean;
  events?: boolean;
  wait?: string;
}

export function registerTrigger(program: Command): void {
  withBackupOptions(withConfigOptions(
    program
      .command('trigger')
      .summary('run one sync now')
      .description(
        'Run one sync now and print what happened to every table.\n\n' +
          `  push  = ${STEP_ARROW.push}   (local to cloud)\n` +
          `  pull  = ${STEP_ARROW.pull}   (cloud to local)\n` +
          '  both  = push, then pull\n\n' +
          'A dry run (--dry-run) makes every decision of a real run inside transactions that are rolled back, and ' +
          'reports the same counts. It writes no rows, checkpoints, held rows, conflicts or run log on either side ' +
          '(so possync logs and status do not list it), and skips --backup. On a terminal that never synced it does ' +
          "install possync's bookkeeping tables and capture triggers first, as any run does.",
      )
      .addOption(new Option('-d, --direction <direction>', 'push, pull or both').choices(['push', 'pull', 'both']).makeOptionMandatory())
      .option('-t, --tables <names>', 'only these tables (comma-separated config names)')
      .option('--dry-run', 'do the work and roll it back: report what would change, write nothing')
      .option('--json', 'print one JSON document (the run result) and nothing else on stdout')
      .option('--events', 'also write progress events as JSON lines on stderr while the run goes (rows, total when known)')
      .option('--wait <seconds>', 'if another run holds this terminal, wait up to this long instead of failing'),
  ))
    .addHelpText(
      'after',
      `
Examples:
  $ possync trigger --direction both
  $ possync trigger -d push --tables orders,order_items
  $ possync trigger -d pull --dry-run --json | jq '.tables[] | {table, step, inserted}'
  $ possync trigger -d both --backup --backup-keep 3     copy the SQLite file first

Exit codes: 0 all applied (with --dry-run: would be), 1 finished with failures or rows
waiting/refused, or another run holds this terminal's lock (see --wait), 2 usage or config
error (including an unknown --tables name) or a missing privilege, 3 a database cannot be
reached or stopped answering (the run ends with what it finished; rerun to go on).`,
    )
    .action(async (flags: TriggerFlags) => {
      const config = configFromFlags(flags);
      const waitSeconds = flags.wait === undefined ? 0 : Number(flags.wait);
      if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new PossyncError('USAGE', `--wait must be a number of seconds, got "${flags.wait}"`);
      const backup = backupFromFlags(flags);
      const tables = selectTables(config, flags.tables?.split(','));
      // Fail fast (or wait) while another run holds the terminal: see lock-holder.ts for why.
      await waitForLockFree(config.sqlitePath, waitSeconds * 1000);
      // The backup comes first: an admin who asked for one gets no run without it.
      if (backup && !flags.dryRun) {
        const { file } = await backupSqlite(config.sqlitePath, backup);
        if (!flags.json) process.stdout.write(`backup: ${file}\n`);
      }
      const spinner = progress(`syncing (${flags.direction})`, { json: flags.json ?? false });
      let result;
      try {
        result = await runSync(config, {
          direction: flags.direction,
          tables,
          dryRun: flags.dryRun ?? false,
          lockWaitMs: waitSeconds * 1000,
          onProgress: progressSink(spinner, flags.events ?? false),
        });
      } finally {
        spinner.stop();
      }
      if (flags.json) printJson(result);
      else process.stdout.write(`${renderRun(result, colors())}\n`);
      // A run that stopped says why on stderr too, in one line, for logs and scripts (--json too).
      if (result.error && result.errorCode !== 'ABORTED') process.stderr.write(`${colors(process.stderr).red('possync:')} ${result.error}\n`);
      process.exitCode = runExitCode(result);
    });
}

/**
 * Where progress goes: the spinner's line (rows out of the total, percentage, time left), and with
 * --events one JSON line per event on stderr for a program driving possync. Undefined when nobody
 * looks, so the run skips counting rows for it.
 */
function progressSink(spinner: Progress, events: boolean): ((e: ProgressEvent) => void) | undefined {
  if (!spinner.active && !events) return undefined;
  const line = progressLine();
  return (e) => {
    if (spinner.active) spinner.text(line(e));
    if (events) process.stderr.write(`${JSON.stringify({ event: 'progress', at: new Date().toISOString(), ...e })}\n`);
  };
}
