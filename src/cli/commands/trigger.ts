import { Option, type Command } from 'commander';
import type { Direction } from '../../config/types.ts';
import { PossyncError, EXIT } from '../../errors.ts';
import { runSync } from '../../engine/run.ts';
import { backupSqlite } from '../../db/sqlite/backup.ts';
import { waitForLockFree } from '../../db/sqlite/lock-holder.ts';
import { STEP_ARROW } from '../arrows.ts';
import { backupFromFlags, withBackupOptions, type BackupFlags } from '../backup-options.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';
import { colors, printJson, progress } from '../output.ts';
import { renderRun } from '../summary.ts';

interface TriggerFlags extends ConfigFlags, BackupFlags {
  direction: Direction;
  tables?: string;
  dryRun?: boolean;
  json?: boolean;
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
          '  both  = push, then pull',
      )
      .addOption(new Option('-d, --direction <direction>', 'push, pull or both').choices(['push', 'pull', 'both']).makeOptionMandatory())
      .option('-t, --tables <names>', 'only these tables (comma-separated config names)')
      .option('--dry-run', 'do everything but write: report what would change')
      .option('--json', 'print one JSON document (the run result) and nothing else on stdout')
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

Exit codes: 0 all applied, 1 finished with failures or rows waiting/refused,
2 usage or config error, 3 a database cannot be reached.`,
    )
    .action(async (flags: TriggerFlags) => {
      const config = configFromFlags(flags);
      const waitSeconds = flags.wait === undefined ? 0 : Number(flags.wait);
      if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new PossyncError('USAGE', `--wait must be a number of seconds, got "${flags.wait}"`);
      const backup = backupFromFlags(flags);
      const tables = flags.tables?.split(',').map((s) => s.trim()).filter(Boolean);
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
          onProgress: (e) => spinner.text(`${STEP_ARROW[e.step]} · ${e.table} · ${e.rows} rows`),
        });
      } finally {
        spinner.stop();
      }
      if (flags.json) printJson(result);
      else process.stdout.write(`${renderRun(result, colors())}\n`);
      process.exitCode = result.status === 'success' ? EXIT.OK : EXIT.SYNC_FAILURES;
    });
}
