import type { Command } from 'commander';
import { configJsonSchema } from '../../config/json-schema.ts';
import { colors, printJson } from '../output.ts';
import { configFromFlags, type ConfigFlags } from '../config-options.ts';
import { redactUrl } from '../../config/format.ts';
import { EXIT, isPossyncError } from '../../errors.ts';
import { configProblems } from '../config-problems.ts';

export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .summary('inspect the configuration')
    .description(
      'Inspect the configuration without touching either database. The config file is --config <path>, else ' +
        '$POSSYNC_CONFIG, else ./possync.config.json; a .env file in the current directory is read first, and any ' +
        'string value may be "env:NAME" to read the environment.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ possync config check
  $ possync config schema > possync.schema.json

Exit codes: 0 ok (without a subcommand it prints this help), 2 unknown subcommand;
otherwise those of the subcommand (possync config <subcommand> --help).`,
    );
  config
    .command('schema')
    .summary('print the JSON Schema of the config file')
    .description(
      'Print the JSON Schema (draft 2020-12) of possync.config.json on stdout. Point the config\'s "$schema" at the ' +
        'saved file for completion and checking in your editor. It describes keys and types; possync config check also ' +
        'checks what a schema cannot, such as env: references that are not set.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ possync config schema > possync.schema.json
  $ possync config schema | jq '.properties.tables.items.properties | keys'

Exit codes: 0 printed.`,
    )
    .action(() => printJson(configJsonSchema()));
  config
    .command('check')
    .summary('validate the config file and print it resolved')
    .description(
      'Validate the config file and print it resolved as one JSON document on stdout: defaults applied, env: ' +
        'references filled in (from the environment or .env), paths made absolute, and the password in the ' +
        'Postgres URL replaced by ***. It does not connect to either database; possync verify-schemas compares the ' +
        'config with them.\n\n' +
        'An invalid config prints every problem on stderr, one line each, starting with where it is ' +
        '(e.g. tables[2].updatedCol), and exits 2.',
    )
    .option('-c, --config <path>', 'config file (default: $POSSYNC_CONFIG or ./possync.config.json)')
    .addHelpText(
      'after',
      `
Examples:
  $ possync config check
  $ possync config check --config /etc/possync/possync.config.json
  $ POSSYNC_CONFIG=site/possync.config.json possync config check | jq '.tables[].name'

Exit codes: 0 valid (the resolved config is printed), 2 invalid or not found.`,
    )
    .action((flags: ConfigFlags) => {
      let resolved;
      try {
        resolved = configFromFlags(flags);
      } catch (err) {
        const listed = isPossyncError(err) && err.code === 'CONFIG_INVALID' ? configProblems(err) : undefined;
        if (!listed) throw err;
        // Checking the config is this command's whole job: one line per problem, easy to work through.
        const c = colors(process.stderr);
        const count = listed.problems.length === 1 ? '1 problem' : `${listed.problems.length} problems`;
        process.stderr.write(`${c.red('possync:')} ${listed.file} has ${count}:\n${listed.problems.map((p) => `  ${redactUrl(p)}\n`).join('')}`);
        process.exitCode = EXIT.USAGE;
        return;
      }
      printJson({ ...resolved, postgresUrl: redactUrl(resolved.postgresUrl) });
    });
}
