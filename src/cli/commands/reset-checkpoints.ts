import { Option, type Command } from 'commander';
import type { ResolvedConfig } from '../../config/types.ts';
import { PgGateway } from '../../db/postgres/gateway.ts';
import { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { acquireTerminalLock } from '../../db/sqlite/lock.ts';
import { isRawBusy, lockHolder, lockedError, waitForLockFree } from '../../db/sqlite/lock-holder.ts';
import type { ClearedCheckpoint } from '../../engine/checkpoints.ts';
import { resetCheckpoints } from '../../engine/reset.ts';
import type { Step } from '../../engine/result.ts';
import { EXIT, PossyncError } from '../../errors.ts';
import { STEP_ARROW } from '../arrows.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';
import { confirm } from '../confirm.ts';
import { colors, printJson } from '../output.ts';

interface ResetFlags extends ConfigFlags {
  table: string[];
  direction?: Step;
  yes?: boolean;
  json?: boolean;
  wait?: string;
}

const collect = (value: string, previous: string[]) => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];

export function registerResetCheckpoints(program: Command): void {
  withConfigOptions(
    program
      .command('reset-checkpoints')
      .summary('make the next run resync tables in full')
      .description(
        "Clear this terminal's checkpoints so the next run compares and resyncs the tables in full. " +
          'Push checkpoints live in Postgres (possync.system_settings), pull checkpoints in the terminal database (system_settings). ' +
          'A full resync is idempotent: rows that are already equal on both sides are reported as "unchanged", nothing is duplicated.\n\n' +
          `  push  = ${STEP_ARROW.push}\n  pull  = ${STEP_ARROW.pull}\n\n` +
          'It takes the terminal lock, so it never races a running sync. On a terminal it asks for confirmation; ' +
          'without one (scripts, cron) it refuses unless --yes is given.',
      )
      .addOption(new Option('-t, --table <name>', 'only this table (config name); repeat or comma-separate for more').argParser(collect).default([], 'every table'))
      .addOption(new Option('-d, --direction <direction>', 'only push or only pull checkpoints (default: both)').choices(['push', 'pull']))
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--json', 'print one JSON document (what was cleared)')
      .option('--wait <seconds>', 'if a sync is running on this terminal, wait up to this long for it'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ possync reset-checkpoints                      all tables, both directions (asks first)
  $ possync reset-checkpoints --table visits --direction pull --yes
  $ possync reset-checkpoints --yes && possync trigger --direction both

Exit codes: 0 cleared (or nothing to clear), 1 cancelled at the prompt or a sync holds the lock,
2 usage error (unknown --table, no --yes without a terminal), 3 a database cannot be reached.`,
    )
    .action(async (flags: ResetFlags) => {
      const config = configFromFlags(flags);
      const tables = selectTables(config, flags.table);
      const steps: Step[] = flags.direction ? [flags.direction] : ['push', 'pull'];
      const waitSeconds = flags.wait === undefined ? 0 : Number(flags.wait);
      if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new PossyncError('USAGE', `--wait must be a number of seconds, got "${flags.wait}"`);
      const what = `${steps.join(' and ')} checkpoints of ${tables.length === config.tables.length ? 'every table' : tables.join(', ')} for terminal ${config.terminalId}`;
      const ok = await confirm(`Clear the ${what}? The next run resyncs them in full.`, {
        yes: flags.yes,
        refusal: `refusing to clear the ${what} without confirmation: stdin is not a terminal`,
      });
      if (!ok) {
        process.stderr.write('cancelled: nothing was cleared\n');
        process.exitCode = EXIT.SYNC_FAILURES;
        return;
      }
      const cleared = await clear(config, tables, steps, waitSeconds * 1000);
      if (flags.json) printJson({ terminalId: config.terminalId, tables, steps, cleared });
      else process.stdout.write(`${render(config.terminalId, tables, cleared)}\n`);
    });
}

function selectTables(config: ResolvedConfig, names: string[]): string[] {
  const all = config.tables.map((t) => t.name);
  if (names.length === 0) return all;
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    throw new PossyncError('USAGE', `--table names tables that are not in the config: ${unknown.join(', ')}`, { hint: `configured tables: ${all.join(', ')}` });
  }
  return [...new Set(names)];
}

async function clear(config: ResolvedConfig, tables: string[], steps: Step[], waitMs: number): Promise<ClearedCheckpoint[]> {
  const sqlite = SqliteGateway.open(config.sqlitePath);
  try {
    const lock = await takeLock(config.sqlitePath, waitMs);
    try {
      const pg = await PgGateway.open(config);
      try {
        return await resetCheckpoints(pg, sqlite.db, config.terminalId, tables, steps);
      } finally {
        await pg.close();
      }
    } finally {
      lock.release();
    }
  } finally {
    sqlite.close();
  }
}

/** The terminal lock, so no run writes a checkpoint back while we clear it (see lock-holder.ts). */
async function takeLock(sqlitePath: string, waitMs: number) {
  await waitForLockFree(sqlitePath, waitMs);
  try {
    return await acquireTerminalLock(sqlitePath, 'reset-checkpoints', { waitMs: 0 });
  } catch (err) {
    const h = lockHolder(sqlitePath);
    if (isRawBusy(err) && h) throw lockedError(h);
    throw err;
  }
}

function render(terminalId: string, tables: string[], cleared: ClearedCheckpoint[]): string {
  const c = colors();
  if (cleared.length === 0) {
    return `nothing to clear: terminal ${terminalId} has no checkpoints for ${tables.join(', ')} (never synced, or already reset)`;
  }
  const lines = [`cleared ${cleared.length} checkpoint${cleared.length === 1 ? '' : 's'} of terminal ${terminalId}:`];
  for (const step of ['push', 'pull'] as const) {
    const names = tables.filter((t) => cleared.some((x) => x.step === step && x.table === t));
    if (names.length === 0) continue;
    const where = step === 'push' ? 'Postgres possync.system_settings' : 'SQLite system_settings';
    lines.push(`  ${STEP_ARROW[step]}  ${names.join(', ')}  ${c.dim(`(${where})`)}`);
  }
  lines.push('the next run resyncs these tables in full, e.g. possync trigger --direction both');
  return lines.join('\n');
}
