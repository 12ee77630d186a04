import type { ChalkInstance } from 'chalk';
import type { RunResult, TableResult } from '../engine/result.ts';
import { directionLine, STEP_ARROW } from './arrows.ts';
import { formatMs, table } from './output.ts';

/** The human summary of a run: one table per step, then reasons, warnings and a verdict line. */
export function renderRun(result: RunResult, c: ChalkInstance): string {
  const lines: string[] = [];
  const dry = result.dryRun ? c.yellow(' (dry run: nothing was written)') : '';
  lines.push(`${c.bold('possync')} ${directionLine(result.direction)} · terminal ${result.terminalId} · ${formatMs(result.durationMs)}${dry}`);
  for (const step of ['push', 'pull'] as const) {
    const rows = result.tables.filter((t) => t.step === step);
    if (rows.length === 0) continue;
    lines.push('', c.bold(STEP_ARROW[step]));
    const header = ['  table', 'applied', 'deleted', 'unchanged', 'conflicts', 'deferred', 'rejected', 'time', ''];
    const body = rows.map((r) => [
      `  ${r.label}`,
      String(r.inserted + r.updated),
      String(r.deleted),
      String(r.unchanged),
      count(r.conflicts, c.yellow),
      count(r.deferred, c.yellow),
      count(r.rejected, c.red),
      formatMs(r.durationMs),
      statusMark(r, c),
    ]);
    lines.push(...table([header.map((h) => c.dim(h)), ...body], ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l']));
  }
  const reasons = result.tables.flatMap((t) => t.reasons.map((r) => `  ${t.step} ${r}`));
  if (reasons.length > 0) lines.push('', c.bold('waiting or refused rows (retried on every run):'), ...reasons);
  const errors = result.tables.filter((t) => t.error).map((t) => `  ${t.step} ${t.label}: ${t.error}`);
  if (errors.length > 0) lines.push('', c.bold(c.red('table errors:')), ...errors);
  for (const t of result.tables.filter((x) => x.merged > 0)) {
    lines.push(c.dim(`note: ${t.step} ${t.label}: ${t.merged} row${t.merged === 1 ? '' : 's'} created on this till matched a cloud row on the natural key and took its id`));
  }
  for (const b of result.backfills ?? []) lines.push(describeBackfill(b, c));
  for (const w of result.warnings) lines.push(c.dim(`note: ${w}`));
  const retried = result.retries.push + result.retries.pull;
  if (retried > 0) {
    lines.push(c.dim(`note: retried ${retried} time${retried === 1 ? '' : 's'} after Postgres rolled back work (${result.retries.deadlock} deadlock, ${result.retries.serialization} serialization failure, ${result.retries.lockTimeout} lock wait past lockTimeoutSeconds)`));
  }
  if (result.error) lines.push(c.red(`run stopped: ${result.error}`));
  lines.push('', verdict(result, c));
  return lines.join('\n');
}

/** A column joined the sync: what crossed for the rows both sides already had. */
function describeBackfill(b: NonNullable<RunResult['backfills']>[number], c: ChalkInstance): string {
  const cols = b.columns.join(', ');
  const contested = b.contested > 0 ? ` (${b.contested} held different values on each side: the table's conflict policy chose)` : '';
  const refused = b.refused.length > 0 ? c.red(`; refused: ${b.refused.join('; ')}`) : '';
  return `backfilled ${b.label} (${cols}): ${b.toTill} value${b.toTill === 1 ? '' : 's'} to this till, ${b.toCloud} to the cloud${contested}${refused}`;
}

function count(n: number, color: (s: string) => string): string {
  return n > 0 ? color(String(n)) : '0';
}

function statusMark(r: TableResult, c: ChalkInstance): string {
  if (r.status === 'error') return c.red('error');
  if (r.status === 'not-run') return c.yellow('not run');
  return '';
}

function verdict(result: RunResult, c: ChalkInstance): string {
  const sum = (f: (t: TableResult) => number) => result.tables.reduce((a, t) => a + f(t), 0);
  const applied = sum((t) => t.inserted + t.updated + t.deleted);
  const held = sum((t) => t.deferred + t.rejected);
  const failed = result.tables.filter((t) => t.status !== 'success').length;
  const text = `${applied} row${applied === 1 ? '' : 's'} applied, ${sum((t) => t.conflicts)} conflicts, ${held} waiting or refused, ${failed} table${failed === 1 ? '' : 's'} failed`;
  if (result.status === 'success') return c.green(`✓ ${text}`);
  return result.status === 'partial' ? c.yellow(`! ${text}`) : c.red(`✗ ${text}`);
}
