import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { readConflicts, type ConflictRecord, type ConflictsReport } from '../../engine/status/conflicts-report.ts';
import { EXIT, PossyncError } from '../../errors.ts';
import { SqliteGateway } from '../../db/sqlite/gateway.ts';
import { readOpenConflicts, type OpenConflictListing, type OpenConflictsReport } from '../../engine/manual/report.ts';
import { resolveOpenConflict } from '../../engine/manual/resolve.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';
import { colors, formatAge, printJson } from '../output.ts';

interface ResolveFlags {
  keep?: string;
  set?: string[];
  null?: string[];
  json?: boolean;
}

interface ConflictsFlags extends ConfigFlags {
  log?: boolean;
  table?: string;
  since?: string;
  limit: string;
  json?: boolean;
}

export function registerConflicts(program: Command): void {
  const conflicts = withConfigOptions(
    program
      .command('conflicts')
      .summary('list open conflicts (conflict "manual"), resolve one, or browse the recorded conflicts')
      .description(
        'Without --log: the open conflicts of tables with conflict "manual", rows both sides changed that possync set ' +
          'aside with both versions until an admin decides: table, key, the columns that differ with both values, and ' +
          'age. Resolve one with `possync conflicts resolve`. Reads only the terminal database, so it works offline.\n\n' +
          'With --log: the conflicts and column merges this terminal met, newest first, from both sides: the ones a ' +
          'pull met (recorded in the terminal database) and the ones a push met (recorded in the cloud, possync.conflicts; ' +
          'left out with a note when the cloud cannot be reached). Each shows the policy, which side won, and for a column ' +
          'merge the columns that clashed, the base both sides last agreed on and the row written.',
      )
      .option('--log', 'list the recorded conflicts and merges')
      .option('--table <name>', 'only this table (its Postgres name)')
      .option('--since <when>', 'only since then: an ISO date or time, or an age such as 30m, 12h, 7d')
      .option('-n, --limit <n>', 'at most this many per side', '50')
      .option('--json', 'print one JSON document: { terminalId, count, tables, open }; with --log { terminal, cloud }'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ possync conflicts
  $ possync conflicts resolve products 00000000-0000-4000-8000-000000000105 --keep till
  $ possync conflicts --log
  $ possync conflicts --log --table products --since 7d --json

Exit codes: without --log 0 no open conflicts, 1 open conflicts are listed; with --log 0 shown;
2 usage or config error, 3 the terminal database cannot be opened.`,
    )
    .action(async (flags: ConflictsFlags) => {
      if (!flags.log) {
        if (flags.since !== undefined) throw new PossyncError('USAGE', '--since goes with --log');
        const report = readOpenConflicts(configFromFlags(flags), flags.table);
        if (flags.json) printJson(report);
        else process.stdout.write(`${renderOpen(report, colors())}\n`);
        process.exitCode = report.count > 0 ? EXIT.SYNC_FAILURES : EXIT.OK;
        return;
      }
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new PossyncError('USAGE', `--limit must be a positive whole number, got "${flags.limit}"`);
      const since = flags.since === undefined ? undefined : parseSince(flags.since);
      const config = configFromFlags(flags);
      const report = await readConflicts(config, limit, { table: flags.table, since });
      if (flags.json) printJson(report);
      else process.stdout.write(`${render(report, colors())}\n`);
    });

  conflicts
    .command('resolve')
    .summary('decide an open conflict; the next run carries it out both ways')
    .description(
      'Writes the decision for one open conflict on this terminal (nothing is sent now): --keep till makes the cloud ' +
        'take the till\'s row, --keep cloud makes the till take the cloud\'s row, --set column=value … takes the ' +
        'cloud\'s row with those columns set (the till\'s row when the cloud deleted it). With merge "column" only the ' +
        'clashing columns follow the decision; columns one side changed merge as always. The next run carries it out on ' +
        'both sides and records it in the conflict log (possync conflicts --log). If the other side changes the row ' +
        'again before that run, the decision no longer holds and the conflict is open again.',
    )
    .argument('<table>', 'the table (its Postgres name)')
    .argument('<key...>', 'the key as listed (e.g. ord_001); a composite key as listed, "(o1, 2)", or as its parts: o1 2')
    .option('--keep <side>', 'till or cloud')
    .option('--set <column=value...>', 'values on top of the cloud\'s row, as possync conflicts shows them')
    .option('--null <column...>', 'columns set to NULL on top of the cloud\'s row')
    .option('--json', 'print the decided conflict as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ possync conflicts resolve products 00000000-0000-4000-8000-000000000105 --keep cloud
  $ possync conflicts resolve products 00000000-0000-4000-8000-000000000105 --set price=2.80 name="Green tea"
  $ possync conflicts resolve order_lines o1 2 --keep till

Exit codes: 0 decided, 2 usage or config error (an unknown table, no open conflict with that key),
3 the terminal database cannot be opened.`,
    )
    .action((table: string, key: string[], flags: ResolveFlags, cmd: Command) => {
      // Options shared with `conflicts` (--config …, --json) are parsed by it wherever they stand.
      const all = cmd.optsWithGlobals<ConfigFlags & ResolveFlags>();
      const config = configFromFlags(all);
      // No bookkeeping install: a till without _possync_open_conflicts has no open conflict to decide.
      const sqlite = SqliteGateway.open(config.sqlitePath);
      try {
        const decided = resolveOpenConflict(sqlite, config, { table, keyParts: key, keep: flags.keep, set: flags.set, setNull: flags.null });
        if (all.json) printJson(decided);
        else process.stdout.write(`${describeDecision(decided)}\n`);
      } finally {
        sqlite.close();
      }
    });
}

function describeDecision(o: OpenConflictListing): string {
  const d = o.decision!;
  const what =
    d.keep === 'till' ? 'the cloud takes the till\'s row' : d.keep === 'cloud' ? 'the till takes the cloud\'s row' : `both take the cloud's row with ${Object.entries(d.set ?? {}).map(([c, v]) => `${c} = ${JSON.stringify(v)}`).join(', ')}`;
  return `decided ${o.table} ${o.key}: ${what} on the next run`;
}

function renderOpen(report: OpenConflictsReport, c: ChalkInstance): string {
  if (report.count === 0) return `${c.green('✓')} no open conflicts`;
  const lines: string[] = [];
  for (const o of report.open) {
    const state = o.decision ? c.cyan(`decided: ${o.decision.keep === 'set' ? 'set' : `keep ${o.decision.keep}`}, carried out by the next run`) : c.yellow('open');
    lines.push(`${c.bold(`${o.table} ${o.key}`)}  ${state}  for ${formatAge(o.ageSeconds)} (since ${o.firstSeen})`);
    if (o.deletedOn) lines.push(`  ${o.deletedOn === 'till' ? 'deleted on the till, changed in the cloud' : 'deleted in the cloud, changed on the till'}`);
    const width = Math.max(6, ...o.columns.map((x) => x.column.length));
    for (const col of o.columns) lines.push(`  ${col.column.padEnd(width)}  till ${JSON.stringify(col.till)}  cloud ${JSON.stringify(col.cloud)}`);
  }
  const n = report.count;
  lines.push('', `${n} open conflict${n === 1 ? '' : 's'}; decide with: possync conflicts resolve <table> <key> --keep till|cloud (or --set column=value …)`);
  return lines.join('\n');
}

/** An ISO moment, or an age (30m, 12h, 7d) before now, as the ISO text both logs sort by. */
export function parseSince(text: string, now = Date.now()): string {
  const age = /^(\d+)\s*([mhd])$/.exec(text.trim());
  const ms = age ? now - Number(age[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 'm' | 'h' | 'd'] : Date.parse(text);
  if (!Number.isFinite(ms)) throw new PossyncError('USAGE', `--since must be an ISO date or time, or an age such as 30m, 12h, 7d; got "${text}"`);
  return new Date(ms).toISOString();
}

function render(report: ConflictsReport, c: ChalkInstance): string {
  const all = [...report.terminal.map((r) => ({ r, side: 'till' })), ...(report.cloud ?? []).map((r) => ({ r, side: 'cloud' }))].sort((a, b) => (a.r.at < b.r.at ? 1 : a.r.at > b.r.at ? -1 : 0));
  const lines: string[] = [];
  if (all.length === 0) lines.push('no conflicts recorded');
  for (const { r, side } of all) lines.push(...describe(r, side, c));
  if (report.cloud === null) lines.push(c.yellow(`push conflicts (recorded in the cloud) left out: ${report.cloudError ?? 'the cloud cannot be reached'}`));
  return lines.join('\n');
}

function describe(r: ConflictRecord, side: string, c: ChalkInstance): string[] {
  const merge = r.result !== undefined;
  const outcome =
    r.winner === 'open'
      ? `set aside for an admin${r.columns?.length ? ` (differ: ${r.columns.join(', ')})` : ''}`
      : r.direction === 'resolve'
        ? r.winner === 'agreed'
          ? 'closed: both sides hold the same row again'
          : `resolved by hand: ${r.winner === 'set' ? 'values set' : `kept the ${r.winner}'s row`}`
        : merge
          ? r.columns?.length
            ? `clashed on ${r.columns.join(', ')}: ${r.winner} won`
            : 'merged, nothing clashed'
          : `${r.winner} won`;
  const head = `${c.bold(r.at)}  ${r.direction} (recorded on the ${side})  ${r.table} ${r.key}  ${r.policy}  ${outcome}`;
  const lines = [head];
  const show = (label: string, v: unknown) => lines.push(`  ${c.dim(label.padEnd(7))}${JSON.stringify(v)}`);
  if (merge && r.base !== null && r.base !== undefined) show('base', r.base);
  show('till', r.local);
  show('cloud', r.server);
  if (merge) show('result', r.result);
  return lines;
}
