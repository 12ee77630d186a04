import { Command, CommanderError } from 'commander';
import { EXIT, isPossyncError, PossyncError } from '../errors.ts';
import { redactUrl } from '../config/format.ts';
import { runCleanups } from '../util/cleanup.ts';
import { STEP_ARROW } from './arrows.ts';
import { registerConfig } from './commands/config.ts';
import { registerConflicts } from './commands/conflicts.ts';
import { registerDaemon } from './commands/daemon.ts';
import { registerDemo } from './commands/demo.ts';
import { registerInit } from './commands/init.ts';
import { registerLogs } from './commands/logs.ts';
import { registerRejected } from './commands/rejected.ts';
import { registerResetCheckpoints } from './commands/reset-checkpoints.ts';
import { registerStatus } from './commands/status.ts';
import { registerTrigger } from './commands/trigger.ts';
import { registerVerifySchemas } from './commands/verify-schemas.ts';
import { registerVerifyData } from './commands/verify-data.ts';
import { colors, printJson } from './output.ts';
import { helpConfiguration } from './help-format.ts';

const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('possync')
    .version(VERSION, '-V, --version')
    .description(
      "Keep a point-of-sale terminal's SQLite database and the cloud PostgreSQL database in sync, " +
        'both ways, table by table, from one config file (possync.config.json).\n\n' +
        `  push  = ${STEP_ARROW.push}\n  pull  = ${STEP_ARROW.pull}\n  both  = push, then pull`,
    )
    .showHelpAfterError('(run possync --help for usage)')
    // Set before the commands are registered: commander copies it to each of them.
    .configureHelp(helpConfiguration)
    .exitOverride();
  registerTrigger(program);
  registerDaemon(program);
  registerResetCheckpoints(program);
  registerVerifySchemas(program);
  registerVerifyData(program);
  registerStatus(program);
  registerLogs(program);
  registerRejected(program);
  registerConflicts(program);
  registerInit(program);
  registerDemo(program);
  registerConfig(program);
  program.addHelpText(
    'after',
    `
Getting started:
  $ possync demo                                 try it on a throwaway embedded Postgres
  $ possync init --sqlite till.sqlite --database-url "$DATABASE_URL"
  $ possync verify-schemas                       both databases match the config?
  $ possync trigger --direction both             sync this terminal now
  $ possync daemon --cron '*/5 * * * *'          keep syncing every five minutes
  $ possync status                               how is it going?

Run possync <command> --help for a command's options, examples and exit codes.

Environment (flags win over the config file, which wins over these):
  DATABASE_URL      PostgreSQL URL (postgres.url)
  SQLITE_PATH       terminal SQLite database (sqlite.path)
  TERMINAL_ID       this terminal's id (terminalId)
  SYNC_BATCH_SIZE   rows per batch (batchSize, default 500)
  SYNC_CRON         daemon schedule (cron)
  POSSYNC_CONFIG    config file (default ./possync.config.json)
  NO_COLOR          no colours;  DEBUG=1  print stack traces
  A .env file in the current directory is read too.

Exit codes: 0 ok, 1 sync finished with failures (or drift, for verify-schemas),
2 usage or config error, 3 a database cannot be reached.`,
  );
  return program;
}

/** The single top-level handler: every error becomes one line and an exit code. */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE; // commander already printed the message
    }
    const e = isPossyncError(err) ? err : new PossyncError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
    const message = redactUrl(e.message);
    if (json) printJson({ error: { code: e.code, message, hint: e.hint ?? null } });
    const c = colors(process.stderr);
    process.stderr.write(`${c.red('possync:')} ${message}${e.hint ? c.dim(` — ${e.hint}`) : ''}\n`);
    if (process.env.DEBUG) process.stderr.write(`${(e.cause instanceof Error ? e.cause : e).stack}\n`);
    return e.exitCode;
  } finally {
    await runCleanups();
  }
}
