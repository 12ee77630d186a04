import type { Command } from 'commander';
import { configJsonSchema } from '../../config/json-schema.ts';
import { printJson } from '../output.ts';
import { configFromFlags, type ConfigFlags } from '../config-options.ts';
import { redactUrl } from '../../config/format.ts';

export function registerConfig(program: Command): void {
  const config = program.command('config').summary('inspect the configuration').description('Inspect the configuration.');
  config
    .command('schema')
    .description('Print the JSON Schema of possync.config.json (point "$schema" at it for editor completion).')
    .addHelpText('after', '\nExample:\n  $ possync config schema > possync.schema.json')
    .action(() => printJson(configJsonSchema()));
  config
    .command('check')
    .description('Validate the config file and print it resolved (env: references filled in, password hidden).')
    .option('-c, --config <path>', 'config file (default: $POSSYNC_CONFIG or ./possync.config.json)')
    .action((flags: ConfigFlags) => {
      const resolved = configFromFlags(flags);
      printJson({ ...resolved, postgresUrl: redactUrl(resolved.postgresUrl) });
    });
}
