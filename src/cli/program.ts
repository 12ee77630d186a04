import { Command, CommanderError } from 'commander';
import { EXIT, isPossyncError, PossyncError } from '../errors.ts';
import { redactUrl } from '../config/format.ts';
import { runCleanups } from '../util/cleanup.ts';
import { STEP_ARROW } from './arrows.ts';
import { registerConfig } from './commands/config.ts';
import { registerDemo } from './commands/demo.ts';
import { registerTrigger } from './commands/trigger.ts';
import { registerDaemon } from './commands/daemon.ts';
import { registerResetCheckpoints } from './commands/reset-checkpoints.ts';
import { registerRejected } from './commands/rejected.ts';
import { registerDaemon } from './commands/daemon.ts';
import { registerRejected } from './commands/rejected.ts';
import { colors, printJson } from './output.ts';

const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('possync')
    .version(VERSION, '-V, --version')
    .description(
      'Keep a point-of-sale terminal\'s SQLite database and the cloud PostgreSQL database in sync,\n' +
        'both ways, table by table, from one config file.\n\n' +
        `  push  = ${STEP_ARROW.push}\n  pull  = ${STEP_ARROW.pull}\n  both  = push, then pull`,
    )
    .showHelpAfterError('(run possync --help for usage)')
    .exitOverride();
  registerTrigger(program);
  registerDaemon(program);
  registerResetCheckpoints(program);
  registerRejected(program);
  registerDaemon(program);
  registerRejected(program);
  registerDemo(program);
  registerConfig(program);
  program.addHelpText(
    'after',
    `
Examples:
  $ possync demo                          try it on a throwaway embedded Postgres
  $ possync trigger --direction both      sync this terminal now
  $ possync config schema                 JSON Schema for possync.config.json

Exit codes: 0 ok, 1 sync finished with failures, 2 usage or config error, 3 cannot reach a database.
Set DEBUG=1 to see stack traces.`,
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
