import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { PgGateway } from '../../db/postgres/gateway.ts';
import { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { hasDrift, verifySchemas, type Finding, type Severity } from '../../engine/verify.ts';
import { applyAcknowledgements, type IdentifiedFinding } from '../../engine/verify/acknowledge.ts';
import { EXIT } from '../../errors.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';
import { colors, printJson } from '../output.ts';

interface VerifyFlags extends ConfigFlags {
  json?: boolean;
}

export function registerVerifySchemas(program: Command): void {
  withConfigOptions(
    program
      .command('verify-schemas')
      .summary('check both databases against the config (CI)')
      .description(
        'Compare the config, the terminal SQLite database and Postgres, and print one line per finding, with a suggested fix where possync knows one. ' +
          'Nothing is changed on either side. It reports:\n\n' +
          '  - tables or columns missing on either side (with the ALTER TABLE … ADD COLUMN to run)\n' +
          '  - pk, updatedCol, createdCol, deletedCol and fkMap columns of the config that do not exist (trigger refuses such a config with exit 2; here it is drift, exit 1)\n' +
          '  - column types that cannot carry every value both ways (e.g. Postgres jsonb ↔ SQLite INTEGER)\n' +
          '  - possync capture triggers missing or outdated on either side\n' +
          '  - privileges possync\'s Postgres role lacks for its next run (with the GRANT to run), and other roles whose writes to a synced table would fail on possync\'s change log\n' +
          '  - generated columns (never synced) and other notes\n\n' +
          'Errors and warnings are drift and make it exit 1; notes (info) do not. ' +
          'Each warning ends with its id, e.g. [integer-key-both-ways:orders]: list it under "acknowledge" in the config once you have accepted it, and it is reported as an acknowledged note. ' +
          'Before the first sync, possync\'s own tables and triggers are "not installed yet", which is not drift.',
      )
      .option('--json', 'print one JSON document: { ok, counts, findings[] }'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ possync verify-schemas
  $ possync verify-schemas --json | jq -r '.findings[] | select(.severity != "info") | .fix'

  # in CI, before deploying a migration:
  $ possync verify-schemas --config deploy/possync.config.json || exit 1

Exit codes: 0 no drift (notes allowed), 1 drift found (including config columns that do
not exist), 2 usage error or a config file that cannot be read or is invalid, 3 a database
cannot be reached.`,
    )
    .action(async (flags: VerifyFlags) => {
      const config = configFromFlags(flags);
      const sqlite = SqliteGateway.open(config.sqlitePath, { readonly: true });
      let findings: IdentifiedFinding[];
      try {
        const pg = await PgGateway.open(config);
        try {
          findings = applyAcknowledgements(config, await verifySchemas(config, pg, sqlite.db));
        } finally {
          await pg.close();
        }
      } finally {
        sqlite.close();
      }
      const drift = hasDrift(findings);
      if (flags.json) printJson({ ok: !drift, counts: countBySeverity(findings), findings });
      else process.stdout.write(`${render(config.tables.length, findings, colors())}\n`);
      process.exitCode = drift ? EXIT.SYNC_FAILURES : EXIT.OK;
    });
}

function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity] += 1;
  return counts;
}

function render(tables: number, findings: readonly IdentifiedFinding[], c: ChalkInstance): string {
  const label: Record<Severity, string> = { error: c.red('error  '), warning: c.yellow('warning'), info: c.dim('info   ') };
  // Warnings carry their id: the name to list under "acknowledge" once an admin accepts one.
  const id = (f: IdentifiedFinding) => (f.severity === 'warning' || f.acknowledged ? c.dim(` [${f.id}]`) : '');
  const lines = findings.map((f) => `${label[f.severity]}  ${f.table ? `${f.table}: ` : ''}${f.message}${f.fix ? c.dim(` — fix: ${f.fix}`) : ''}${id(f)}`);
  const n = countBySeverity(findings);
  const notes = n.info > 0 ? `, ${n.info} note${n.info === 1 ? '' : 's'}` : '';
  if (hasDrift(findings)) {
    lines.push('', c.red(`✗ drift: ${n.error} error${n.error === 1 ? '' : 's'}, ${n.warning} warning${n.warning === 1 ? '' : 's'}${notes}`));
  } else {
    lines.push(...(lines.length > 0 ? [''] : []), c.green(`✓ ${tables} table${tables === 1 ? '' : 's'}: both databases match the config${notes}`));
  }
  return lines.join('\n');
}
