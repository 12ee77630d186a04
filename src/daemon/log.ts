import type { Writable } from 'node:stream';
import { directionLine, STEP_ARROW } from '../cli/arrows.ts';
import { formatMs } from '../cli/output.ts';
import type { DaemonEvent } from './events.ts';

export type LogFormat = 'human' | 'json';
export type DaemonLog = (event: DaemonEvent) => void;

/** One line per event on `out` (stdout: journald and log shippers read it line by line). */
export function createDaemonLog(format: LogFormat, out: Writable = process.stdout): DaemonLog {
  return (event) => {
    out.write(`${format === 'json' ? JSON.stringify(event) : humanLine(event)}\n`);
  };
}

export function humanLine(e: DaemonEvent): string {
  switch (e.event) {
    case 'start':
      return `${e.at} daemon started: terminal ${e.terminalId}, ${directionLine(e.direction)}, schedule "${e.cron}"${e.nextRun ? ` (next ${e.nextRun})` : ''}, pid ${e.pid}`;
    case 'run': {
      const counts = `${e.applied} applied, ${e.conflicts} conflicts, ${e.waiting} waiting${e.failedTables > 0 ? `, ${e.failedTables} tables failed` : ''}`;
      const backup = e.backup ? ` · backup ${e.backup}` : '';
      const error = e.error ? ` · ${e.error}` : '';
      return `${e.at} ${directionLine(e.direction)} · ${counts} · ${formatMs(e.durationMs)} · ${e.status}${error}${backup}${retry(e)}`;
    }
    case 'error':
      return `${e.at} ${directionLine(e.direction)} · failed before syncing: ${e.message}${e.hint ? ` (${e.hint})` : ''}${retry(e)}`;
    case 'skip':
      return `${e.at} tick skipped: ${e.message}`;
    case 'progress':
      return `${e.at} ${STEP_ARROW[e.step]} · ${e.table} · ${e.rows.toLocaleString('en-US')} / ${e.total.toLocaleString('en-US')} rows (${Math.floor((e.rows / e.total) * 100)}%)`;
    case 'listen':
      return `${e.at} control API listening on ${e.url}${e.token ? ' (bearer token required)' : ''}`;
    case 'stop':
      return `${e.at} daemon stopped${e.signal ? ` (${e.signal})` : ''}${e.forced ? ': the run did not stop in time; its open batch rolls back' : ''}`;
  }
}

function retry(e: Extract<DaemonEvent, { event: 'run' | 'error' }>): string {
  if (!e.failure) return '';
  const kind = e.failure.kind === 'unreachable' ? 'database unreachable or locked' : 'sync failure';
  return ` · ${kind}, ${e.failure.consecutive} in a row: next attempt not before ${e.failure.retryAfter}`;
}
