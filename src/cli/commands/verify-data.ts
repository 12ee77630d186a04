import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { selectTables } from '../../config/select-tables.ts';
import type { VerifyDataResult } from '../../engine/verify-data/report.ts';
import { runVerifyData } from '../../engine/verify-data/run.ts';
import { EXIT } from '../../errors.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';
import { colors, formatMs, printJson } from '../output.ts';

interface VerifyDataFlags extends ConfigFlags {
  tables?: string;
  repair?: boolean;
  json?: boolean;
}

/** Rows listed per table and kind in the text output (--json lists them all). */
const SHOWN = 20;

export function registerVerifyData(program: Command): void {
  withConfigOptions(
    program
      .command('verify-data')
      .summary('check that the till and the cloud hold the same rows (CI)')
      .description(
        'Compare the rows of each synced table on the till and in Postgres without moving every row: both sides checksum buckets of keys, ' +
          'only buckets that differ are compared row by row (key and hash), and only rows whose hashes differ are read in full. ' +
          'Values are compared the way the sync compares them (numeric by value, timestamps at the millisecond, booleans 0/1 = true/false, char(n) without trailing blanks).\n\n' +
          'It reports, per table, rows missing on the till (in the cloud only), extra on the till (not in the cloud) and different (with the columns). ' +
          'Rows with a change still in flight are left out: a till change not pushed yet (or held), and a cloud change this till has not pulled yet. ' +
          "A table's scope and direction apply (a push-only table does not report the cloud's other rows).\n\n" +
          'With --repair, the differing rows are queued on the till and nothing else is written: the next push sends rows the till should send ' +
          '(an entry in its change log), the next pull fetches rows it should fetch (a held pull row). Which way a row in both versions goes follows the table: ' +
          'direction, then conflict policy (server-wins: the cloud\'s; client-wins: the till\'s; lww: the newer updatedCol, ties to the cloud). ' +
          'Run `possync trigger --direction both` afterwards.',
      )
      .option('--tables <names>', 'comma-separated tables to compare (default: all)')
      .option('--repair', 'queue the differing rows for the next run (writes only to the till\'s change log and held rows)')
      .option('--json', 'print one JSON document: { ok, tables[] }'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ possync verify-data
  $ possync verify-data --tables orders,order_items --json | jq '.tables[].rows'
  $ possync verify-data --repair && possync trigger --direction both

Exit codes: 0 the sides hold the same data (tables skipped for now included), 1 differences found
(also with --repair: run verify-data again after the next sync), 2 usage error or a config that
cannot be read, 3 a database cannot be reached.`,
    )
    .action(async (flags: VerifyDataFlags) => {
      const config = configFromFlags(flags);
      const tables = selectTables(config, flags.tables?.split(','));
      const result = await runVerifyData(config, { ...(tables ? { tables } : {}), repair: flags.repair ?? false });
      if (flags.json) printJson(result);
      else process.stdout.write(`${render(result, colors())}\n`);
      process.exitCode = result.ok ? EXIT.OK : EXIT.SYNC_FAILURES;
    });
}

function render(result: VerifyDataResult, c: ChalkInstance): string {
  const lines: string[] = [];
  for (const t of result.tables) {
    const head = `${t.label}: `;
    if (t.status === 'skipped') {
      lines.push(`${head}${c.dim(`not compared — ${t.note}`)}`);
      continue;
    }
    const counts = `till ${t.tillRows} rows, cloud ${t.cloudRows} rows${t.inFlight > 0 ? `, ${t.inFlight} in flight left out` : ''}; ${formatMs(t.durationMs)}`;
    if (t.status === 'equal') {
      lines.push(`${head}${c.green('equal')} (${counts})`);
      continue;
    }
    lines.push(`${head}${c.red(`${t.missing} missing on the till, ${t.extra} extra on the till, ${t.different} different`)} (${counts})`);
    for (const kind of ['missing', 'extra', 'different'] as const) {
      const rows = t.rows.filter((r) => r.kind === kind);
      for (const r of rows.slice(0, SHOWN)) {
        const what = r.columns ? ` columns ${r.columns.join(', ')}` : '';
        lines.push(`  ${kind.padEnd(9)} ${r.key}${what}${r.reason ? c.dim(` — ${r.reason}`) : ''}`);
      }
      if (rows.length > SHOWN) lines.push(c.dim(`  … and ${rows.length - SHOWN} more ${kind} (see --json)`));
    }
    if (t.repaired) lines.push(c.dim(`  queued: ${t.repaired.push} for the next push, ${t.repaired.pull} for the next pull`));
  }
  const differing = result.tables.filter((t) => t.status === 'different').length;
  lines.push(differing === 0 ? c.green('the till and the cloud hold the same data') : c.red(`${differing} table${differing === 1 ? '' : 's'} differ`));
  return lines.join('\n');
}
