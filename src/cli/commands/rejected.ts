import type { Command } from 'commander';
import { PossyncError, EXIT } from '../../errors.ts';
import { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { installSqliteBookkeeping } from '../../db/sqlite/possync-schema.ts';
import { listHeld, type HeldListing } from '../../engine/held.ts';
import { heldReport } from '../../engine/status/held-report.ts';
import { STEP_ARROW } from '../arrows.ts';
import { sqliteTableNames } from '../../db/sqlite/introspect.ts';
import { matchName } from '../../config/naming.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';
import { colors, printJson, table } from '../output.ts';

interface RejectedFlags extends ConfigFlags {
  json?: boolean;
  all?: boolean;
  discard?: string[];
}

export function registerRejected(program: Command): void {
  withConfigOptions(
    program
      .command('rejected')
      .summary('list rows the other database refused, or discard one')
      // Paragraphs, no hand-made line breaks: commander wraps to the terminal's width.
      .description(
        'List the rows possync is holding back on this terminal: rejected rows (the other database refused them: ' +
          'a constraint, a value too long, a date it cannot read) and, with --all, deferred rows (waiting for a parent ' +
          'row that has not arrived yet). Both are retried on every run until they go through.\n\n' +
          'When an admin decides a row should not be synced, --discard forgets it: possync stops retrying it, and the ' +
          'row itself is left alone on both sides. It reads and writes only the terminal database, so it works offline.',
      )
      .option('--all', 'also list deferred rows (waiting for a parent)')
      .option('--json', 'print one JSON document')
      .option('--discard <table-and-key...>', 'forget one held row: --discard <table> <key> (key as listed, e.g. ord_001; a composite key as its parts: --discard loan MAIN 8)'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ possync rejected
  $ possync rejected --all --json
  $ possync rejected --discard products 00000000-0000-4000-8000-000000000105

Exit codes: 0 nothing held (or the row was discarded), 1 rows are held, 2 usage or config
error (including an unknown row for --discard), 3 the terminal database cannot be opened.`,
    )
    .action((flags: RejectedFlags) => {
      const config = configFromFlags(flags);
      const sqlite = SqliteGateway.open(config.sqlitePath);
      try {
        installSqliteBookkeeping(sqlite.db);
        if (flags.discard) {
          discard(sqlite, flags.discard, flags.json ?? false);
          return;
        }
        const { rows } = heldReport(sqlite.db, { all: flags.all ?? false });
        if (flags.json) printJson({ rows });
        else print(rows, flags.all ?? false, tableLabels(config, sqlite));
        process.exitCode = rows.length > 0 ? EXIT.SYNC_FAILURES : EXIT.OK;
      } finally {
        sqlite.close();
      }
    });
}

function keyOf(row: HeldListing): string {
  const colon = row.display.indexOf(':');
  return colon >= 0 ? row.display.slice(colon + 1) : row.key;
}

/** `Loan → loan` for a table whose SQLite name differs, as every other summary shows it. */
function tableLabels(config: ResolvedConfig, sqlite: SqliteGateway): Map<string, string> {
  const names = sqliteTableNames(sqlite.db);
  const labels = new Map<string, string>();
  for (const t of config.tables) {
    const local = t.sqliteName ?? matchName(t.name, names, config.naming);
    labels.set(t.name, local && local !== t.name ? `${local} → ${t.name}` : t.name);
  }
  return labels;
}

function print(rows: HeldListing[], all: boolean, labels: Map<string, string>): void {
  const c = colors();
  if (rows.length === 0) {
    process.stdout.write(`${c.green('✓')} no ${all ? 'held' : 'rejected'} rows\n`);
    return;
  }
  const body = rows.map((r) => [STEP_ARROW[r.side], labels.get(r.table) ?? r.table, keyOf(r), r.kind, String(r.attempts), r.firstSeen, r.reason]);
  const lines = table([['direction', 'table', 'key', 'kind', 'tries', 'since', 'reason'].map((h) => c.dim(h)), ...body], ['l', 'l', 'l', 'l', 'r', 'l', 'l']);
  process.stdout.write(`${lines.join('\n')}\n\n${rows.length} row${rows.length === 1 ? '' : 's'} held; fix the data and the next run applies them, or discard with --discard <table> <key>\n`);
}

function discard(sqlite: SqliteGateway, args: string[], json: boolean): void {
  const [tableName, ...parts] = args;
  if (!tableName || parts.length === 0) throw new PossyncError('USAGE', '--discard needs a table and a key, e.g. --discard orders ord_001');
  // A composite key may be given as its parts (`--discard loan MAIN 8`) or as listed (`"(MAIN, 8)"`).
  const key = parts.length === 1 ? parts[0]! : `(${parts.join(', ')})`;
  const matches = listHeld(sqlite.db).filter((r) => r.table === tableName && (keyOf(r) === key || r.key === key || r.key === JSON.stringify(parts)));
  if (matches.length === 0) throw new PossyncError('USAGE', `no held row ${tableName}:${key}`, { hint: 'possync rejected --all lists the held rows and their keys' });
  const del = sqlite.db.prepare(`DELETE FROM _possync_held WHERE side = ? AND tbl = ? AND key = ?`);
  sqlite.immediate(() => {
    for (const m of matches) del.run(m.side, m.table, m.key);
  });
  if (json) printJson({ discarded: matches });
  else for (const m of matches) process.stdout.write(`discarded ${STEP_ARROW[m.side]} ${m.display} (${m.kind}: ${m.reason})\n`);
}
