import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { buildStatus, type RunRef, type StatusReport, type TableStatus } from '../../engine/status/report.ts';
import { ERROR_RATE_WINDOW } from '../../engine/status/local.ts';
import { FENCE_HOLD_WARN_SECONDS, type FenceStatus } from '../../engine/status/fence.ts';
import type { PgTlsStatus } from '../../db/postgres/tls/in-use.ts';
import { STEP_ARROW } from '../arrows.ts';
import { configFromFlags, withConfigOptions, type ConfigFlags } from '../config-options.ts';
import { colors, formatAge, printJson, table } from '../output.ts';
import { pullServerNote } from '../../engine/result.ts';

interface StatusFlags extends ConfigFlags {
  json?: boolean;
}

const MAX_HELD_SHOWN = 10;

export function registerStatus(program: Command): void {
  withConfigOptions(
    program
      .command('status')
      .summary("show this terminal's sync health")
      .description(
        'Show how syncing is going on this terminal: the last successful push and pull, the error rate of the last ' +
          `${ERROR_RATE_WINDOW} runs, conflicts, and per table the local changes waiting to be pushed, the cloud changes ` +
          'waiting to be pulled, rows waiting for a parent (deferred) or refused by the other side (rejected), and both checkpoints.\n\n' +
          `  push  = ${STEP_ARROW.push}\n  pull  = ${STEP_ARROW.pull}\n\n` +
          'It only reads. When Postgres cannot be reached it says so and shows what the terminal database knows.',
      )
      .option('--json', 'print one JSON document'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ possync status
  $ possync status --json | jq '.tables[] | select(.pendingPush > 0)'

Exit codes: 0 shown (also when Postgres is unreachable: a warning line says so),
2 usage or config error, 3 the terminal database cannot be opened.`,
    )
    .action(async (flags: StatusFlags) => {
      const config = configFromFlags(flags);
      const report = await buildStatus(config);
      if (flags.json) printJson(report);
      else process.stdout.write(`${render(report, colors())}\n`);
    });
}

function render(r: StatusReport, c: ChalkInstance): string {
  const lines = [`${c.bold('possync status')} · terminal ${r.terminalId} · ${r.sqlitePath}`];
  if (!r.cloud.reachable) lines.push(c.yellow(`warning: the cloud is unreachable, showing local information only (${r.cloud.error})`));
  if (!r.installed) lines.push(c.yellow('possync has not run on this terminal yet: run possync trigger --direction both'));
  lines.push(
    '',
    `last successful ${STEP_ARROW.push}: ${when(r.lastSuccess.push)}`,
    `last successful ${STEP_ARROW.pull}: ${when(r.lastSuccess.pull)}`,
    `last run: ${r.lastRun ? `${r.lastRun.direction} ${r.lastRun.status} at ${r.lastRun.finishedAt ?? r.lastRun.startedAt}${r.lastRun.error ? ` (${r.lastRun.error})` : ''}` : 'never'}`,
    ...pullServerLine(r),
    `last ${r.recentRuns.runs} runs: ${r.recentRuns.success} success, ${r.recentRuns.partial} partial, ${r.recentRuns.failed} failed (error rate ${Math.round(r.recentRuns.errorRate * 100)}%)`,
    `conflicts: ${r.conflicts.terminal} recorded on this terminal (pull), ${r.conflicts.cloud ?? '?'} in the cloud (push)`,
  );
  if (r.conflicts.open > 0) {
    const per = r.tables.filter((t) => t.openConflicts > 0).map((t) => `${t.table} ${t.openConflicts}`);
    lines.push(c.yellow(`open conflicts: ${r.conflicts.open} waiting for an admin (${per.join(', ')}): possync conflicts`));
  }
  if (r.cloud.reachable) lines.push(`cloud: last pull ${r.cloud.lastSeen ?? 'never'}${r.cloud.pullFence ? `, fence xid ${r.cloud.pullFence}` : ''}${r.cloud.installed ? '' : ' (possync is not installed in Postgres yet)'}`);
  if (r.cloud.reachable) lines.push(fenceLine(r.cloud.currentFence, c));
  if (r.cloud.reachable) lines.push(`connection: ${tlsText(r.cloud.tls)}`);
  if (r.cloud.reachable && r.cloud.capture.note) {
    const capture = `capture objects: ${r.cloud.capture.note}`;
    lines.push(r.cloud.capture.upgradeRequired ? c.red(`${capture} — upgrade possync on this till`) : capture);
  }
  const header = ['  table', 'to push', 'to pull', 'deferred', 'rejected', 'push checkpoint', 'pull checkpoint', 'fence lag'].map((h) => c.dim(h));
  lines.push('', ...table([header, ...r.tables.map(row)], ['l', 'r', 'r', 'r', 'r', 'l', 'l', 'l']));
  if (r.held.length > 0) {
    lines.push('', c.bold('waiting or refused rows (retried on every run):'));
    for (const h of r.held.slice(0, MAX_HELD_SHOWN)) lines.push(`  ${h.side} ${h.kind} ${heldText(h)} (${h.attempts} attempt${h.attempts === 1 ? '' : 's'} since ${h.firstSeen})`);
    if (r.held.length > MAX_HELD_SHOWN) lines.push(c.dim(`  … and ${r.held.length - MAX_HELD_SHOWN} more (possync status --json lists all)`));
  }
  return lines.join('\n');
}

function row(t: TableStatus): string[] {
  const label = t.sqliteTable && t.sqliteTable !== t.table ? `${t.sqliteTable} → ${t.table}` : t.table;
  const pull = t.direction === 'push' ? '-' : t.pendingPull ? `${t.pendingPull.keys}` : '?';
  const push = t.direction === 'pull' ? '-' : String(t.pendingPush);
  const at = (s: string | null) => (s ? ` (${s})` : '');
  return [
    `  ${label}`,
    push,
    pull,
    String(t.deferred),
    String(t.rejected),
    t.pushCheckpoint ? `${t.pushCheckpoint.text}${at(t.pushCheckpoint.updatedAt)}` : 'unknown (cloud unreachable)',
    `${t.pullCheckpoint.text}${at(t.pullCheckpoint.updatedAt)}`,
    t.direction === 'push' ? '-' : !t.fenceLag ? '?' : t.fenceLag.transactions === 0 ? 'none' : `${t.fenceLag.transactions} tx, oldest ${ago(t.fenceLag.oldestChangeAt!)}`,
  ];
}

/** The reason names the row already when the apply wrote it (`loan:(MAIN, 8): value too long`). */
function heldText(h: { display: string; reason: string }): string {
  return h.reason.startsWith(h.display) ? h.reason : `${h.display}: ${h.reason}`;
}

/** The server-wide fence: every till's pulls stop below the oldest open writing transaction. */
function fenceLine(f: FenceStatus, c: ChalkInstance): string {
  const h = f.heldBy;
  if (!h) return `pull fence now: xid ${f.xid}, no open transaction holds it back`;
  const who = [h.prepared ? `prepared transaction '${h.prepared}'` : `pid ${h.pid}`, h.application && `application ${h.application}`, h.database && `database ${h.database}`, h.state]
    .filter(Boolean)
    .join(', ');
  const text = `pull fence now: xid ${f.xid}, held by an open transaction (${who})${h.startedAt ? ` since ${h.startedAt} (${ago(h.startedAt)})` : ''}`;
  return (h.ageSeconds ?? 0) >= FENCE_HOLD_WARN_SECONDS ? c.yellow(`${text}: every till's pulls re-read changes until it ends`) : text;
}

/** "TLS 1.3, verify-full (certificate and host name checked against CA /etc/possync/ca.pem)", or why there is no TLS. */
export function tlsText(t: PgTlsStatus): string {
  const mode = `sslmode=${t.sslmode}${t.sslmodeFrom === 'default' ? ', the default' : ''}`;
  if (!t.encrypted) {
    const why = t.plaintextBecause === 'server offers no TLS' ? ', the server offered no TLS' : t.plaintextBecause === 'unix socket' ? ', a Unix socket: sslmode does not apply' : '';
    return `not encrypted (${mode}${why})`;
  }
  const ca = t.rootcert === 'system' ? 'the public CAs Node trusts' : `CA ${t.rootcert}`;
  const checked =
    t.verified === 'none' ? 'server certificate not verified' : t.verified === 'chain' ? `certificate checked against ${ca}, host name not checked` : `certificate and host name checked against ${ca}`;
  return `${(t.protocol ?? 'TLS').replace(/^TLSv/, 'TLS ')}, ${t.sslmode}${t.sslmodeFrom === 'default' ? ', the default' : ''} (${checked})`;
}

/** With postgres.readUrl: which server served the latest pull, standby or primary, and why. */
function pullServerLine(r: StatusReport): string[] {
  const server = (r.lastRun?.pullServer ? r.lastRun : r.lastSuccess.pull)?.pullServer;
  return server ? [`last ${pullServerNote(server)}`] : [];
}

function when(run: RunRef | null): string {
  if (!run) return 'never';
  const at = run.finishedAt ?? run.startedAt;
  return `${at} (${ago(at)})`;
}

function ago(iso: string): string {
  return `${formatAge((Date.now() - Date.parse(iso)) / 1000)} ago`;
}
