import type { ProgressEvent } from '../engine/context.ts';
import type { DaemonLog } from './log.ts';

/** A long phase logs its progress at most this often per table (and once when it is done). */
const EVERY_MS = 10_000;

/**
 * Progress of long phases in the daemon's log: a first push's scan or a full resync (events that
 * carry a total), one line per table at most every 10 s and when it reaches its total, so a
 * journal shows how far a first sync of a big store is. Short incremental work logs nothing.
 */
export function progressLogger(log: DaemonLog, now: () => number = Date.now): (e: ProgressEvent) => void {
  const last = new Map<string, number>();
  return (e) => {
    if (e.total === undefined || e.total <= 0) return;
    const id = `${e.step}\u0000${e.table}`;
    const t = now();
    const done = e.rows >= e.total;
    const previous = last.get(id);
    if (!done && previous !== undefined && t - previous < EVERY_MS) return;
    if (previous === undefined && !done) {
      // The clock starts at the first event; the first line comes after EVERY_MS, or at the end.
      last.set(id, t);
      return;
    }
    last.set(id, t);
    log({ event: 'progress', at: new Date(t).toISOString(), step: e.step, table: e.table, rows: Math.min(e.rows, e.total), total: e.total });
  };
}
