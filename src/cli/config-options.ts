import path from 'node:path';
import { Option, type Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { PossyncError } from '../errors.ts';

export interface ConfigFlags {
  config?: string;
  sqlite?: string;
  databaseUrl?: string;
  terminalId?: string;
  batchSize?: string;
}

/** Options every command that touches the databases shares. Flags win over the config file. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <path>', 'config file (default: $POSSYNC_CONFIG or ./possync.config.json)')
    .option('--sqlite <path>', 'terminal SQLite database (overrides sqlite.path)')
    .option('--database-url <url>', 'PostgreSQL URL (overrides postgres.url)')
    .option('--terminal-id <id>', 'this terminal\'s id (overrides terminalId)')
    .addOption(new Option('--batch-size <n>', 'rows per batch (overrides batchSize)'));
}

export function configFromFlags(flags: ConfigFlags): ResolvedConfig {
  let batchSize: number | undefined;
  if (flags.batchSize !== undefined) {
    batchSize = Number(flags.batchSize);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new PossyncError('USAGE', `--batch-size must be a positive whole number, got "${flags.batchSize}"`);
  }
  return loadConfig({
    configPath: flags.config,
    // A path typed on the command line is relative to where it was typed, not to the config file.
    overrides: { sqlitePath: flags.sqlite === undefined ? undefined : path.resolve(flags.sqlite), postgresUrl: flags.databaseUrl, terminalId: flags.terminalId, batchSize },
  });
}
